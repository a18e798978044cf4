package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.plan.DeformablePlan;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The deformable family without a GPU ({@link DeformableSteps}, {@link DeformableFamily}): the 1x1 GEMM's shapes against the column and weight layouts, the steps
 * of each route and scatter with their bindings (the kernels' argument types are checked against the PTX in
 * {@link PtxBuildTest}), the mode switch, which failures fall back to the direct route, and the label.
 */
class DeformableRunnerTest {
    /** batch 5, C 4 -> K 6, groups 2, offset groups 2, 7x6 input, 3x3 kernel, padding 1: output 7x6, 42 positions. */
    static final ConvSpec S = ConvSpec.deformable().batch(5).channels(4, 6).groups(2).input(7, 6).kernel(3).padding(1)
            .offsetGroups(2).mask(true).build();
    /** S's column per item: 4 channels * 9 taps * 42 positions. */
    static final long ITEM = 4L * 9 * 42;
    /** y / dy per item: 6 channels * 42 positions; x / dx per item: 4 channels * 42 pixels. */
    static final long Y_ITEM = 6L * 42, X_ITEM = 4L * 42;

    static final DeformableSteps.Binder NAMES = (r, e) -> e == 0 ? r : r + "@" + e;

    static DeformablePlan plan(Pass p, boolean det, long budgetItems) {
        return DeformablePlan.of(S, p, DType.FP32, new DeformablePlan.Target(DeformablePlan.DeviceKind.GPU, det, true,
                budgetItems * ITEM * 4, Integer.MAX_VALUE));
    }

    /**
     * Each pass's steps ask only for the buffers that pass is given (Pass.inputs and outputs): backward data has no
     * x, backward bias neither x nor offsets. The first H200 run of this runner failed every backward-data and
     * backward-bias call with "no x buffer bound", because the steps bound x for every pass.
     */
    @Test
    void everyPassBindsOnlyTheBuffersThePassIsGiven() {
        for (Pass pass : List.of(Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_BIAS, Pass.BACKWARD_OFFSET_MASK)) {
            java.util.Set<Role> given = java.util.EnumSet.noneOf(Role.class);
            given.addAll(pass.inputs(S));
            given.addAll(pass.outputs(S));
            DeformableSteps.Binder only = (r, e) -> {
                if (!given.contains(r)) throw new IllegalStateException(pass + " asked for " + r + ", which it is not given");
                return NAMES.at(r, e);
            };
            for (boolean det : new boolean[] {true, false}) {
                DeformablePlan columns = plan(pass, det, 2);
                for (DeformablePlan p : List.of(columns, columns.direct(S, "test"))) {
                    List<DeformableSteps.Step> st = DeformableSteps.steps(p, S, 132, only, "col", 0, 2);
                    assertFalse(st.isEmpty(), pass + " " + p.route());
                }
            }
        }
    }

    @Test
    void theGemmIsA1x1ConvolutionOverTheColumnWithTheDeformableWeightsMemory() {
        ConvSpec g = DeformableSteps.gemmSpec(S, 2, true);
        assertEquals(Shape.of(2, 36, 7, 6), g.inputShape(), "[items, C*KH*KW, OH, OW]: the column buffer");
        assertEquals(Shape.of(6, 18, 1, 1), g.weightShape(), "[K, C/G*KH*KW, 1, 1]");
        assertEquals(S.weightShape().elementCount(), g.weightShape().elementCount(), "the same memory as [K, C/G, KH, KW]");
        assertEquals(Shape.of(2, 6, 7, 6), g.outputShape(), "[items, K, OH, OW]: y's rows of those items");
        assertEquals(2, g.groups());
        assertTrue(g.bias());
        assertEquals(2 * ITEM, g.inputShape().elementCount());
        assertFalse(DeformableSteps.gemmSpec(S, 1, false).bias());
    }

