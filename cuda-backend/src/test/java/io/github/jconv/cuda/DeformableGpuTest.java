package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.spi.HalfFloats;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a GPU: the deformable runner's routes (im2col + cuDNN 1x1 GEMM, and the direct kernels with
 * {@code jconv.cuda.deformable=direct}) and input-gradient scatters (rows in deterministic mode, atomics with
 * {@code jconv.cuda.deterministic=false}) against the CPU backend in FP64 on v1 and v2 problems with groups,
 * offset groups, stride and dilation, and a batch larger than one chunk; deterministic mode repeats bit for bit;
 * FP16 and BF16 storage give the FP32 result rounded once.
 * Each failure names the session, the problem, the pass, the dtype, the output and the algorithm that ran.
 * Skips where the probe finds no usable CUDA, with the probe's reason.
 */
class DeformableGpuTest {
    private static ProbeResult probe;
    /** Sessions by name: det (the defaults), fast (non-deterministic), det-chunked / fast-chunked (small column budget), direct. */
    private static final Map<String, ConvBackend> sessions = new LinkedHashMap<>();
    private static ConvBackendProvider cpu;

    /** batch 7 over chunks: one item's column is 32 * 9 * 16 * 16 = 73728 elements, 589824 bytes in FP64. */
    static final ConvSpec CHUNKED = ConvSpec.deformable().batch(7).channels(32, 32).input(16, 16).kernel(3).padding(1)
            .mask(true).build();
    /** A workspace limit of three FP64 items' columns: chunks of 3 items in FP64 (3 + 3 + 1), 6 in FP32 (6 + 1). */
    static final long CHUNK_LIMIT = 3 * 73728L * 8;

    static List<ConvSpec> problems() {
        return List.of(
                // v2 with groups and offset groups, bias
                ConvSpec.deformable().batch(3).channels(4, 6).groups(2).offsetGroups(2).input(7, 6).kernel(3).padding(1).mask(true).build(),
                // v1, no bias, stride and dilation, a non-square kernel and asymmetric geometry
                ConvSpec.deformable().batch(2).channels(3, 5).input(8, 9).kernel(3, 2).stride(2).dilation(1, 2).padding(1, 0)
                        .bias(false).build(),
                // one offset group per channel
                ConvSpec.deformable().batch(2).channels(4, 3).offsetGroups(4).input(6, 6).kernel(3).padding(1).mask(true).build(),
                // depthwise-like groups with dilation 2
                ConvSpec.deformable().batch(2).channels(4, 8).groups(4).input(5, 5).kernel(3).dilation(2).padding(2).mask(true).build(),
                CHUNKED);
    }

