package io.github.jconv.plan;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.plan.DeformablePlan.DeviceKind;
import io.github.jconv.plan.DeformablePlan.GemmThreshold;
import io.github.jconv.plan.DeformablePlan.InputGradient;
import io.github.jconv.plan.DeformablePlan.Route;
import io.github.jconv.plan.DeformablePlan.Target;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeformablePlanTest {
    /** D1 of docs/bench-problems.md: dg1msk1g1mb8ic128ih28iw28oc128kh3kw3ph1pw1. */
    static final ConvSpec D1 = ConvSpec.parse("dg1msk1g1mb8ic128ih28iw28oc128kh3kw3ph1pw1");
    /** D1's column per item: 128 channels * 9 taps * 28*28 positions = 903168 elements, 3612672 FP32 bytes. */
    static final long D1_ITEM = 128L * 9 * 28 * 28;

    static Target gpu(boolean det, long budget) {
        return new Target(DeviceKind.GPU, det, true, budget, Integer.MAX_VALUE);
    }

    @Test
    void d1RunsAsOneChunkOfColumnsAndAGemm() {
        assertEquals(903168, D1_ITEM);
        assertEquals(D1_ITEM, DeformablePlan.columnElementsPerItem(D1));
        for (Pass p : new Pass[]{Pass.FORWARD, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_DATA, Pass.BACKWARD_OFFSET_MASK}) {
            DeformablePlan plan = DeformablePlan.of(D1, p, DType.FP32, Target.gpu(true));
            // 256 MiB / 3612672 bytes = 74 items fit; the batch has 8
            assertEquals(Route.COLUMNS_GEMM, plan.route(), p.toString());
            assertEquals(8, plan.chunkItems(), p.toString());
            assertEquals(8 * D1_ITEM, plan.columnElements(), p.toString());
            assertEquals(1, plan.chunks(8));
        }
    }

    @Test
    void chunksKeepTheColumnUnderTheBudgetButNeverBelowOneItem() {
        long itemBytes = D1_ITEM * 4;
        DeformablePlan three = DeformablePlan.of(D1, Pass.FORWARD, DType.FP32, gpu(true, 3 * itemBytes + itemBytes - 1));
        assertEquals(3, three.chunkItems());
        assertEquals(3, three.chunks(8)); // 3 + 3 + 2
        assertEquals(3 * D1_ITEM, three.columnElements());
        DeformablePlan fp64 = DeformablePlan.of(D1, Pass.FORWARD, DType.FP64, gpu(true, 3 * itemBytes)); // 8-byte elements: 1.5 items
        assertEquals(1, fp64.chunkItems());
        assertEquals(8, fp64.chunks(8));
        DeformablePlan none = DeformablePlan.of(D1, Pass.BACKWARD_WEIGHT, DType.FP32, gpu(true, 0));
        assertEquals(Route.COLUMNS_GEMM, none.route());
        assertEquals(1, none.chunkItems());
    }

    @Test
    void theGemmOperandLimitCapsTheChunkAndSendsOversizedItemsDirect() {
        // the limit holds two items' columns but not three, however large the byte budget
        DeformablePlan two = DeformablePlan.of(D1, Pass.FORWARD, DType.FP32,
                new Target(DeviceKind.GPU, true, true, Long.MAX_VALUE, 3 * D1_ITEM - 1));
        assertEquals(2, two.chunkItems());
        DeformablePlan over = DeformablePlan.of(D1, Pass.FORWARD, DType.FP32,
                new Target(DeviceKind.GPU, true, true, Long.MAX_VALUE, D1_ITEM - 1));
        assertEquals(Route.DIRECT, over.route());
        assertEquals(8, over.chunkItems(), "direct forward takes the whole batch");
        assertEquals(0, over.columnElements(), "direct forward uses no column");
        assertTrue(over.reason().contains("903168"), over.reason());
    }

    @Test
    void theOutputAndWeightMustFitTheGemmToo() {
        // C 2 -> K 64 with a 1x1 kernel on 10x10: column 2 * 1 * 100 = 200 elements per item, output 64 * 100 = 6400
        ConvSpec wide = ConvSpec.deformable().batch(4).channels(2, 64).input(10, 10).kernel(1).build();
        assertEquals(200, DeformablePlan.columnElementsPerItem(wide));
        DeformablePlan two = DeformablePlan.of(wide, Pass.FORWARD, DType.FP32, new Target(DeviceKind.GPU, true, true, Long.MAX_VALUE, 12800));
        assertEquals(Route.COLUMNS_GEMM, two.route());
        assertEquals(2, two.chunkItems(), "12800 / 6400: two items' outputs fit, though 64 items' columns would");
        DeformablePlan none = DeformablePlan.of(wide, Pass.FORWARD, DType.FP32, new Target(DeviceKind.GPU, true, true, Long.MAX_VALUE, 6399));
        assertEquals(Route.DIRECT, none.route());
        assertTrue(none.reason().contains("output has 6400"), none.reason());
        // weight 64 * 2 * 1 * 1 = 128 elements
        DeformablePlan w = DeformablePlan.of(ConvSpec.deformable().batch(1).channels(2, 64).input(1, 1).kernel(1).build(), Pass.FORWARD,
                DType.FP32, new Target(DeviceKind.GPU, true, true, Long.MAX_VALUE, 127));
        assertEquals(Route.DIRECT, w.route());
        assertTrue(w.reason().contains("weight has 128"), w.reason());
    }

    @Test
    void inputGradientScatterFollowsDeviceDeterminismAndDtype() {
        assertEquals(InputGradient.ROWS, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, Target.gpu(true)).inputGradient());
        assertEquals(InputGradient.ATOMIC_SCATTER, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, Target.gpu(false)).inputGradient());
        assertEquals(InputGradient.ATOMIC_SCATTER, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP64, Target.gpu(false)).inputGradient());
        // no exact 16-bit atomic scatter: rows, which are deterministic anyway
        assertEquals(InputGradient.ROWS, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP16, Target.gpu(false)).inputGradient());
        assertEquals(InputGradient.ROWS, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.BF16, Target.gpu(false)).inputGradient());
        for (boolean det : new boolean[]{true, false}) {
            Target cpu = new Target(DeviceKind.CPU, det, false, DeformablePlan.DEFAULT_COLUMN_BUDGET, Integer.MAX_VALUE);
            DeformablePlan p = DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, cpu);
            assertEquals(InputGradient.PLANES, p.inputGradient());
            assertEquals(Route.DIRECT, p.route());
            assertEquals(8, p.chunkItems(), "the direct column gradient still chunks by the budget: 74 items fit");
        }
        for (Pass p : new Pass[]{Pass.FORWARD, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK, Pass.BACKWARD_BIAS}) {
            assertEquals(InputGradient.NONE, DeformablePlan.of(D1, p, DType.FP32, Target.gpu(false)).inputGradient(), p.toString());
            assertTrue(DeformablePlan.of(D1, p, DType.FP32, Target.gpu(false)).deterministic(), p.toString());
        }
        assertFalse(DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, Target.gpu(false)).deterministic());
        assertTrue(DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, Target.gpu(true)).deterministic());
    }

    @Test
    void withoutAGemmEverythingRunsDirect() {
        Target noGemm = new Target(DeviceKind.GPU, true, false, 4 * D1_ITEM * 3, Integer.MAX_VALUE);
        DeformablePlan f = DeformablePlan.of(D1, Pass.FORWARD, DType.FP32, noGemm);
        assertEquals(Route.DIRECT, f.route());
        assertEquals(8, f.chunkItems());
        assertEquals(0, f.columnElements());
        DeformablePlan om = DeformablePlan.of(D1, Pass.BACKWARD_OFFSET_MASK, DType.FP32, noGemm);
        assertEquals(Route.DIRECT, om.route());
        assertEquals(3, om.chunkItems(), "the column gradient's buffer: 3 items fit");
        assertEquals(3 * D1_ITEM, om.columnElements());
        assertTrue(f.reason().contains("no GEMM"), f.reason());
    }

    @Test
    void biasGradientAndEmptyBatchesNeedNoColumn() {
        DeformablePlan b = DeformablePlan.of(D1, Pass.BACKWARD_BIAS, DType.FP32, Target.gpu(true));
        assertEquals(Route.DIRECT, b.route());
        assertEquals(0, b.columnElements());
        ConvSpec empty = D1.toBuilder().batch(0).build();
        for (Pass p : Pass.values()) {
            DeformablePlan e = DeformablePlan.of(empty, p, DType.FP32, Target.gpu(true));
            assertEquals(Route.DIRECT, e.route(), p.toString());
            assertEquals(0, e.columnElements(), p.toString());
            assertEquals(0, e.chunks(0), p.toString());
        }
    }

    @Test
    void theDirectFallbackKeepsTheScatterAndTheColumnChunks() {
        long itemBytes = D1_ITEM * 4;
        DeformablePlan data = DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, gpu(false, 2 * itemBytes));
        DeformablePlan d = data.direct(D1, "cuDNN refused");
        assertEquals(Route.DIRECT, d.route());
        assertEquals(InputGradient.ATOMIC_SCATTER, d.inputGradient());
        assertEquals(2, d.chunkItems());
        assertEquals(2 * D1_ITEM, d.columnElements());
        assertTrue(d.reason().startsWith("direct kernels: cuDNN refused"), d.reason());
        assertTrue(d.reason().contains("atomic"), d.reason());
        DeformablePlan fwd = DeformablePlan.of(D1, Pass.FORWARD, DType.FP32, gpu(true, 2 * itemBytes)).direct(D1, "x");
        assertEquals(8, fwd.chunkItems(), "direct forward: the whole batch");
        assertEquals(0, fwd.columnElements());
    }

    @Test
    void groupsAndOffsetGroupsDoNotChangeTheColumnSize() {
        // column per item: C * KH*KW * OH*OW = 8 * 6 * (8 * 7) = 2688, whatever the groups and offset groups
        ConvSpec s = ConvSpec.deformable().batch(5).channels(8, 6).groups(2).offsetGroups(4).input(9, 13).kernel(2, 3)
                .stride(1, 2).padding(0, 1).mask(false).build();
        assertEquals(8, s.output(0)); // (9 - 2) / 1 + 1
        assertEquals(7, s.output(1)); // (13 + 2 - 3) / 2 + 1
        assertEquals(8L * 6 * 8 * 7, DeformablePlan.columnElementsPerItem(s));
        DeformablePlan p = DeformablePlan.of(s, Pass.FORWARD, DType.FP64, gpu(true, 2L * 8 * 6 * 8 * 7 * 8));
        assertEquals(2, p.chunkItems());
        assertEquals(3, p.chunks(5));
    }

    /** An OpenCL-like target: gemm.cl worth it from 2^20 multiply-adds and 32 rows a side, no atomic scatter. */
    static Target gemmCl(DeviceKind kind, long budget, long maxBuffer, InputGradient scatter) {
        return new Target(kind, true, true, budget, Integer.MAX_VALUE, maxBuffer, new GemmThreshold(1L << 20, 32), false, scatter);
    }

    @Test
    void theFiveFactConstructorIsTheFirstPlansTarget() {
        Target t = new Target(DeviceKind.GPU, false, true, 100, 50);
        assertEquals(new Target(DeviceKind.GPU, false, true, 100, 50, Long.MAX_VALUE, GemmThreshold.ALWAYS, true, null), t);
    }

    @Test
    void aGemmThresholdSendsSmallOrNarrowProblemsDirect() {
        Target t = gemmCl(DeviceKind.CPU, DeformablePlan.DEFAULT_COLUMN_BUDGET, Long.MAX_VALUE, null);
        // D1: 128 x 1152 per group, 8*128*784*128*9 = 924844032 multiply-adds: the GEMM everywhere
        for (Pass p : new Pass[]{Pass.FORWARD, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_DATA, Pass.BACKWARD_OFFSET_MASK}) {
            assertEquals(Route.COLUMNS_GEMM, DeformablePlan.of(D1, p, DType.FP32, t).route(), p.toString());
        }
        // 4 -> 4 channels, 3x3: 4 x 36 per group, under 32 rows on the K/G side
        ConvSpec narrow = ConvSpec.deformable().batch(64).channels(4, 4).input(64, 64).kernel(3).padding(1).build();
        DeformablePlan n = DeformablePlan.of(narrow, Pass.FORWARD, DType.FP32, t);
        assertEquals(Route.DIRECT, n.route());
        assertEquals(0, n.columnElements());
        assertTrue(n.reason().contains("4 x 36") && n.reason().contains("under 32"), n.reason());
        // the weight gradient needs 32 / 4 = 8 rows a side: 8 -> 8 channels 1x1 is 8 x 8;
        // 4 items of 64x64: 4*8*4096*8 = 1048576 = 2^20 multiply-adds, just enough
        ConvSpec eight = ConvSpec.deformable().batch(4).channels(8, 8).input(64, 64).kernel(1).build();
        assertEquals(Route.COLUMNS_GEMM, DeformablePlan.of(eight, Pass.BACKWARD_WEIGHT, DType.FP32, t).route());
        assertEquals(Route.DIRECT, DeformablePlan.of(eight, Pass.FORWARD, DType.FP32, t).route());
        assertEquals(Route.DIRECT, DeformablePlan.of(eight, Pass.BACKWARD_OFFSET_MASK, DType.FP32, t).route());
        // 64x63: 4*8*4032*8 = 1032192 multiply-adds, under 2^20
        ConvSpec fewer = ConvSpec.deformable().batch(4).channels(8, 8).input(64, 63).kernel(1).build();
        DeformablePlan w = DeformablePlan.of(fewer, Pass.BACKWARD_WEIGHT, DType.FP32, t);
        assertEquals(Route.DIRECT, w.route());
        assertTrue(w.reason().contains("1032192 multiply-adds"), w.reason());
        // groups: 64 -> 64 channels in 4 groups is 16 x 144 per group, narrow however large
        ConvSpec grouped = ConvSpec.deformable().batch(8).channels(64, 64).groups(4).input(32, 32).kernel(3).padding(1).build();
        assertEquals(Route.DIRECT, DeformablePlan.of(grouped, Pass.FORWARD, DType.FP32, t).route());
        // with the threshold ALWAYS (cuDNN, or gemm forced) the narrow problem takes the GEMM
        assertEquals(Route.COLUMNS_GEMM, DeformablePlan.of(narrow, Pass.FORWARD, DType.FP32, Target.gpu(true)).route());
    }

    @Test
    void theLargestBufferCapsTheChunkAndAnItemOverItLeavesTheGemm() {
        long itemBytes = D1_ITEM * 4;
        DeformablePlan two = DeformablePlan.of(D1, Pass.FORWARD, DType.FP32,
                gemmCl(DeviceKind.CPU, DeformablePlan.DEFAULT_COLUMN_BUDGET, 2 * itemBytes + 1, null));
        assertEquals(2, two.chunkItems(), "the budget holds 74 items, the largest buffer 2");
        assertEquals(4, two.chunks(8));
        DeformablePlan over = DeformablePlan.of(D1, Pass.BACKWARD_WEIGHT, DType.FP32,
                gemmCl(DeviceKind.CPU, DeformablePlan.DEFAULT_COLUMN_BUDGET, itemBytes - 1, null));
        assertEquals(Route.DIRECT, over.route());
        assertTrue(over.reason().contains("3612672 bytes, over the device's largest buffer of 3612671"), over.reason());
        // the cuda-style target has no such limit: 3612672 bytes are fine
        assertEquals(Route.COLUMNS_GEMM, DeformablePlan.of(D1, Pass.BACKWARD_WEIGHT, DType.FP32, Target.gpu(true)).route());
    }

    @Test
    void theScatterFollowsTheDeviceUnlessForcedAndAtomicsOnlyWhereTheKernelExists() {
        long budget = DeformablePlan.DEFAULT_COLUMN_BUDGET;
        assertEquals(InputGradient.PLANES, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32,
                gemmCl(DeviceKind.CPU, budget, Long.MAX_VALUE, null)).inputGradient());
        assertEquals(InputGradient.ROWS, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32,
                gemmCl(DeviceKind.GPU, budget, Long.MAX_VALUE, null)).inputGradient());
        DeformablePlan forced = DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, gemmCl(DeviceKind.CPU, budget, Long.MAX_VALUE, InputGradient.ROWS));
        assertEquals(InputGradient.ROWS, forced.inputGradient());
        assertTrue(forced.reason().endsWith("input gradient by image rows (asked for)"), forced.reason());
        assertEquals(InputGradient.PLANES, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32,
                gemmCl(DeviceKind.GPU, budget, Long.MAX_VALUE, InputGradient.PLANES)).inputGradient());
        // not deterministic, but no atomic kernel: rows, and the reason says why
        Target noAtomics = new Target(DeviceKind.GPU, false, true, budget, Integer.MAX_VALUE, Long.MAX_VALUE, GemmThreshold.ALWAYS, false, null);
        DeformablePlan r = DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, noAtomics);
        assertEquals(InputGradient.ROWS, r.inputGradient());
        assertTrue(r.reason().endsWith("(the backend has no atomic scatter)"), r.reason());
        // atomics forced: FP32 gets them, FP16 has no exact atomic add and gets rows
        Target atomics = new Target(DeviceKind.CPU, false, true, budget, Integer.MAX_VALUE, Long.MAX_VALUE, GemmThreshold.ALWAYS, true,
                InputGradient.ATOMIC_SCATTER);
        assertEquals(InputGradient.ATOMIC_SCATTER, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP32, atomics).inputGradient());
        assertEquals(InputGradient.ROWS, DeformablePlan.of(D1, Pass.BACKWARD_DATA, DType.FP16, atomics).inputGradient());
        // a forced scatter does not touch the other passes
        assertEquals(InputGradient.NONE, DeformablePlan.of(D1, Pass.BACKWARD_OFFSET_MASK, DType.FP32, atomics).inputGradient());
    }

    @Test
    void aTargetThatCannotBeIsRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, false, true, 10, 10, Long.MAX_VALUE,
                GemmThreshold.ALWAYS, false, InputGradient.ATOMIC_SCATTER)).getMessage().startsWith("scatter = ATOMIC_SCATTER"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, true, true, 10, 10, Long.MAX_VALUE,
                GemmThreshold.ALWAYS, true, InputGradient.ATOMIC_SCATTER)).getMessage().contains("deterministic = false (is true)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, true, true, 10, 10, Long.MAX_VALUE,
                GemmThreshold.ALWAYS, false, InputGradient.NONE)).getMessage().startsWith("scatter = NONE"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, true, true, 10, 10, 0,
                GemmThreshold.ALWAYS, false, null)).getMessage().startsWith("maxBufferBytes = 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, true, true, 10, 10, 10,
                null, false, null)).getMessage().startsWith("gemmThreshold = null"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GemmThreshold(-1, 0)).getMessage().startsWith("minMacs = -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GemmThreshold(0, -2)).getMessage().startsWith("minRows = -2"));
    }

    @Test
    void badInputNamesTheParameter() {
        ConvSpec conv = ConvSpec.convolution().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeformablePlan.of(conv, Pass.FORWARD, DType.FP32, Target.gpu(true)));
        assertTrue(e.getMessage().startsWith("spec = "), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeformablePlan.of(D1, null, DType.FP32, Target.gpu(true)))
                .getMessage().startsWith("pass = null"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeformablePlan.of(D1, Pass.FORWARD, null, Target.gpu(true)))
                .getMessage().startsWith("dtype = null"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DeformablePlan.of(D1, Pass.FORWARD, DType.FP32, null))
                .getMessage().startsWith("target = null"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, true, true, -1, 10))
                .getMessage().startsWith("columnBudget = -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(DeviceKind.GPU, true, true, 10, 0))
                .getMessage().startsWith("gemmMaxElements = 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Target(null, true, true, 10, 10))
                .getMessage().startsWith("kind = null"));
    }
}