    @Test
    void forwardChunksSampleThenMultiplyIntoTheirOwnRowsOfY() {
        DeformablePlan p = plan(Pass.FORWARD, true, 2);
        assertEquals(2, p.chunkItems());
        assertEquals(3, DeformableSteps.chunks(p, S)); // 2 + 2 + 1
        List<DeformableSteps.Step> st = DeformableSteps.steps(p, S, 132, NAMES, "col", 4, 1);
        assertEquals(2, st.size());
        KernelLaunch.Launch im = assertInstanceOf(KernelLaunch.Launch.class, st.get(0));
        assertEquals("deform_im2col", im.kernel());
        assertEquals(List.of(Role.X, Role.OFFSET, Role.MASK, 1, "col"), List.of(im.args()).subList(0, 5));
        assertEquals(List.of(4, ITEM), List.of(im.args()).subList(22, 24), "n0 = 4, total = 1 item's column");
        DeformableSteps.Gemm g = assertInstanceOf(DeformableSteps.Gemm.class, st.get(1));
        assertEquals(Pass.FORWARD, g.pass());
        assertEquals(Map.of(Role.X, "col", Role.W, Role.W, Role.B, Role.B, Role.Y, "Y@" + 4 * Y_ITEM), g.bind());
        assertEquals(DeformableSteps.gemmSpec(S, 1, true), g.spec());
        assertFalse(g.accumulate());
    }

    @Test
    void weightGradientChunksAddIntoDwAfterTheFirst() {
        DeformablePlan p = plan(Pass.BACKWARD_WEIGHT, true, 2);
        for (int n0 : new int[]{0, 2, 4}) {
            List<DeformableSteps.Step> st = DeformableSteps.steps(p, S, 132, NAMES, "col", n0, Math.min(2, 5 - n0));
            assertEquals("deform_im2col", ((KernelLaunch.Launch) st.get(0)).kernel());
            DeformableSteps.Gemm g = (DeformableSteps.Gemm) st.get(1);
            assertEquals(Pass.BACKWARD_WEIGHT, g.pass());
            assertEquals(n0 > 0, g.accumulate(), "beta = 1 exactly after the first chunk, n0 = " + n0);
            assertEquals(n0 == 0 ? Role.DY : "DY@" + n0 * Y_ITEM, g.bind().get(Role.DY));
            assertEquals(Role.DW, g.bind().get(Role.DW));
            assertEquals("col", g.bind().get(Role.X));
            assertFalse(g.spec().bias());
        }
    }

    @Test
    void inputGradientIsTheGemmsColumnGradientThenRowsOrAnAtomicScatter() {
        List<DeformableSteps.Step> rows = DeformableSteps.steps(plan(Pass.BACKWARD_DATA, true, 2), S, 132, NAMES, "col", 2, 2);
        DeformableSteps.Gemm g = (DeformableSteps.Gemm) rows.get(0);
        assertEquals(Pass.BACKWARD_DATA, g.pass());
        assertEquals(Map.of(Role.DY, "DY@" + 2 * Y_ITEM, Role.W, Role.W, Role.DX, "col"), g.bind(), "col = W^T dy of items 2, 3");
        KernelLaunch.Launch r = (KernelLaunch.Launch) rows.get(1);
        assertEquals("deform_input_grad_rows", r.kernel());
        assertEquals(List.of("col", Role.OFFSET, Role.MASK, 1, Role.DX), List.of(r.args()).subList(0, 5));
        assertEquals(List.of(2, 2L * 4 * 7), List.of(r.args()).subList(22, 24), "n0 = 2, one thread per (item, channel, row)");
        assertEquals(2, rows.size());

        List<DeformableSteps.Step> atomic = DeformableSteps.steps(plan(Pass.BACKWARD_DATA, false, 2), S, 132, NAMES, "col", 2, 2);
        assertEquals(3, atomic.size());
        assertInstanceOf(DeformableSteps.Gemm.class, atomic.get(0));
        DeformableSteps.Zero z = assertInstanceOf(DeformableSteps.Zero.class, atomic.get(1));
        assertEquals("DX@" + 2 * X_ITEM, z.at(), "the chunk's own planes of dx are cleared before the scatter adds into them");
        assertEquals(2 * X_ITEM, z.elements());
        KernelLaunch.Launch a = (KernelLaunch.Launch) atomic.get(2);
        assertEquals("deform_col2im_atomic", a.kernel());
        assertEquals(List.of(2, 2 * ITEM), List.of(a.args()).subList(22, 24), "one thread per column element of the chunk");
    }

