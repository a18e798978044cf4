package io.github.jconv.cuda;

import io.github.jconv.spi.HalfFloats;
import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import jcuda.Pointer;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a GPU: the session against jconv's definitions (FP64 direct loops of CudnnPlanTest.Reference
 * for convolution and transposed; the CPU backend for deformable), the address bridge against the
 * driver, out-of-memory recovery, determinism and the algorithm modes. Skips where the probe finds
 * no usable CUDA, with the probe's reason.
 */
class CudaGpuTest {
    private static ProbeResult probe;
    private static ConvBackend session;

    @BeforeAll
    static void open() {
        probe = new CudaBackendProvider().probe();
        if (probe.available()) session = new CudaBackendProvider().open(0, CudaOptions.defaults().withApi(CudaOptions.Api.LEGACY)); // the legacy calls' own tests
    }

    @BeforeEach
    void needsAGpu() {
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
    }

    @AfterAll
    static void close() {
        if (session != null) session.close();
        if (session != null) assertEquals(0, session.tracker().liveBuffers(), "every buffer of the tests was closed");
    }

    static DeviceBuffer upload(ConvBackend s, DType dt, double[] v, Shape shape) {
        DeviceBuffer b = s.allocate(dt, shape);
        s.upload(b, 0, v, 0, v.length);
        return b;
    }

    static double[] download(ConvBackend s, DeviceBuffer b) {
        double[] out = new double[(int) b.elementCount()];
        s.download(b, 0, out, 0, out.length);
        return out;
    }

