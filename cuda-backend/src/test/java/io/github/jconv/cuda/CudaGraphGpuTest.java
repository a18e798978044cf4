package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a GPU (skips without one; fails when JCONV_REQUIRE_BACKENDS lists cuda): the cuDNN graph API path
 * ({@code jconv.cuda.api=graph}) against the FP64 reference of CudnnPlanTest, beside the legacy path on the same
 * inputs, in FP32, FP16 and BF16 (and FP64 once), for P1- and P3-like, 3D, grouped, transposed and asymmetric-padding
 * problems, every convolution pass. For the plain 2D FP32 and BF16 problems the graph must be what ran (the label
 * starts with "cudnn-graph"); elsewhere a fallback to the legacy API is allowed, and its label says why.
 *
 * <p>Inputs are multiples of 2^-7 in [-1, 1): exact in FP16, BF16 and FP32, so one FP64 reference serves every
 * dtype. The bound is the conformance suite's (tests' Tolerance): |got − ref| ≤ rel · Σ|terms|, rel = u_in +
 * 2^-24 · (8√K + 32) with u_in = 0 (FP32, FP64: 2^-53 instead of 2^-24), 3 · 2^-11 (FP16), 3 · 2^-8 (BF16), plus
 * FP16's subnormal floor (2K + 1) · 2^-25; K is taken as the largest reduction length of the problem's passes
 * (a looser bound than each pass's own, still far below the O(1) error of a wrong index).
 */
class CudaGraphGpuTest {
    private static ProbeResult probe;
    private static ConvBackend graph;
    private static ConvBackend legacy;

    @BeforeAll
    static void open() {
        probe = new CudaBackendProvider().probe();
        String required = System.getenv().getOrDefault("JCONV_REQUIRE_BACKENDS", "");
        if (!probe.available() && java.util.Arrays.asList(required.split(",")).contains("cuda")) {
            fail("JCONV_REQUIRE_BACKENDS lists cuda but the probe says: " + probe.reason());
        }
        if (probe.available()) {
            graph = new CudaBackendProvider().open(0, CudaOptions.defaults().withApi(CudaOptions.Api.GRAPH));
            legacy = new CudaBackendProvider().open(0, CudaOptions.defaults().withApi(CudaOptions.Api.LEGACY));
        }
    }

    @BeforeEach
    void needsAGpu() {
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
    }

    @AfterAll
    static void close() {
        if (graph != null) graph.close();
        if (legacy != null) legacy.close();
        if (graph != null) assertEquals(0, graph.tracker().liveBuffers(), "every buffer of the graph tests was closed");
    }

    /** name → problem; the first two are the ones whose FP32 and BF16 passes must run on the graph. */
    static Map<String, ConvSpec> problems() {
        Map<String, ConvSpec> m = new LinkedHashMap<>();
        m.put("P1-like 3x3", ConvSpec.convolution().batch(2).channels(16, 16).input(20, 20).kernel(3).padding(1).build());
        m.put("P3-like 1x1", ConvSpec.convolution().batch(2).channels(64, 64).input(7, 7).kernel(1).bias(false).build());
        m.put("3D", ConvSpec.convolution().batch(1).channels(4, 8).input(6, 6, 6).kernel(3).padding(1).build());
        m.put("grouped", ConvSpec.convolution().batch(2).channels(8, 16).groups(4).input(10, 10).kernel(3).padding(1).build());
        m.put("transposed", ConvSpec.transposed().batch(2).channels(8, 4).input(5, 5).kernel(3).stride(2).padding(1).outputPadding(1).build());
        m.put("asymmetric padding (staged)", ConvSpec.convolution().batch(1).channels(4, 4).input(9, 9).kernel(3)
                .paddingLo(1, 0).paddingHi(0, 1).bias(false).build());
        return m;
    }

    static final Pass[] CONV_PASSES = {Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT};

    /** Inputs k/128 for k in [-128, 128): exact in every dtype tested. */
    static Map<Role, double[]> inputs(ConvSpec s, Pass p, long seed) {
        Random r = new Random(seed);
        Map<Role, double[]> m = new EnumMap<>(Role.class);
        for (Role role : p.inputs(s)) {
            double[] a = new double[Math.toIntExact(role.shapeFor(s).elementCount())];
            for (int i = 0; i < a.length; i++) a[i] = (r.nextInt(256) - 128) / 128.0;
            m.put(role, a);
        }
        return m;
    }

    /** The largest reduction length of the problem's passes: forward (C/g)·∏k (+1 bias), data (K/g)·∏k, weight N·∏out. */
    static long reductionLength(ConvSpec s) {
        long k = 1;
        for (int v : s.kernel()) k *= v;
        long fwd = (long) s.inChannels() / s.groups() * k + 1;
        long data = (long) s.outChannels() / s.groups() * k;
        long weight = (long) s.batch() * Math.max(s.outputSpatial(), s.inputShape().elementCount() / Math.max(1, (long) s.batch() * s.inChannels()));
        return Math.max(fwd, Math.max(data, weight));
    }

    static double rel(DType dt, long k) {
        double acc = (dt == DType.FP64 ? 0x1p-53 : 0x1p-24) * (8 * Math.sqrt((double) k) + 32);
        double in = switch (dt) {
            case FP16 -> 3 * 0x1p-11;
            case BF16 -> 3 * 0x1p-8;
            default -> 0;
        };
        return in + acc;
    }

    private record Ref(Map<Role, double[]> in, double[] want, double[] magnitude) {
    }

    private static final Map<String, Ref> REFS = new HashMap<>();

    private static synchronized Ref reference(String name, ConvSpec spec, Pass pass) {
        return REFS.computeIfAbsent(name + pass, x -> {
            Map<Role, double[]> in = inputs(spec, pass, spec.hashCode() * 31L + pass.ordinal());
            Map<Role, double[]> abs = new EnumMap<>(Role.class);
            in.forEach((r, a) -> abs.put(r, CudaGpuTest.abs(a)));
            return new Ref(in, CudnnPlanTest.Reference.run(spec, pass, in), CudnnPlanTest.Reference.run(spec, pass, abs));
        });
    }

    static void assertWithin(DType dt, ConvSpec spec, Ref ref, double[] got, String what) {
        long k = reductionLength(spec);
        double rel = rel(dt, k);
        double floor = dt == DType.FP16 ? 0x1p-25 * (2.0 * k + 1) : 0;
        assertEquals(ref.want.length, got.length, what);
        for (int i = 0; i < got.length; i++) {
            double bound = ref.magnitude[i] == 0 ? 0 : rel * ref.magnitude[i] + floor;
            if (!(Math.abs(got[i] - ref.want[i]) <= bound)) {
                fail(what + ": [" + i + "] = " + got[i] + ", reference " + ref.want[i] + ", allowed ±" + bound);
            }
        }
    }

    static boolean hasBf16() {
        return probe.devices().get(0).properties().get("compute capability").matches("([89]|\\d\\d)\\..*");
    }

    @TestFactory
    Stream<DynamicTest> graphPassesMatchTheReferenceAndTheLegacyPath() {
        List<DynamicTest> out = new ArrayList<>();
        List<String> mustGraph = List.of("P1-like 3x3", "P3-like 1x1");
        problems().forEach((name, spec) -> {
            for (Pass pass : CONV_PASSES) {
                List<DType> dts = new ArrayList<>(List.of(DType.FP32, DType.FP16, DType.BF16));
                if (name.startsWith("P1")) dts.add(DType.FP64);
                for (DType dt : dts) {
                    out.add(DynamicTest.dynamicTest(name + " " + pass + " " + dt, () -> {
                        assumeTrue(dt != DType.BF16 || hasBf16(), "BF16 needs compute capability 8.0");
                        Ref ref = reference(name, spec, pass);
                        double[] g = CudaGpuTest.run(graph, spec, pass, dt, ref.in);
                        String ranGraph = graph.lastAlgorithm();
                        double[] l = CudaGpuTest.run(legacy, spec, pass, dt, ref.in);
                        String ranLegacy = legacy.lastAlgorithm();
                        if (mustGraph.contains(name) && (dt == DType.FP32 || dt == DType.BF16)) {
                            assertTrue(ranGraph.startsWith("cudnn-graph "), "the graph API must run " + name + " " + pass + " " + dt
                                    + "; it ran: " + ranGraph);
                        }
                        assertTrue(!ranLegacy.contains("cudnn-graph"), "the legacy session ran " + ranLegacy);
                        assertWithin(dt, spec, ref, g, name + " " + pass + " " + dt + " graph session ran " + ranGraph);
                        assertWithin(dt, spec, ref, l, name + " " + pass + " " + dt + " legacy session ran " + ranLegacy);
                    }));
                }
            }
        });
        return out.stream();
    }

    @Test
    void theGraphPathRepeatsWeightGradientsBitForBitByDefault() {
        ConvSpec spec = problems().get("P1-like 3x3");
        for (DType dt : new DType[]{DType.FP32, DType.BF16}) {
            if (dt == DType.BF16 && !hasBf16()) continue;
            Map<Role, double[]> in = inputs(spec, Pass.BACKWARD_WEIGHT, 7);
            double[] a = CudaGpuTest.run(graph, spec, Pass.BACKWARD_WEIGHT, dt, in);
            double[] b = CudaGpuTest.run(graph, spec, Pass.BACKWARD_WEIGHT, dt, in);
            assertTrue(graph.lastAlgorithm().startsWith("cudnn-graph "), graph.lastAlgorithm());
            assertTrue(!graph.lastAlgorithm().contains("non-deterministic"), "a deterministic session ran " + graph.lastAlgorithm());
            assertArrayEquals(a, b, dt + " weight gradient differs between two calls of " + graph.lastAlgorithm());
        }
    }

    @Test
    void fp32ExactMathNeverRunsATensorCoreEngineOnTheGraph() {
        ConvSpec spec = problems().get("P1-like 3x3");
        for (Pass pass : CONV_PASSES) {
            CudaGpuTest.run(graph, spec, pass, DType.FP32, inputs(spec, pass, 3));
            String ran = graph.lastAlgorithm();
            assertTrue(ran.startsWith("cudnn-graph ") && !ran.contains("tensor-core"), pass + " ran " + ran);
        }
    }

    @Test
    void benchmarkModeTimesEnginesOnceAndKeepsTheChoiceOnDisk(@TempDir Path dir) throws Exception {
        String before = System.getProperty("jconv.cache.dir");
        System.setProperty("jconv.cache.dir", dir.toString());
        try {
            ConvSpec spec = problems().get("P1-like 3x3");
            CudaOptions bench = new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.BENCHMARK, 256L << 20, CudaOptions.Api.GRAPH);
            Ref ref = reference("P1-like 3x3", spec, Pass.FORWARD);
            String first;
            try (ConvBackend s = new CudaBackendProvider().open(0, bench)) {
                assertWithin(DType.FP32, spec, ref, CudaGpuTest.run(s, spec, Pass.FORWARD, DType.FP32, ref.in), "benchmark graph");
                first = s.lastAlgorithm();
                assertTrue(first.startsWith("cudnn-graph fwd engine "), first);
            }
            List<String> lines = new ArrayList<>();
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".txt")).toList()) {
                    lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
                }
            }
            assertTrue(lines.stream().anyMatch(l -> l.contains("|api=graph|") && l.contains("\tengine ")), "the choice is on disk: " + lines);
            // a later session reads it back and runs the same engine configuration
            try (ConvBackend s = new CudaBackendProvider().open(0, bench)) {
                assertWithin(DType.FP32, spec, ref, CudaGpuTest.run(s, spec, Pass.FORWARD, DType.FP32, ref.in), "benchmark graph, cached");
                String second = s.lastAlgorithm();
                assertEquals(first, second, "the stored engine configuration runs again");
            }
        } finally {
            if (before == null) System.clearProperty("jconv.cache.dir");
            else System.setProperty("jconv.cache.dir", before);
        }
    }
}