    @Test
    void offsetAndMaskGradientsReadTheGemmsColumnGradient() {
        List<DeformableSteps.Step> st = DeformableSteps.steps(plan(Pass.BACKWARD_OFFSET_MASK, true, 5), S, 132, NAMES, "col", 0, 5);
        assertEquals(Pass.BACKWARD_DATA, ((DeformableSteps.Gemm) st.get(0)).pass());
        KernelLaunch.Launch om = (KernelLaunch.Launch) st.get(1);
        assertEquals("deform_offset_mask_grad", om.kernel());
        assertEquals(List.of(Role.X, Role.OFFSET, Role.MASK, 1, "col", Role.DOFFSET, Role.DMASK), List.of(om.args()).subList(0, 7));
        assertEquals(5L * 2 * 9 * 42, om.args()[25], "one thread per (item, offset group, tap, position)");
    }

    @Test
    void directPassesWithoutAColumnRunOnceEvenForAnEmptyBatch() {
        ConvSpec empty = S.toBuilder().batch(0).build();
        for (Pass p : Pass.values()) {
            DeformablePlan plan = DeformablePlan.of(empty, p, DType.FP32, DeformablePlan.Target.gpu(true));
            boolean column = p == Pass.BACKWARD_DATA || p == Pass.BACKWARD_OFFSET_MASK;
            // the weight and bias gradients of no items are zeros: their reductions must still run and write them
            assertEquals(column ? 0 : 1, DeformableSteps.chunks(plan, empty), p.toString());
        }
    }

