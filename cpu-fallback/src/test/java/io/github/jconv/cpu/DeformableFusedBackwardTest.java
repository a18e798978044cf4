package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every gradient of a deformable layer in one {@link ConvEngine#executeAll} call, where the CPU backend forms the data
 * and offset/mask gradients from one column gradient Wᵀ·dY (channels last where an offset group fits, else channels
 * first): the same bits as the passes one by one, on 1, 2 and 3 threads, FP32 and FP64. The passes one by one are
 * checked against the FP64 reference by the conformance suite (and {@code DeformableConformanceTest}).
 */
class DeformableFusedBackwardTest {
    static ConvEngine one, two, three;
    static final Set<Pass> ALL = EnumSet.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK);

    @BeforeAll
    static void open() {
        one = ConvEngine.open(new CpuBackendProvider(1), 0);
        two = ConvEngine.open(new CpuBackendProvider(2), 0);
        three = ConvEngine.open(new CpuBackendProvider(3), 0);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
    }

    @ParameterizedTest
    @CsvSource({
            // line, runs channels last (one offset group within one group, its input within the budget)
            "dg1msk1mb4ic16ih9oc12kh3ph1, true",
            "dg2msk1mb4ic8ih10oc12kh3ph1, true",
            "g2dg2mb4ic8ih9oc6kh3sh2ph1, true",
            "dg1msk1mb2ic5ih11oc7kh3dh2dw2ph2pw2, true",
            // an offset group spanning two groups: channels first
            "g2dg1mb4ic8ih9oc6kh3sh2ph1, false",
            // 16 channels × 260 × 260 pixels is over the 2^20 elements of the channels-last budget: channels first
            "dg1msk1mb2ic16ih260iw260oc2kh3ph1, false",
    })
    void oneCallGivesTheBitsOfThePassesOneByOne(String line, boolean channelsLast) {
        ConvSpec spec = ConvSpec.parse(line);
        assertEquals(channelsLast, FloatDeformablePasses.channelsLast(Geometry.of(spec)), line + ": the path this case is meant to cover");
        PassRunner runner = new PassRunner(spec, 7, 2.5);
        double[] off = runner.inputs.get(Role.OFFSET);
        off[3] = Double.NaN; // a NaN position: its sample, its slopes and its mask gradient are NaN, and dx is untouched there
        off[off.length / 2] = 1e9; // far outside: every corner outside
        for (DType dtype : new DType[]{DType.FP32, DType.FP64}) {
            Map<Role, double[]> separate = new java.util.EnumMap<>(Role.class);
            for (Pass p : ALL) separate.putAll(runner.run(one, p, dtype));
            for (ConvEngine e : new ConvEngine[]{one, two, three}) {
                Map<Role, double[]> fused = runner.runAll(e, ALL, dtype);
                assertEquals(separate.keySet(), fused.keySet());
                int threads = ((CpuBackend) e.backend()).threads();
                for (Role r : separate.keySet()) {
                    assertArrayEquals(separate.get(r), fused.get(r), line + " " + dtype + " " + r.label() + " on " + threads + " threads");
                }
            }
        }
    }

    @Test
    void theAlgorithmSaysWhenTheGradientsShareTheirColumnGradient() {
        ConvSpec four = ConvSpec.parse("dg1msk1mb4ic8ih9oc6kh3ph1");
        new PassRunner(four, 1, 2.5).runAll(two, ALL, DType.FP32);
        String fused = two.lastAlgorithm();
        assertTrue(fused.contains("deformable-im2col+gemm") && fused.contains("one Wᵀ·dY"), fused);
        // one image on two threads: one task would idle a worker, so the passes run one after the other (same bits)
        ConvSpec single = four.toBuilder().batch(1).build();
        assertFalse(FloatDeformablePasses.fuseBackward(Geometry.of(single), 2));
        new PassRunner(single, 1, 2.5).runAll(two, ALL, DType.FP32);
        assertFalse(two.lastAlgorithm().contains("one Wᵀ·dY"), two.lastAlgorithm());
        assertTrue(FloatDeformablePasses.fuseBackward(Geometry.of(single), 1));
    }

    @ParameterizedTest
    @CsvSource({
            "dg1msk1mb4ic16ih9oc12kh3ph1",
            "dg2msk1mb3ic8ih10oc12kh3ph1",
            "g2dg2mb4ic8ih9oc6kh3sh2ph1",
            "dg1msk1mb2ic5ih11oc7kh3dh2dw2ph2pw2",
            "dg1msk1mb5ic96ih12oc8kh3ph1",
    })
    void theChannelsLastWeightGradientHasTheBitsOfTheChannelsFirstOne(String line) {
        ConvSpec spec = ConvSpec.parse(line);
        Geometry g = Geometry.of(spec);
        assertTrue(FloatDeformablePasses.channelsLast(g), line);
        PassRunner runner = new PassRunner(spec, 11, 2.5);
        float[] x = PassRunner.toFloat(runner.inputs.get(Role.X)), dy = PassRunner.toFloat(runner.inputs.get(Role.DY));
        float[] off = PassRunner.toFloat(runner.inputs.get(Role.OFFSET)), mask = PassRunner.toFloat(runner.inputs.get(Role.MASK));
        off[1] = Float.NaN;
        for (int threads : new int[]{1, 2, 3}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                float[] first = new float[g.k * g.rows], last = new float[g.k * g.rows];
                java.util.Arrays.fill(last, Float.NaN); // every element is written
                FloatDeformablePasses.deformableBackwardWeight(g, x, off, spec.modulated() ? mask : null, dy, first, pool, false);
                FloatDeformablePasses.deformableBackwardWeight(g, x, off, spec.modulated() ? mask : null, dy, last, pool, true);
                assertArrayEquals(first, last, line + " FP32 on " + threads + " threads");
                double[] firstD = new double[g.k * g.rows], lastD = new double[g.k * g.rows];
                double[] xd = runner.inputs.get(Role.X), dyd = runner.inputs.get(Role.DY), offd = runner.inputs.get(Role.OFFSET).clone();
                offd[1] = Double.NaN;
                double[] maskd = spec.modulated() ? runner.inputs.get(Role.MASK) : null;
                DoubleDeformablePasses.deformableBackwardWeight(g, xd, offd, maskd, dyd, firstD, pool, false);
                DoubleDeformablePasses.deformableBackwardWeight(g, xd, offd, maskd, dyd, lastD, pool, true);
                assertArrayEquals(firstD, lastD, line + " FP64 on " + threads + " threads");
            }
        }
    }

    @Test
    void stagedOutputsOfWrappedMemoryAreWrittenBackAfterTheCall() {
        // the caller's arrays at an offset are staged (copied in before, out after): every output of the call comes back
        ConvSpec spec = ConvSpec.parse("dg1msk1mb4ic8ih9oc6kh3ph1");
        PassRunner runner = new PassRunner(spec, 3, 2.5);
        Map<Role, double[]> want = new java.util.EnumMap<>(Role.class);
        for (Pass p : ALL) want.putAll(runner.run(two, p, DType.FP32));
        java.util.List<io.github.jconv.DeviceBuffer> open = new java.util.ArrayList<>();
        Map<Role, float[]> memory = new java.util.EnumMap<>(Role.class);
        try {
            io.github.jconv.ConvArgs.Builder b = io.github.jconv.ConvArgs.builder();
            for (Role r : new Role[]{Role.X, Role.W, Role.DY, Role.OFFSET, Role.MASK}) {
                io.github.jconv.DeviceBuffer buf = two.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(r)), r.shapeFor(spec));
                open.add(buf);
                b.put(r, buf);
            }
            for (Role r : new Role[]{Role.DX, Role.DW, Role.DOFFSET, Role.DMASK}) {
                float[] mem = new float[3 + (int) r.shapeFor(spec).elementCount()];
                java.util.Arrays.fill(mem, Float.NaN);
                memory.put(r, mem);
                io.github.jconv.DeviceBuffer buf = two.wrap(mem, 3, r.shapeFor(spec));
                open.add(buf);
                b.put(r, buf);
            }
            two.executeAll(ALL, spec, b.build());
        } finally {
            open.forEach(io.github.jconv.DeviceBuffer::close);
        }
        for (Role r : memory.keySet()) {
            float[] mem = memory.get(r);
            assertTrue(Float.isNaN(mem[0]) && Float.isNaN(mem[2]), r.label() + ": the caller's memory before the offset is untouched");
            double[] got = PassRunner.toDouble(java.util.Arrays.copyOfRange(mem, 3, mem.length));
            assertArrayEquals(want.get(r), got, r.label());
        }
    }
}