    @BeforeAll
    static void open() {
        probe = new CudaBackendProvider().probe();
        cpu = ConvEngine.providers().stream().filter(p -> p.name().equals("cpu")).findFirst().orElse(null);
        if (!probe.available()) return;
        CudaBackendProvider p = new CudaBackendProvider();
        sessions.put("det", p.open(0, CudaOptions.defaults()));
        sessions.put("fast", p.open(0, new CudaOptions(MathMode.FP32, false, CudaOptions.AlgoMode.HEURISTIC, CudaOptions.DEFAULT_WORKSPACE_LIMIT)));
        sessions.put("det-chunked", p.open(0, new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, CHUNK_LIMIT)));
        sessions.put("fast-chunked", p.open(0, new CudaOptions(MathMode.FP32, false, CudaOptions.AlgoMode.HEURISTIC, CHUNK_LIMIT)));
        String before = System.getProperty(DeformableFamily.PROPERTY);
        System.setProperty(DeformableFamily.PROPERTY, "direct");
        try {
            sessions.put("direct", p.open(0, CudaOptions.defaults()));
        } finally {
            if (before == null) System.clearProperty(DeformableFamily.PROPERTY);
            else System.setProperty(DeformableFamily.PROPERTY, before);
        }
    }

    @BeforeEach
    void needsAGpu() {
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
        assumeTrue(cpu != null, "jconv-cpu is not on the test classpath");
    }

    @AfterAll
    static void close() {
        List<String> leaks = new ArrayList<>();
        sessions.forEach((name, s) -> {
            s.close();
            if (s.tracker().liveBuffers() != 0) leaks.add(name + ": " + s.tracker().liveBuffers());
        });
        sessions.clear();
        assertTrue(leaks.isEmpty(), "buffers left open: " + leaks);
    }

    /** Inputs rounded to float, so that FP32 and FP64 runs see the same values; offsets in [-2, 2.25). */
    static Map<Role, double[]> inputs(ConvSpec spec, Pass pass, long seed) {
        Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, pass, new Random(seed));
        Map<Role, double[]> out = new EnumMap<>(Role.class);
        in.forEach((r, a) -> {
            double[] b = r == Role.OFFSET ? CudaGpuTest.scaled(a, 0.25) : a.clone();
            for (int i = 0; i < b.length; i++) b[i] = (float) b[i];
            out.put(r, b);
        });
        return out;
    }

    /** Every output of one pass. */
    static Map<Role, double[]> outputs(ConvBackend s, ConvSpec spec, Pass pass, DType dt, Map<Role, double[]> in) {
        Map<Role, double[]> out = new EnumMap<>(Role.class);
        for (Role r : pass.outputs(spec)) out.put(r, CudaGpuTest.runOutput(s, spec, pass, dt, in, r));
        return out;
    }

    /** What the session's label must say for this pass: the route, and for the input gradient the scatter. */
    static List<String> expectedLabel(String session, Pass pass) {
        List<String> want = new ArrayList<>();
        boolean direct = session.equals("direct") || pass == Pass.BACKWARD_BIAS;
        want.add(direct ? "jconv kernels, direct" : "cuDNN 1x1 GEMM");
        if (pass == Pass.BACKWARD_DATA) want.add(session.startsWith("fast") ? "by atomics" : "by rows");
        return want;
    }

    static void compare(String what, double[] want, double[] got, DType dt) {
        assertEquals(want.length, got.length, what + ": length");
        double scale = 1;
        for (double v : want) scale = Math.max(scale, Math.abs(v));
        // FP64: sums of at most a few thousand products in another order; FP32: float rounding of those sums
        double tol = (dt == DType.FP64 ? 1e-11 : 2e-5) * scale;
        int bad = -1;
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            if (!(d <= tol) && (bad < 0 || d > worst)) {
                bad = i;
                worst = d;
            }
        }
        if (bad >= 0) {
            fail(what + ": worst at [" + bad + "] want " + want[bad] + " got " + got[bad] + " (|diff| " + worst + " > tolerance " + tol
                    + " = " + (dt == DType.FP64 ? "1e-11" : "2e-5") + " * max|want| " + scale + ")");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyRouteAndScatterMatchesTheCpuBackend() {
        List<DynamicTest> out = new ArrayList<>();
        for (String name : List.of("det", "fast", "det-chunked", "fast-chunked", "direct")) {
            for (ConvSpec spec : problems()) {
                if (name.endsWith("-chunked") != (spec == CHUNKED)) continue; // the chunked sessions run the chunked problem only
                for (Pass pass : Pass.values()) {
                    out.add(DynamicTest.dynamicTest(name + " " + pass + " " + spec, () -> {
                        Map<Role, double[]> in = inputs(spec, pass, spec.hashCode() * 31L + pass.ordinal());
                        Map<Role, double[]> want;
                        try (ConvBackend c = cpu.open(0)) {
                            want = outputs(c, spec, pass, DType.FP64, in);
                        }
                        ConvBackend s = sessions.get(name);
                        for (DType dt : List.of(DType.FP64, DType.FP32)) {
                            Map<Role, double[]> got = outputs(s, spec, pass, dt, in);
                            String ran = s.lastAlgorithm();
                            String what = name + " " + pass + " " + dt + " " + spec + " [ran: " + ran + "]";
                            for (String w : expectedLabel(name, pass)) assertTrue(ran.contains(w), what + ": the label lacks '" + w + "'");
                            if (spec == CHUNKED && pass != Pass.BACKWARD_BIAS && !name.equals("direct")) {
                                int chunk = name.endsWith("-chunked") ? (dt == DType.FP64 ? 3 : 6) : 7;
                                assertTrue(ran.contains("of up to " + chunk + " item(s)"), what + ": expected chunks of " + chunk);
                            }
                            for (Role r : want.keySet()) compare(what + " " + r.label(), want.get(r), got.get(r), dt);
                        }
                    }));
                }
            }
        }
        return out.stream();
    }

    @Test
    void deterministicModeRepeatsBitForBit() {
        // many samples per input pixel (offsets up to 2 pixels, 3x3 taps): an atomic scatter would add them in varying order
        ConvSpec spec = ConvSpec.deformable().batch(4).channels(16, 16).input(14, 14).kernel(3).padding(1).mask(true).build();
        for (String name : List.of("det", "det-chunked")) {
            ConvBackend s = sessions.get(name);
            for (Pass pass : Pass.values()) {
                Map<Role, double[]> in = inputs(spec, pass, 99 + pass.ordinal());
                Map<Role, double[]> first = outputs(s, spec, pass, DType.FP32, in);
                String ran = s.lastAlgorithm();
                for (int rep = 0; rep < 3; rep++) {
                    Map<Role, double[]> again = outputs(s, spec, pass, DType.FP32, in);
                    for (Role r : first.keySet()) {
                        double[] a = first.get(r), b = again.get(r);
                        for (int i = 0; i < a.length; i++) {
                            if (Double.doubleToRawLongBits(a[i]) != Double.doubleToRawLongBits(b[i])) {
                                fail(name + " " + pass + " " + r.label() + "[" + i + "] changed on repeat " + (rep + 1) + ": " + a[i] + " then "
                                        + b[i] + " [ran: " + ran + "]");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void theColumnRouteAndTheDirectKernelsAgreeInFp64() {
        ConvSpec spec = problems().get(0);
        for (Pass pass : Pass.values()) {
            Map<Role, double[]> in = inputs(spec, pass, 7 + pass.ordinal());
            Map<Role, double[]> gemm = outputs(sessions.get("det"), spec, pass, DType.FP64, in);
            String ran = sessions.get("det").lastAlgorithm();
            Map<Role, double[]> direct = outputs(sessions.get("direct"), spec, pass, DType.FP64, in);
            for (Role r : gemm.keySet()) compare("det vs direct " + pass + " " + r.label() + " [ran: " + ran + "]", direct.get(r), gemm.get(r), DType.FP64);
        }
    }

    /**
     * Benchmark mode times cuDNN's candidates on the call's own output; the chunks of a weight gradient add into dw, and
     * the last chunk (1 item here) is a GEMM of another size, chosen on its first call: the sum of the earlier chunks must
     * survive that choice (CudnnRunner.runBound chooses on a scratch dw first).
     */
    @Test
    void benchmarkModeKeepsTheWeightGradientSumOverChunksOfTwoSizes() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("jconv-deform-bench");
        String before = System.getProperty("jconv.cache.dir");
        System.setProperty("jconv.cache.dir", dir.toString());
        try (ConvBackend bench = new CudaBackendProvider().open(0, new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.BENCHMARK,
                CHUNK_LIMIT))) {
            Map<Role, double[]> in = inputs(CHUNKED, Pass.BACKWARD_WEIGHT, 11);
            Map<Role, double[]> want;
            try (ConvBackend c = cpu.open(0)) {
                want = outputs(c, CHUNKED, Pass.BACKWARD_WEIGHT, DType.FP64, in);
            }
            for (DType dt : List.of(DType.FP64, DType.FP32)) {
                for (int call = 1; call <= 2; call++) { // the first call chooses, the second finds the choices made
                    Map<Role, double[]> got = outputs(bench, CHUNKED, Pass.BACKWARD_WEIGHT, dt, in);
                    String ran = bench.lastAlgorithm();
                    assertTrue(ran.contains("cuDNN 1x1 GEMM") && ran.contains((dt == DType.FP64 ? "3 chunk(s)" : "2 chunk(s)")), ran);
                    compare("benchmark mode, call " + call + " " + dt + " dw [ran: " + ran + "]", want.get(Role.DW), got.get(Role.DW), dt);
                }
            }
        } finally {
            if (before == null) System.clearProperty("jconv.cache.dir");
            else System.setProperty("jconv.cache.dir", before);
        }
    }

    /** {@code v} rounded to the 16-bit storage type, as a double. */
    static double stored(DType dt, double v) {
        return dt == DType.FP16 ? HalfFloats.fromHalf(HalfFloats.toHalf((float) v)) : HalfFloats.fromBf16(HalfFloats.toBf16((float) v));
    }

    @TestFactory
    Stream<DynamicTest> halfAndBf16StorageComputeInFp32AndRoundOnce() {
        List<DynamicTest> out = new ArrayList<>();
        for (DType dt : List.of(DType.FP16, DType.BF16)) {
            for (String name : List.of("det", "fast")) {
                for (ConvSpec spec : problems().subList(0, 4)) {
                    for (Pass pass : Pass.values()) {
                        out.add(DynamicTest.dynamicTest(dt + " " + name + " " + pass + " " + spec, () -> {
                            ConvBackend s = sessions.get(name);
                            assumeTrue(s.supports(spec, pass, dt).supported(), s.supports(spec, pass, dt).reason());
                            // values a quarter of the FP32 tests' (sums stay far inside FP16's range), stored exactly
                            Map<Role, double[]> in = inputs(spec, pass, 5 + pass.ordinal());
                            in.replaceAll((r, a) -> {
                                double[] b = r == Role.OFFSET ? a.clone() : CudaGpuTest.scaled(a, 0.25);
                                for (int i = 0; i < b.length; i++) b[i] = stored(dt, b[i]);
                                return b;
                            });
                            Map<Role, double[]> want;
                            try (ConvBackend c = cpu.open(0)) {
                                want = outputs(c, spec, pass, DType.FP64, in);
                            }
                            Map<Role, double[]> got = outputs(s, spec, pass, dt, in);
                            String ran = s.lastAlgorithm();
                            String what = dt + " " + name + " " + pass + " " + spec + " [ran: " + ran + "]";
                            assertTrue(ran.contains("(" + dt + " storage, FP32 compute)"), what);
                            // one rounding of the FP32 result into the storage type (half an ulp: 2^-11 FP16, 2^-8 BF16)
                            // plus the FP32 computation's own error
                            double u = dt == DType.FP16 ? 0x1p-11 : 0x1p-8;
                            for (Role r : want.keySet()) {
                                double[] w = want.get(r), g = got.get(r);
                                double scale = 1;
                                for (double v : w) scale = Math.max(scale, Math.abs(v));
                                for (int i = 0; i < w.length; i++) {
                                    double tol = 1.01 * u * Math.abs(w[i]) + 2e-5 * scale;
                                    if (!(Math.abs(w[i] - g[i]) <= tol)) {
                                        fail(what + " " + r.label() + "[" + i + "]: want " + w[i] + " got " + g[i] + " (tolerance " + tol + ")");
                                    }
                                }
                            }
                        }));
                    }
                }
            }
        }
        return out.stream();
    }

    @Test
    void theD1ProblemRunsOnTheColumnRouteInOneChunk() {
        ConvSpec d1 = ConvSpec.parse("dg1msk1g1mb8ic128ih28iw28oc128kh3kw3ph1pw1");
        ConvBackend s = sessions.get("det");
        Map<Role, double[]> in = inputs(d1, Pass.FORWARD, 1);
        Map<Role, double[]> got = outputs(s, d1, Pass.FORWARD, DType.FP32, in);
        String ran = s.lastAlgorithm();
        assertTrue(ran.contains("cuDNN 1x1 GEMM") && ran.contains("1 chunk(s) of up to 8 item(s)"), ran);
        assertEquals(d1.outputShape().elementCount(), got.get(Role.Y).length);
        assertEquals(8, DeformablePlan.of(d1, Pass.FORWARD, DType.FP32, DeformableFamily.target(CudaOptions.defaults(),
                DeformableFamily.Mode.AUTO)).chunkItems());
    }
}