    @Test
    void theModeSwitchReadsPropertyThenEnvironment() {
        Properties none = new Properties();
        assertEquals(DeformableFamily.Mode.AUTO, DeformableFamily.mode(none, Map.of()));
        assertEquals(DeformableFamily.Mode.DIRECT, DeformableFamily.mode(none, Map.of(DeformableFamily.ENV, " Direct ")));
        Properties p = new Properties();
        p.setProperty(DeformableFamily.PROPERTY, "auto");
        assertEquals(DeformableFamily.Mode.AUTO, DeformableFamily.mode(p, Map.of(DeformableFamily.ENV, "direct")), "the property wins");
        p.setProperty(DeformableFamily.PROPERTY, "fast");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeformableFamily.mode(p, Map.of()));
        assertEquals("jconv.cuda.deformable = fast: must be auto or direct; e.g. auto", e.getMessage());
    }

    @Test
    void theTargetTakesTheSessionsDeterminismAndWorkspaceLimit() {
        DeformablePlan.Target t = DeformableFamily.target(new CudaOptions(MathMode.FP32, false, CudaOptions.AlgoMode.HEURISTIC, 4096),
                DeformableFamily.Mode.AUTO);
        assertFalse(t.deterministic());
        assertTrue(t.gemm());
        assertEquals(4096, t.columnBudget(), "a workspace limit under 256 MiB bounds the column");
        assertEquals(Integer.MAX_VALUE, t.gemmMaxElements());
        DeformablePlan.Target d = DeformableFamily.target(CudaOptions.defaults(), DeformableFamily.Mode.DIRECT);
        assertTrue(d.deterministic());
        assertFalse(d.gemm(), "direct mode offers the plan no GEMM");
        assertEquals(DeformablePlan.DEFAULT_COLUMN_BUDGET, d.columnBudget(), "1 GiB default limit: the 256 MiB budget");
    }

    @Test
    void onlyCudnnRefusalsAndOutOfMemoryFallBackToTheDirectRoute() {
        CudaException notSupported = CudaErrors.map(CudaStatus.Library.CUDNN, 3000, "cudnnConvolutionForward", "p", 0, null);
        assertTrue(DeformableFamily.refusal(notSupported).startsWith("cuDNN refused the 1x1 GEMM"));
        assertTrue(DeformableFamily.refusal(new UnsupportedOperationException("cuDNN has no algorithm")).contains("no algorithm"));
        CudaException oom = CudaErrors.map(CudaStatus.Library.DRIVER, 2, "cuMemAlloc", "p", 1 << 20, () -> 0);
        assertInstanceOf(CudaOutOfMemoryException.class, oom);
        assertTrue(DeformableFamily.refusal(oom).startsWith("out of memory"));
        assertNull(DeformableFamily.refusal(CudaErrors.map(CudaStatus.Library.CUDNN, 2000, "cudnnConvolutionForward", "p", 0, null)),
                "a bad parameter is a bug: it must surface");
        assertNull(DeformableFamily.refusal(CudaErrors.map(CudaStatus.Library.DRIVER, 700, "cuLaunchKernel", "p", 0, null)),
                "an illegal address poisons the session: it must surface");
        assertNull(DeformableFamily.refusal(new IllegalStateException("x")));
    }

    @Test
    void theLabelSaysWhichRouteAndScatterRan() {
        String gemm = DeformableFamily.label(plan(Pass.BACKWARD_DATA, false, 2), S, "cudnn bwd-data algo-1", 3);
        assertEquals("deformable input gradient: jconv im2col + cuDNN 1x1 GEMM (cudnn bwd-data algo-1), input scatter by atomics "
                + "(not deterministic), 3 chunk(s) of up to 2 item(s)", gemm);
        DeformablePlan direct = DeformablePlan.of(S, Pass.FORWARD, DType.FP32,
                DeformableFamily.target(CudaOptions.defaults(), DeformableFamily.Mode.DIRECT));
        assertEquals("deformable forward: jconv kernels, direct [direct kernels: the backend has no GEMM]",
                DeformableFamily.label(direct, S, null, 1));
    }

    /**
     * The 17 geometry ints (DGEOM in deformable.cl), now read from ConvGeometry, are the spec's numbers in the kernels'
     * order. N 2, C 4 -> K 6, groups 2, offset groups 2, 7x6, k 3x2, stride (2,1), padding (1,0), dilation (1,2):
     * out H = (7 + 2 - 1*(3-1) - 1)/2 + 1 = 4, W = (6 + 0 - 2*(2-1) - 1)/1 + 1 = 4.
     * And the bias gradient's launch (dy, db, N, K, OH*OW) carries N 2, K 6 (ints) and 4*4 = 16 (a long).
     */
    @Test
    void theKernelGeometryIntsAreTheSpecsNumbersInDgeomOrder() {
        ConvSpec s = ConvSpec.deformable().batch(2).channels(4, 6).groups(2).input(7, 6).kernel(3, 2).stride(2, 1)
                .padding(1, 0).dilation(1, 2).offsetGroups(2).mask(true).build();
        // batch, C, K, groups, offset groups, in H, in W, out H, out W, kH, kW, sH, sW, pH, pW, dH, dW
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[]{2, 4, 6, 2, 2, 7, 6, 4, 4, 3, 2, 2, 1, 1, 0, 1, 2},
                DeformableSteps.geometry(s));
        DeformablePlan bias = DeformablePlan.of(s, Pass.BACKWARD_BIAS, DType.FP32, new DeformablePlan.Target(DeformablePlan.DeviceKind.GPU,
                true, true, 1L << 20, Integer.MAX_VALUE));
        List<DeformableSteps.Step> st = DeformableSteps.steps(bias, s, 132, NAMES, null, 0, 2);
        KernelLaunch.Launch l = assertInstanceOf(KernelLaunch.Launch.class, st.get(0));
        assertEquals("deform_bias_grad", l.kernel());
        assertEquals(List.of(Role.DY, Role.DB, 2, 6, 16L), List.of(l.args()), "N and K as C int, OH*OW as long");
    }
}