    static double[] abs(double[] a) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) r[i] = Math.abs(r[i]);
        return r;
    }

    /** Runs one pass on {@code s} with host inputs; returns the output. */
    static double[] run(ConvBackend s, ConvSpec spec, Pass pass, DType dt, Map<Role, double[]> in) {
        List<DeviceBuffer> bufs = new ArrayList<>();
        try {
            ConvArgs.Builder a = ConvArgs.builder();
            for (Map.Entry<Role, double[]> e : in.entrySet()) {
                DeviceBuffer b = upload(s, dt, e.getValue(), e.getKey().shapeFor(spec));
                bufs.add(b);
                a.put(e.getKey(), b);
            }
            Role outRole = pass.outputs(spec).iterator().next();
            DeviceBuffer out = s.allocate(dt, outRole.shapeFor(spec));
            bufs.add(out);
            a.put(outRole, out);
            for (Role r : pass.outputs(spec)) {
                if (r != outRole) {
                    DeviceBuffer extra = s.allocate(dt, r.shapeFor(spec));
                    bufs.add(extra);
                    a.put(r, extra);
                }
            }
            ConvEngine.wrap(s).execute(pass, spec, a.build());
            return download(s, out);
        } finally {
            bufs.forEach(DeviceBuffer::close);
        }
    }

    @Test
    void theAddressBridgeAgreesWithTheDriversOwnPointerAttribute() {
        try (DeviceBuffer b = session.allocate(DType.FP32, Shape.of(1024))) {
            CudaBuffer c = (CudaBuffer) b;
            long[] viaDriver = new long[1];
            assertEquals(0, JCudaDriver.cuPointerGetAttribute(Pointer.to(viaDriver),
                    CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, c.ptr));
            assertEquals(viaDriver[0], c.address);
            assertTrue(c.address != 0);
        }
    }

    @Test
    void everyDtypeSurvivesAnUploadAndDownload() {
        double[] v = {0, 1, -2.5, 0.1, 65504, 1e-3, -7.75};
        for (DType dt : DType.values()) {
            if (dt == DType.BF16 && !probe.devices().get(0).properties().get("compute capability").matches("([89]|\\d\\d)\\..*")) continue;
            try (DeviceBuffer b = upload(session, dt, v, Shape.of(v.length))) {
                double[] back = download(session, b);
                for (int i = 0; i < v.length; i++) {
                    double want = switch (dt) {
                        case FP64 -> v[i];
                        case FP32 -> (float) v[i];
                        case FP16 -> HalfFloats.fromHalf(HalfFloats.toHalf((float) v[i]));
                        case BF16 -> HalfFloats.fromBf16(HalfFloats.toBf16((float) v[i]));
                    };
                    assertEquals(want, back[i], 0.0, dt + " [" + i + "]");
                }
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> cudnnPassesMatchJconvsDefinition() {
        List<DynamicTest> out = new ArrayList<>();
        for (ConvSpec spec : CudnnPlanTest.specs()) {
            for (Pass pass : CudnnPlanTest.PASSES) {
                for (DType dt : List.of(DType.FP64, DType.FP32, DType.FP16)) {
                    out.add(DynamicTest.dynamicTest(pass + " " + dt + " " + spec, () -> {
                        Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, pass, new Random(spec.hashCode() + pass.ordinal()));
                        if (dt == DType.FP16) in.replaceAll((r, a) -> roundHalf(a));
                        double[] want = CudnnPlanTest.Reference.run(spec, pass, in);
                        Map<Role, double[]> absIn = new EnumMap<>(Role.class);
                        in.forEach((r, a) -> absIn.put(r, abs(a)));
                        double[] scale = CudnnPlanTest.Reference.run(spec, pass, absIn);
                        double[] got = run(session, spec, pass, dt, in);
                        double rel = dt == DType.FP64 ? 1e-12 : dt == DType.FP32 ? 1e-5 : 2e-3; // FP16 output rounding 2^-11 plus accumulation
                        for (int i = 0; i < want.length; i++) {
                            assertEquals(want[i], got[i], rel * scale[i] + 1e-9, "[" + i + "] ran " + session.lastAlgorithm());
                        }
                    }));
                }
            }
        }
        return out.stream();
    }

    static double[] roundHalf(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = HalfFloats.fromHalf(HalfFloats.toHalf((float) a[i]));
        return r;
    }

    static double[] roundBf16(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = HalfFloats.fromBf16(HalfFloats.toBf16((float) a[i]));
        return r;
    }

    static boolean hasBf16() {
        return probe.devices().get(0).properties().get("compute capability").matches("([89]|\\d\\d)\\..*");
    }

    /**
     * The 2-byte bias gradient (bias_grad.cu) against an FP64 sum of the same storage-rounded dy.
     * Bound, derived: the kernel adds in float; thread t adds its k = N * ceil(S / 256) terms in
     * order, then 8 tree levels join 256 partial sums, so every term passes through at most k + 8
     * float additions and the float sum is within (k + 8) * 2^-24 * sum|dy| of the exact one
     * (recursive summation, first order). The one rounding to storage adds u * |db| with u = 2^-8
     * for BF16 (8 significant bits) and 2^-11 for FP16 (11 bits), plus half the smallest FP16
     * subnormal (2^-25) for results near zero.
     */
    @TestFactory
    Stream<DynamicTest> halfAndBf16BiasGradientsAccumulateInFloatWithinTheStorageRounding() {
        List<ConvSpec> specs = List.of(
                ConvSpec.convolution().batch(3).channels(2, 5).input(37, 41).kernel(3).padding(1).build(),
                ConvSpec.convolution().batch(2).channels(4, 6).groups(2).input(5, 6, 7).kernel(3).build(),
                ConvSpec.convolution().batch(1).channels(3, 4).input(700).kernel(5).stride(2).build(),
                ConvSpec.transposed().batch(2).channels(3, 2).input(9, 8).kernel(3).stride(2).build());
        List<DynamicTest> out = new ArrayList<>();
        for (ConvSpec spec : specs) {
            for (DType dt : List.of(DType.FP16, DType.BF16)) {
                out.add(DynamicTest.dynamicTest(dt + " " + spec, () -> {
                    assumeTrue(dt != DType.BF16 || hasBf16(), "BF16 needs compute capability 8.0");
                    Random r = new Random(spec.hashCode() + dt.ordinal());
                    double[] dy = new double[Math.toIntExact(spec.outputShape().elementCount())];
                    for (int i = 0; i < dy.length; i++) dy[i] = 2 * r.nextDouble() - 1;
                    dy = dt == DType.FP16 ? roundHalf(dy) : roundBf16(dy);
                    int n = spec.batch(), c = spec.outChannels();
                    long sp = spec.outputSpatial();
                    double[] want = new double[c];
                    double[] absSum = new double[c];
                    for (int b = 0; b < n; b++) {
                        for (int ch = 0; ch < c; ch++) {
                            for (long s = 0; s < sp; s++) {
                                double v = dy[(int) ((b * (long) c + ch) * sp + s)];
                                want[ch] += v;
                                absSum[ch] += Math.abs(v);
                            }
                        }
                    }
                    double[] got = run(session, spec, Pass.BACKWARD_BIAS, dt, Map.of(Role.DY, dy));
                    assertTrue(session.lastAlgorithm().contains("bias_grad_" + (dt == DType.FP16 ? "f16" : "bf16")), session.lastAlgorithm());
                    long k = n * ((sp + 255) / 256);
                    double u = dt == DType.FP16 ? 0x1p-11 : 0x1p-8;
                    for (int ch = 0; ch < c; ch++) {
                        double floatSum = (k + 8) * 0x1p-24 * absSum[ch];
                        double tol = u * (Math.abs(want[ch]) + floatSum) + floatSum + 0x1p-25;
                        assertEquals(want[ch], got[ch], tol, dt + " db[" + ch + "]");
                    }
                }));
            }
        }
        return out.stream();
    }

    /**
     * 4096 ones per channel: the sum is 4096 exactly, a power of two that FP16 and BF16 hold. A
     * 2-byte accumulator would stop early (FP16 at 2048, where 2048 + 1 rounds back to 2048; BF16 at
     * 256), so this fails for any reduction that does not accumulate in float.
     */
    @Test
    void halfAndBf16BiasGradientsOfManyOnesAreExact() {
        ConvSpec spec = ConvSpec.convolution().batch(4).channels(1, 3).input(32, 32).kernel(1).build(); // 4 * 1024 = 4096 per channel
        double[] ones = new double[Math.toIntExact(spec.outputShape().elementCount())];
        java.util.Arrays.fill(ones, 1.0);
        for (DType dt : List.of(DType.FP16, DType.BF16)) {
            if (dt == DType.BF16 && !hasBf16()) continue;
            assertArrayEquals(new double[]{4096, 4096, 4096}, run(session, spec, Pass.BACKWARD_BIAS, dt, Map.of(Role.DY, ones)), 0.0,
                    dt + " ran " + session.lastAlgorithm());
        }
    }

    @TestFactory
    Stream<DynamicTest> deformablePassesMatchTheCpuBackend() {
        ConvBackendProvider cpu = ConvEngine.providers().stream().filter(p -> p.name().equals("cpu")).findFirst().orElse(null);
        assumeTrue(cpu != null, "jconv-cpu is not on the test classpath");
        List<DynamicTest> out = new ArrayList<>();
        for (ConvSpec spec : PtxBuildTest.deformables()) {
            for (Pass pass : Pass.values()) {
                for (DType dt : List.of(DType.FP64, DType.FP32)) {
                    out.add(DynamicTest.dynamicTest(pass + " " + dt + " " + spec, () -> {
                        Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, pass, new Random(spec.hashCode() ^ pass.ordinal()));
                        if (in.containsKey(Role.OFFSET)) in.replaceAll((r, a) -> r == Role.OFFSET ? scaled(a, 0.25) : a);
                        try (ConvBackend c = cpu.open(0)) {
                            for (Role outRole : pass.outputs(spec)) {
                                double[] want = runOutput(c, spec, pass, dt, in, outRole);
                                double[] got = runOutput(session, spec, pass, dt, in, outRole);
                                double tol = dt == DType.FP64 ? 1e-10 : 1e-3;
                                for (int i = 0; i < want.length; i++) {
                                    assertEquals(want[i], got[i], tol * (1 + Math.abs(want[i])), outRole.label() + "[" + i + "]");
                                }
                            }
                        }
                        // the column route (cuDNN GEMM) for every pass but the bias gradient, a jconv reduction
                        String route = pass == Pass.BACKWARD_BIAS ? "jconv kernels, direct" : "cuDNN 1x1 GEMM";
                        assertTrue(session.lastAlgorithm().contains(route), session.lastAlgorithm());
                    }));
                }
            }
        }
        return out.stream();
    }

    static double[] scaled(double[] a, double f) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) r[i] *= f;
        return r;
    }

    /** Like {@link #run} but returns the output of {@code want} (BACKWARD_OFFSET_MASK has two). */
    static double[] runOutput(ConvBackend s, ConvSpec spec, Pass pass, DType dt, Map<Role, double[]> in, Role want) {
        List<DeviceBuffer> bufs = new ArrayList<>();
        try {
            ConvArgs.Builder a = ConvArgs.builder();
            for (Map.Entry<Role, double[]> e : in.entrySet()) {
                DeviceBuffer b = upload(s, dt, e.getValue(), e.getKey().shapeFor(spec));
                bufs.add(b);
                a.put(e.getKey(), b);
            }
            DeviceBuffer target = null;
            for (Role r : pass.outputs(spec)) {
                DeviceBuffer b = s.allocate(dt, r.shapeFor(spec));
                bufs.add(b);
                a.put(r, b);
                if (r == want) target = b;
            }
            ConvEngine.wrap(s).execute(pass, spec, a.build());
            return download(s, target);
        } finally {
            bufs.forEach(DeviceBuffer::close);
        }
    }

    @Test
    void outOfMemoryReportsTheRequestAndLeavesTheSessionUsable() {
        // 2^30 * 2^12 = 2^42 FP32 elements of 4 bytes: 2^44 bytes = 16 TiB, over 100 times a 141 GiB H200
        long request = 16L << 40;
        assertTrue(request > probe.devices().get(0).memoryBytes(), "a device with more than 16 TiB needs a larger request here");
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> session.allocate(DType.FP32, Shape.of(1 << 30, 1 << 12)));
        assertEquals(request, e.requestedBytes());
        assertTrue(e.freeBytes() > 0, e.getMessage());
        ConvSpec spec = CudnnPlanTest.specs().get(2);
        Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, Pass.FORWARD, new Random(1));
        assertArrayEquals(CudnnPlanTest.Reference.run(spec, Pass.FORWARD, in), run(session, spec, Pass.FORWARD, DType.FP64, in), 1e-9);
    }

    @Test
    void deterministicModeGivesBitwiseEqualWeightGradients() {
        try (ConvBackend det = new CudaBackendProvider().open(0, new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, 1L << 30))) {
            ConvSpec spec = ConvSpec.convolution().batch(16).channels(32, 32).input(28, 28).kernel(3).padding(1).build();
            Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, Pass.BACKWARD_WEIGHT, new Random(2));
            double[] a = run(det, spec, Pass.BACKWARD_WEIGHT, DType.FP32, in);
            double[] b = run(det, spec, Pass.BACKWARD_WEIGHT, DType.FP32, in);
            assertArrayEquals(a, b, 0.0, "ran " + det.lastAlgorithm());
        }
    }

    /**
     * The default session is deterministic: the 3D input gradient that differed in its last bits under 8 threads
     * on the first H200 run (cuDNN's default heuristics may pick BWD_DATA_ALGO_0, which adds with atomics) repeats
     * bit for bit, and no algorithm that cuDNN documents as non-deterministic (bwd-data ALGO_0, bwd-filter ALGO_0
     * and ALGO_3) runs.
     */
    @Test
    void theDefaultSessionRepeatsEveryBackwardPassBitForBit() {
        ConvSpec spec = ConvSpec.parse("mb1ic3id4ih5iw4oc2kd2kh3kw2pd1"); // ReliabilityTest.SPECS.get(3)
        for (ConvSpec s : List.of(spec, spec.toBuilder().batch(8).channels(16, 32).build())) {
            for (Pass pass : List.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT)) {
                Map<Role, double[]> in = CudnnPlanTest.randomInputs(s, pass, new Random(6));
                double[] first = run(session, s, pass, DType.FP32, in);
                String algo = session.lastAlgorithm();
                assertTrue(!algo.contains("bwd-data ALGO_0") && !algo.contains("bwd-filter ALGO_0") && !algo.contains("bwd-filter ALGO_3"),
                        "a non-deterministic algorithm ran: " + algo);
                for (int i = 0; i < 20; i++) {
                    assertArrayEquals(first, run(session, s, pass, DType.FP32, in), 0.0, pass + " of " + s + " ran " + session.lastAlgorithm());
                }
            }
        }
    }

    /**
     * One 46341 x 46341 image (2,147,488,281 elements, over cuDNN's 2^31 - 1) with a 3 x 3 kernel and padding 1:
     * SpatialSplit cuts the output rows in two parts of 23171 and 23170 (each part's input window, its rows plus
     * a halo of 2, stays under the limit), so output rows 23170 and 23171 come from different parts and read
     * input rows across the cut. Input: zero except random values in rows 23168..23173 and a 3 at the very last
     * element (past 2^31). Expected values from the definition in FP64 on the host:
     * y[h][w] = b + sum over i, j < 3 of w[i][j] * x[h - 1 + i][w - 1 + j]. About 26 GB of device memory.
     */
    @Test
    void aForwardOverCudnnsElementLimitRunsInSpatialPartsWithTheirHalo() {
        int side = 46341;
        ConvSpec spec = ConvSpec.convolution().batch(1).channels(1, 1).input(side, side).kernel(3).padding(1).build();
        assertTrue(spec.inputShape().elementCount() > Integer.MAX_VALUE);
        Random r = new Random(7);
        double[] w = new double[9];
        for (int i = 0; i < 9; i++) w[i] = (float) (2 * r.nextDouble() - 1);
        double bias = 0.25;
        int row0 = 23168, rowsSet = 6;
        double[][] band = new double[rowsSet][side];
        for (double[] row : band) for (int j = 0; j < side; j++) row[j] = (float) (2 * r.nextDouble() - 1);
        try (DeviceBuffer x = session.allocate(DType.FP32, spec.inputShape());
             DeviceBuffer wb = upload(session, DType.FP32, w, spec.weightShape());
             DeviceBuffer bb = upload(session, DType.FP32, new double[]{bias}, spec.biasShape());
             DeviceBuffer y = session.allocate(DType.FP32, spec.outputShape())) {
            float[] zeros = new float[1 << 24];
            long total = spec.inputShape().elementCount();
            for (long at = 0; at < total; at += zeros.length) session.upload(x, at, zeros, 0, (int) Math.min(zeros.length, total - at));
            for (int i = 0; i < rowsSet; i++) session.upload(x, (long) (row0 + i) * side, band[i], 0, side);
            session.upload(x, total - 1, new float[]{3f}, 0, 1);
            ConvEngine.wrap(session).execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(wb).b(bb).y(y).build());
            assertTrue(session.lastAlgorithm().contains("2 parts"), session.lastAlgorithm());
            // output rows 23169..23172 read only the band (rows 23168..23173); 23170 | 23171 is the cut
            for (int oh = row0 + 1; oh <= row0 + rowsSet - 2; oh++) {
                float[] got = new float[side];
                session.download(y, (long) oh * side, got, 0, side);
                for (int ow = 0; ow < side; ow++) {
                    double want = bias, scale = Math.abs(bias);
                    for (int i = 0; i < 3; i++) {
                        for (int j = 0; j < 3; j++) {
                            int xw = ow - 1 + j;
                            if (xw < 0 || xw >= side) continue;
                            double t = w[i * 3 + j] * band[oh - 1 + i - row0][xw];
                            want += t;
                            scale += Math.abs(t);
                        }
                    }
                    assertEquals(want, got[ow], 1e-4 * scale + 1e-7, "y[" + oh + "][" + ow + "] ran " + session.lastAlgorithm());
                }
            }
            float[] one = new float[1];
            session.download(y, total - 1, one, 0, 1); // centre tap on the 3
            assertEquals(bias + 3 * w[4], one[0], 1e-4 * (3 + bias) + 1e-7);
            session.download(y, total - 1 - side - 1, one, 0, 1); // y[side-2][side-2]: the 3 under tap (2, 2)
            assertEquals(bias + 3 * w[8], one[0], 1e-4 * (3 + bias) + 1e-7);
            session.download(y, 0, one, 0, 1); // far from every non-zero input
            assertEquals(bias, one[0], 1e-4);
        }
    }

    /**
     * The backward passes of the same 46341 x 46341 problem, split the same way (cut between rows 23170 and
     * 23171). x and dy are zero except rows 23168..23173, which hold integers 1..3, as does w: every sum is a
     * sum of positive integers below 2^24, so a part that lost or doubled the halo's rows would be off by a
     * large amount, while FP32 arithmetic is exact for GEMM-based algorithms (the tolerance, 1e-5 of the sum,
     * leaves room for others). From the definition, with out-of-range indices reading zero:
     *   dx[i][j] = sum over ti, tj of dy[i + 1 - ti][j + 1 - tj] * w[ti][tj]
     *   dw[ti][tj] = sum over o, q of dy[o][q] * x[o - 1 + ti][q - 1 + tj]
     *   db = sum of dy.
     * About 40 GB of device memory.
     */
    @Test
    void backwardPassesOverCudnnsElementLimitRunInSpatialPartsWithTheirHalo() {
        int side = 46341, row0 = 23168, rowsSet = 6;
        ConvSpec spec = ConvSpec.convolution().batch(1).channels(1, 1).input(side, side).kernel(3).padding(1).build();
        Random r = new Random(8);
        double[] w = new double[9];
        for (int i = 0; i < 9; i++) w[i] = 1 + r.nextInt(3);
        double[][] xb = new double[rowsSet][side], dyb = new double[rowsSet][side];
        for (int i = 0; i < rowsSet; i++) {
            for (int j = 0; j < side; j++) {
                xb[i][j] = 1 + r.nextInt(3);
                dyb[i][j] = 1 + r.nextInt(3);
            }
        }
        long total = spec.inputShape().elementCount();
        try (DeviceBuffer x = session.allocate(DType.FP32, spec.inputShape());
             DeviceBuffer dy = session.allocate(DType.FP32, spec.outputShape());
             DeviceBuffer wb = upload(session, DType.FP32, w, spec.weightShape());
             DeviceBuffer dx = session.allocate(DType.FP32, spec.inputShape());
             DeviceBuffer dw = session.allocate(DType.FP32, spec.weightShape());
             DeviceBuffer db = session.allocate(DType.FP32, spec.biasShape())) {
            float[] zeros = new float[1 << 24];
            for (DeviceBuffer b : List.of(x, dy)) {
                for (long at = 0; at < total; at += zeros.length) session.upload(b, at, zeros, 0, (int) Math.min(zeros.length, total - at));
            }
            for (int i = 0; i < rowsSet; i++) {
                session.upload(x, (long) (row0 + i) * side, xb[i], 0, side);
                session.upload(dy, (long) (row0 + i) * side, dyb[i], 0, side);
            }
            ConvEngine e = ConvEngine.wrap(session);
            // input gradient: rows 23169..23172 read dy rows 23168..23173 only
            e.execute(Pass.BACKWARD_DATA, spec, ConvArgs.builder().dy(dy).w(wb).dx(dx).build());
            assertTrue(session.lastAlgorithm().contains("2 parts"), session.lastAlgorithm());
            for (int i = row0 + 1; i <= row0 + rowsSet - 2; i++) {
                float[] got = new float[side];
                session.download(dx, (long) i * side, got, 0, side);
                for (int j = 0; j < side; j++) {
                    double want = 0;
                    for (int ti = 0; ti < 3; ti++) {
                        for (int tj = 0; tj < 3; tj++) {
                            int q = j + 1 - tj;
                            if (q >= 0 && q < side) want += dyb[i + 1 - ti - row0][q] * w[ti * 3 + tj];
                        }
                    }
                    assertEquals(want, got[j], 1e-5 * want, "dx[" + i + "][" + j + "] ran " + session.lastAlgorithm());
                }
            }
            float[] one = new float[1];
            session.download(dx, 0, one, 0, 1);
            assertEquals(0f, one[0], 1e-3, "far from dy's rows");
            session.download(dx, total - 1, one, 0, 1);
            assertEquals(0f, one[0], 1e-3, "far from dy's rows, past 2^31");
            // weight gradient
            e.execute(Pass.BACKWARD_WEIGHT, spec, ConvArgs.builder().x(x).dy(dy).dw(dw).build());
            assertTrue(session.lastAlgorithm().contains("2 parts"), session.lastAlgorithm());
            double[] gotW = download(session, dw);
            for (int ti = 0; ti < 3; ti++) {
                for (int tj = 0; tj < 3; tj++) {
                    double want = 0;
                    for (int o = row0; o < row0 + rowsSet; o++) {
                        int xr = o - 1 + ti;
                        if (xr < row0 || xr >= row0 + rowsSet) continue;
                        for (int q = 0; q < side; q++) {
                            int xc = q - 1 + tj;
                            if (xc >= 0 && xc < side) want += dyb[o - row0][q] * xb[xr - row0][xc];
                        }
                    }
                    assertEquals(want, gotW[ti * 3 + tj], 1e-5 * want, "dw[" + ti + "][" + tj + "] ran " + session.lastAlgorithm());
                }
            }
            // bias gradient
            e.execute(Pass.BACKWARD_BIAS, spec, ConvArgs.builder().dy(dy).db(db).build());
            double want = 0;
            for (double[] row : dyb) for (double v : row) want += v;
            assertEquals(want, download(session, db)[0], 1e-5 * want, "ran " + session.lastAlgorithm());
        }
    }

    /**
     * Batch 0: PyTorch gives empty outputs and zero weight and bias gradients (sums over no item). The gradient
     * buffers start full of ones, so the zeros are written by the call, not left by the allocation.
     */
    @Test
    void batchZeroGivesEmptyOutputsAndZeroGradients() {
        ConvSpec spec = ConvSpec.convolution().batch(0).channels(3, 4).input(6, 5).kernel(3).padding(1).build();
        double[] ones = new double[4 * 3 * 9];
        java.util.Arrays.fill(ones, 1.0);
        try (DeviceBuffer x = session.allocate(DType.FP32, spec.inputShape());
             DeviceBuffer dy = session.allocate(DType.FP32, spec.outputShape());
             DeviceBuffer dx = session.allocate(DType.FP32, spec.inputShape());
             DeviceBuffer w = upload(session, DType.FP32, ones, spec.weightShape());
             DeviceBuffer dw = upload(session, DType.FP32, ones, spec.weightShape());
             DeviceBuffer db = upload(session, DType.FP32, new double[]{1, 1, 1, 1}, spec.biasShape())) {
            ConvEngine e = ConvEngine.wrap(session);
            e.execute(Pass.BACKWARD_DATA, spec, ConvArgs.builder().dy(dy).w(w).dx(dx).build());
            e.execute(Pass.BACKWARD_WEIGHT, spec, ConvArgs.builder().x(x).dy(dy).dw(dw).build());
            e.execute(Pass.BACKWARD_BIAS, spec, ConvArgs.builder().dy(dy).db(db).build());
            assertArrayEquals(new double[4 * 3 * 9], download(session, dw), 0.0);
            assertArrayEquals(new double[4], download(session, db), 0.0);
            assertEquals("nothing to compute (batch 0)", session.lastAlgorithm());
        }
    }

    @Test
    void benchmarkModeTimesCandidatesOnceAndCachesTheChoice() {
        try (ConvBackend bench = new CudaBackendProvider().open(0, new CudaOptions(MathMode.FP32, false, CudaOptions.AlgoMode.BENCHMARK, 256L << 20))) {
            ConvSpec spec = ConvSpec.convolution().batch(8).channels(16, 32).input(32, 32).kernel(3).padding(1).build();
            Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, Pass.FORWARD, new Random(3));
            double[] want = CudnnPlanTest.Reference.run(spec, Pass.FORWARD, in);
            for (int i = 0; i < 2; i++) {
                double[] got = run(bench, spec, Pass.FORWARD, DType.FP32, in);
                for (int j = 0; j < want.length; j++) assertEquals(want[j], got[j], 1e-3 * (1 + Math.abs(want[j])));
            }
            assertEquals(1, ((CudaBackend) bench).algoCache().size());
            assertTrue(bench.lastAlgorithm().startsWith("cudnn fwd "), bench.lastAlgorithm());
        }
    }

    @Test
    void tf32IsUsedOnlyWhenAskedAndStaysWithinTf32Accuracy() {
        ConvSpec spec = ConvSpec.convolution().batch(4).channels(64, 64).input(16, 16).kernel(3).padding(1).build();
        Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, Pass.FORWARD, new Random(4));
        double[] want = CudnnPlanTest.Reference.run(spec, Pass.FORWARD, in);
        run(session, spec, Pass.FORWARD, DType.FP32, in);
        assertTrue(session.lastAlgorithm().contains("(fma,"), "FP32 exact ran " + session.lastAlgorithm());
        // TF32's error model, bounded by the sum of |terms| (a sum that cancels to a small result keeps the error of its
        // large terms). y = b + sum of K = 64 * 9 = 576 products x * w. Tensor cores take each FP32 input with a 10-bit
        // mantissa: unit roundoff 2^-11 when rounded to nearest; some paths truncate, error below 2^-10, which is what
        // we allow. A product of two such inputs is off by at most 2 * 2^-10 + 2^-20 of |x * w|. The products and the
        // bias are summed in FP32 (K + 1 additions, and the bias added by a separate FP32 add: K + 2 roundings of at most
        // 2^-24 each, first order, times 1.01 for the higher-order terms). So
        //   |got - want| <= (2^-9 + 2^-20) * sum|x * w| + (K + 2) * 2^-24 * 1.01 * (sum|x * w| + |b|) <= c * S,
        // S = sum|x * w| + |b| = the reference run on |inputs|, c = 2^-9 + 2^-20 + 578 * 1.01 * 2^-24.
        Map<Role, double[]> absIn = new EnumMap<>(Role.class);
        in.forEach((r, a) -> absIn.put(r, abs(a)));
        double[] scale = CudnnPlanTest.Reference.run(spec, Pass.FORWARD, absIn);
        double c = 0x1p-9 + 0x1p-20 + 578 * 1.01 * 0x1p-24;
        try (ConvBackend tf = new CudaBackendProvider().open(0, new CudaOptions(MathMode.TF32, false, CudaOptions.AlgoMode.HEURISTIC, 1L << 30))) {
            double[] got = run(tf, spec, Pass.FORWARD, DType.FP32, in);
            for (int j = 0; j < want.length; j++) assertEquals(want[j], got[j], c * scale[j], "[" + j + "] ran " + tf.lastAlgorithm());
        }
    }

    @Test
    void eventsTimeTheWorkQueuedOnTheSessionsStream() {
        ConvSpec spec = ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build();
        Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, Pass.FORWARD, new Random(5));
        CudaBackend c = (CudaBackend) session;
        c.context().makeCurrent();
        float ms = c.context().time(() -> run(session, spec, Pass.FORWARD, DType.FP32, in), spec.toString());
        assertTrue(ms > 0 && ms < 60_000, ms + " ms");
    }

    @Test
    void aBufferOfAnotherSessionIsRefusedByTheBackendItself() {
        try (ConvBackend other = new CudaBackendProvider().open(0, CudaOptions.defaults())) {
            ConvSpec spec = CudnnPlanTest.specs().get(2);
            try (DeviceBuffer x = other.allocate(DType.FP32, spec.inputShape());
                 DeviceBuffer w = session.allocate(DType.FP32, spec.weightShape());
                 DeviceBuffer b = session.allocate(DType.FP32, spec.biasShape());
                 DeviceBuffer y = session.allocate(DType.FP32, spec.outputShape())) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> session.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(w).b(b).y(y).build()));
                assertTrue(e.getMessage().startsWith("x = "), e.getMessage());
            }
        }
    }

    @Test
    void closedBuffersAreFreedAndCounted() {
        long before = session.tracker().liveBuffers();
        long bytesBefore = session.tracker().liveBytes();
        DeviceBuffer b = session.allocate(DType.FP16, Shape.of(3, 5));
        assertEquals(before + 1, session.tracker().liveBuffers());
        assertEquals(bytesBefore + 30, session.tracker().liveBytes(), "15 FP16 values");
        b.close();
        assertEquals(before, session.tracker().liveBuffers());
        assertEquals(bytesBefore, session.tracker().liveBytes());
        assertInstanceOf(IllegalStateException.class, assertThrows(RuntimeException.class, () -> session.download(b, 0, new float[1], 0, 1)));
    }
}
