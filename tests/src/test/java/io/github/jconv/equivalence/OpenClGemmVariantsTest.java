package io.github.jconv.equivalence;

import io.github.jconv.ConvEngine;
import io.github.jconv.DType;
import io.github.jconv.conformance.Catalogue;
import io.github.jconv.conformance.ConformanceSuite;
import io.github.jconv.conformance.Problem;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The conformance problems through each of a list of GEMM parameter sets of the OpenCL backend (the
 * tuner's candidates differ only in these), with the GEMM path forced: every tuned variant the tuner may
 * store must give the reference's results. The sets cover vector loads of 1, 2, 4 and 8, single and
 * double buffering, square and oblong tiles and work-items, and tiles larger than most of the problems.
 */
class OpenClGemmVariantsTest {
    /** TSM,TSN,TSK,WPTM,WPTN,VW,DB. */
    static final List<String> VARIANTS = List.of(
            "64,64,16,4,4,4,1",     // the CPU default, double-buffered
            "32,64,8,2,4,2,0",      // oblong tile and work-item, VW 2, single buffer
            "16,32,16,2,4,8,1",     // VW 8: runs of eight along the unit-stride side
            "128,128,16,8,8,4,1",   // the NVIDIA/AMD default: one tile covers most problems with room to spare
            "16,16,8,1,1,1,0");     // one result per work-item, scalar loads
    private static final String GEMM = "jconv.opencl.gemm";
    private static final String ALGORITHM = "jconv.opencl.algorithm";
    private static final String IMPLICIT = "jconv.opencl.implicitGemm";
    private static final String SPLIT_K = "jconv.opencl.splitK";
    /** The implicit GEMM forward (no column matrix) through two sets: double-buffered VW 4, and single-buffered scalar. */
    static final List<String> IMPLICIT_VARIANTS = List.of("64,64,16,4,4,4,1", "16,32,8,2,2,1,0");

    @TestFactory
    Stream<DynamicTest> everyParameterSetPassesTheCornersAndFuzzProblems() {
        ConvBackendProvider opencl = ConvEngine.providers().stream().filter(p -> p.name().equals("opencl")).findFirst().orElse(null);
        boolean required = RequiredBackends.fromEnvironment().contains("opencl");
        ProbeResult probe = opencl == null ? null : opencl.probe();
        if (opencl == null || !probe.available()) {
            String why = opencl == null ? "no opencl provider on the classpath" : "opencl unavailable: " + probe.reason();
            return Stream.of(DynamicTest.dynamicTest("opencl GEMM variants", () -> {
                if (required) Assertions.fail("required by JCONV_REQUIRE_BACKENDS, but " + why);
                Assumptions.abort(why);
            }));
        }
        List<Problem> problems = new ArrayList<>(Catalogue.load("corners"));
        problems.addAll(Catalogue.fuzz(Catalogue.FUZZ_SEED, 12));
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < VARIANTS.size(); i++) {
            String v = VARIANTS.get(i);
            // FP64 through the first set only (same source, other REAL): the others run FP32 to bound the time
            DType[] types = i == 0 ? new DType[] {DType.FP32, DType.FP64} : new DType[] {DType.FP32};
            tests.add(DynamicTest.dynamicTest("gemm " + v, () -> {
                String beforeGemm = System.getProperty(GEMM);
                String beforeAlgorithm = System.getProperty(ALGORITHM);
                String beforeImplicit = System.getProperty(IMPLICIT);
                // all three are read when the suite's engine opens its session, at the first case of run(); the
                // implicit GEMM is off here whatever a tuning database on this machine chose
                System.setProperty(GEMM, v);
                System.setProperty(ALGORITHM, "gemm");
                System.setProperty(IMPLICIT, "false");
                try {
                    ConformanceSuite.Report r = ConformanceSuite.of(opencl).dtypes(types).problems(problems).run();
                    System.out.println("gemm " + v + ": " + r.summary());
                    Assertions.assertEquals(0, r.failed(), r.summary());
                    Assertions.assertTrue(r.passed() > problems.size(), r.summary());
                } finally {
                    restore(GEMM, beforeGemm);
                    restore(ALGORITHM, beforeAlgorithm);
                    restore(IMPLICIT, beforeImplicit);
                }
            }));
        }
        // split-K weight gradients: at most 3 slices of whole items, forced (PoCL's 2 compute units would not ask for
        // it); batches of 5 make runs of 2, 2 and 1 item (a shorter last run), the 1x1 one reads the input as columns
        List<Problem> splitProblems = new ArrayList<>(problems);
        splitProblems.addAll(Catalogue.parse("split-k", "mb5ic4ih6oc6kh3ph1 split-remainder\nmb5ic8ih5oc6kh1 split-pointwise\n"
                + "mb4ic6ih7oc4kh3sh2 split-even\n"));
        tests.add(DynamicTest.dynamicTest("split-K weight gradient", () -> {
            String[] keys = {GEMM, ALGORITHM, IMPLICIT, SPLIT_K, SPLIT_K + ".force"};
            String[] before = new String[keys.length];
            for (int i = 0; i < keys.length; i++) before[i] = System.getProperty(keys[i]);
            System.clearProperty(GEMM);
            System.setProperty(ALGORITHM, "gemm");
            System.setProperty(IMPLICIT, "false");
            System.setProperty(SPLIT_K, "3");
            System.setProperty(SPLIT_K + ".force", "true");
            try {
                ConformanceSuite.Report r = ConformanceSuite.of(opencl).dtypes(DType.FP32, DType.FP64).problems(splitProblems).run();
                System.out.println("split-K: " + r.summary());
                Assertions.assertEquals(0, r.failed(), r.summary());
                Assertions.assertTrue(r.passed() > splitProblems.size(), r.summary());
            } finally {
                for (int i = 0; i < keys.length; i++) restore(keys[i], before[i]);
            }
        }));
        for (String v : IMPLICIT_VARIANTS) {
            tests.add(DynamicTest.dynamicTest("implicit gemm " + v, () -> {
                String[] keys = {GEMM, ALGORITHM, IMPLICIT};
                String[] before = new String[keys.length];
                for (int i = 0; i < keys.length; i++) before[i] = System.getProperty(keys[i]);
                System.setProperty(GEMM, v);
                System.setProperty(ALGORITHM, "gemm");
                System.setProperty(IMPLICIT, "true");
                try {
                    // the path is taken: a padded, strided 3x3 forward reports the implicit GEMM
                    try (ConvEngine e = ConvEngine.open(opencl, 0)) {
                        io.github.jconv.ConvSpec spec = io.github.jconv.ConvSpec.parse("mb2ic3ih9oc5kh3sh2ph1");
                        try (io.github.jconv.DeviceBuffer x = e.allocate(DType.FP32, spec.inputShape());
                             io.github.jconv.DeviceBuffer w = e.allocate(DType.FP32, spec.weightShape());
                             io.github.jconv.DeviceBuffer b = e.allocate(DType.FP32, spec.biasShape());
                             io.github.jconv.DeviceBuffer y = e.forward(spec, x, w, b)) {
                            Assertions.assertEquals("implicit-gemm", e.lastAlgorithm());
                        }
                    }
                    ConformanceSuite.Report r = ConformanceSuite.of(opencl).dtypes(DType.FP32, DType.FP64).problems(problems).run();
                    System.out.println("gemm " + v + ": " + r.summary());
                    Assertions.assertEquals(0, r.failed(), r.summary());
                    Assertions.assertTrue(r.passed() > problems.size(), r.summary());
                } finally {
                    for (int i = 0; i < keys.length; i++) restore(keys[i], before[i]);
                }
            }));
        }
        // FP16 storage with FP32 sums, through each kernel family: the direct kernels, im2col/col2im + GEMM, the
        // implicit GEMM forward, and the split-K setting, which FP16 weight gradients must ignore (half partial slots
        // would round twice; HalfStorageConvTest shows the case); deformable problems are UNSUPPORTED in FP16 and
        // counted apart
        List<Problem> halfProblems = new ArrayList<>(splitProblems);
        String[][] halfRoutes = {{"direct", "false", null}, {"gemm", "false", null}, {"gemm", "true", null}, {"gemm", "false", "3"}};
        for (String[] route : halfRoutes) {
            String label = "fp16 " + (route[1].equals("true") ? "implicit gemm" : route[2] != null ? "gemm with split-K asked" : route[0]);
            tests.add(DynamicTest.dynamicTest(label, () -> {
                String[] keys = {GEMM, ALGORITHM, IMPLICIT, SPLIT_K, SPLIT_K + ".force"};
                String[] before = new String[keys.length];
                for (int i = 0; i < keys.length; i++) before[i] = System.getProperty(keys[i]);
                System.clearProperty(GEMM);
                System.setProperty(ALGORITHM, route[0]);
                System.setProperty(IMPLICIT, route[1]);
                if (route[2] != null) {
                    System.setProperty(SPLIT_K, route[2]);
                    System.setProperty(SPLIT_K + ".force", "true");
                } else {
                    System.clearProperty(SPLIT_K);
                    System.clearProperty(SPLIT_K + ".force");
                }
                try {
                    ConformanceSuite.Report r = ConformanceSuite.of(opencl).dtypes(DType.FP16).problems(halfProblems).run();
                    System.out.println(label + ": " + r.summary());
                    Assertions.assertEquals(0, r.failed(), r.summary());
                    Assertions.assertTrue(r.passed() > halfProblems.size(), r.summary());
                    for (io.github.jconv.conformance.CaseResult c : r.results()) {
                        if (c.status() == io.github.jconv.conformance.Status.UNSUPPORTED) {
                            // only deformable convolution is left out of FP16
                            Assertions.assertEquals(io.github.jconv.ConvType.DEFORMABLE, c.problem().spec().type(),
                                    c.problem() + " " + c.check() + ": " + c.message());
                        }
                    }
                } finally {
                    for (int i = 0; i < keys.length; i++) restore(keys[i], before[i]);
                }
            }));
        }
        return tests.stream();
    }

    private static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }
}
