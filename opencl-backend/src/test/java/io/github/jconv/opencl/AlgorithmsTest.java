package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.plan.DeformablePlan.InputGradient;
import org.junit.jupiter.api.Test;

import static io.github.jconv.opencl.Algorithms.Mode.AUTO;
import static io.github.jconv.opencl.Algorithms.Mode.DIRECT;
import static io.github.jconv.opencl.Algorithms.Mode.GEMM;
import static io.github.jconv.opencl.Algorithms.Path.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernel choice is a pure function of spec, pass and mode; no device needed. */
class AlgorithmsTest {
    private static final ConvSpec SMALL = ConvSpec.convolution().channels(2, 2).input(5, 5).kernel(3).build();
    private static final ConvSpec LARGE = ConvSpec.convolution().batch(2).channels(64, 64).input(28, 28).kernel(3).padding(1).build();

    @Test
    void smallProblemsRunTheDirectKernelsAndLargeOnesIm2colAndGemm() {
        assertEquals(VIEW_FORWARD_DIRECT, Algorithms.choose(SMALL, Pass.FORWARD, AUTO).path());
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(LARGE, Pass.FORWARD, AUTO).path());
        assertEquals(VIEW_BACKWARD_DATA_GEMM, Algorithms.choose(LARGE, Pass.BACKWARD_DATA, AUTO).path());
        assertEquals(VIEW_BACKWARD_WEIGHT_GEMM, Algorithms.choose(LARGE, Pass.BACKWARD_WEIGHT, AUTO).path());
        assertEquals(BIAS_REDUCE, Algorithms.choose(LARGE, Pass.BACKWARD_BIAS, AUTO).path());
    }

    @Test
    void depthwiseStaysDirectHoweverLargeAndNarrowGroupsUseGemmOnlyWhereItHasRows() {
        ConvSpec depthwise = ConvSpec.convolution().channels(256, 256).groups(256).input(28, 28).kernel(3).padding(1).build();
        ConvSpec narrow = ConvSpec.convolution().channels(128, 128).groups(8).input(28, 28).kernel(3).padding(1).build();
        ConvSpec wide = ConvSpec.convolution().channels(128, 128).groups(2).input(28, 28).kernel(3).padding(1).build();
        for (Pass p : new Pass[] {Pass.FORWARD, Pass.BACKWARD_DATA}) {
            assertTrue(Algorithms.choose(depthwise, p, AUTO).path().name().endsWith("DIRECT"), p.name());
        }
        assertEquals(VIEW_BACKWARD_WEIGHT_DIRECT, Algorithms.choose(depthwise, Pass.BACKWARD_WEIGHT, AUTO).path());
        // 16 output channels per group: a 16-row forward GEMM idles, the 144-row data GEMM and the weight GEMM pay off
        assertEquals(VIEW_FORWARD_DIRECT, Algorithms.choose(narrow, Pass.FORWARD, AUTO).path());
        assertEquals(VIEW_BACKWARD_DATA_GEMM, Algorithms.choose(narrow, Pass.BACKWARD_DATA, AUTO).path());
        assertEquals(VIEW_BACKWARD_WEIGHT_GEMM, Algorithms.choose(narrow, Pass.BACKWARD_WEIGHT, AUTO).path());
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(wide, Pass.FORWARD, AUTO).path());
    }

    @Test
    void aForcedModeWinsOverSize() {
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(SMALL, Pass.FORWARD, GEMM).path());
        assertEquals(VIEW_FORWARD_DIRECT, Algorithms.choose(LARGE, Pass.FORWARD, DIRECT).path());
    }

    @Test
    void columnsLargerThanTheDeviceCanAllocateFallBackToDirectEvenWhenGemmIsForced() {
        long columns = 64L * 9 * 28 * 28;
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(LARGE, Pass.FORWARD, GEMM, columns).path());
        assertEquals(VIEW_FORWARD_DIRECT, Algorithms.choose(LARGE, Pass.FORWARD, GEMM, columns - 1).path());
        assertEquals(VIEW_BACKWARD_WEIGHT_DIRECT, Algorithms.choose(LARGE, Pass.BACKWARD_WEIGHT, AUTO, columns - 1).path());
    }

    @Test
    void transposedForwardIsTheConvolutionsDataGradientAndViceVersa() {
        ConvSpec t = ConvSpec.transposed().channels(4, 2).input(5, 5).kernel(3).stride(2).build();
        Algorithms.Choice f = Algorithms.choose(t, Pass.FORWARD, DIRECT);
        assertEquals(VIEW_BACKWARD_DATA_DIRECT, f.path());
        assertTrue(f.label().contains("adjoint"), f.label());
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(t, Pass.BACKWARD_DATA, GEMM).path());
        assertEquals(VIEW_BACKWARD_WEIGHT_DIRECT, Algorithms.choose(t, Pass.BACKWARD_WEIGHT, DIRECT).path());
    }

    /** An OpenCL device of {@code type} with the default column budget and no allocation limit below it. */
    private static DeformablePlan.Target device(Algorithms.Mode mode, String type, InputGradient scatter) {
        return Algorithms.deformableTarget(mode, type, scatter, OpenClOptions.DEFAULT_COLUMN_BUDGET, Long.MAX_VALUE);
    }

    private static Algorithms.Choice deformable(ConvSpec s, Pass p, DeformablePlan.Target t) {
        return Algorithms.deformable(s, p, DType.FP32, t);
    }

    @Test
    void deformablePassesSampleColumnsForGemmOnlyWhenLargeOrForced() {
        // K/G = 4 output channels per group: under the 32 rows a gemm.cl tile wants, so direct unless GEMM is forced
        ConvSpec d = ConvSpec.deformable().channels(4, 4).input(6, 6).kernel(3).padding(1).mask(true).build();
        assertEquals(DEFORM_FORWARD, deformable(d, Pass.FORWARD, device(AUTO, "GPU", null)).path());
        assertEquals(DEFORM_FORWARD_GEMM, deformable(d, Pass.FORWARD, device(GEMM, "GPU", null)).path());
        assertEquals(DEFORM_OFFSET_MASK, deformable(d, Pass.BACKWARD_OFFSET_MASK, device(AUTO, "GPU", null)).path());
        Algorithms.Choice small = deformable(d, Pass.FORWARD, device(AUTO, "CPU", null));
        // the GEMM of a group: K/G = 4 by C/G*KH*KW = 4*9 = 36 rows
        assertTrue(small.label().startsWith("deformable-direct [direct kernels: the GEMM of a group is 4 x 36"), small.label());
        // 64 -> 64 channels, 3x3, 16x16: 64 x 576 per group, 1*64*256*64*9 = 9437184 multiply-adds >= 2^20
        ConvSpec big = ConvSpec.deformable().channels(64, 64).input(16, 16).kernel(3).padding(1).build();
        assertEquals(DEFORM_WEIGHT_GEMM, deformable(big, Pass.BACKWARD_WEIGHT, device(AUTO, "GPU", null)).path());
        assertEquals(DEFORM_BIAS, deformable(big, Pass.BACKWARD_BIAS, device(GEMM, "GPU", null)).path());
        assertEquals("workgroup-reduce", deformable(big, Pass.BACKWARD_BIAS, device(GEMM, "GPU", null)).label());
        assertEquals(DEFORM_FORWARD, deformable(big, Pass.FORWARD, device(DIRECT, "GPU", null)).path());
    }

    @Test
    void theWeightGradientsGemmNeedsAQuarterOfTheRowsAndEveryPassAMillionMultiplyAdds() {
        // 8 -> 8 channels, 1x1 kernel, 64x64, batch 4: the GEMM of a group is 8 x 8; multiply-adds 4*8*4096*8*1 = 2^20 exactly
        ConvSpec s = ConvSpec.deformable().batch(4).channels(8, 8).input(64, 64).kernel(1).build();
        assertEquals(DEFORM_WEIGHT_GEMM, deformable(s, Pass.BACKWARD_WEIGHT, device(AUTO, "GPU", null)).path(), "8 >= 32 / 4");
        assertEquals(DEFORM_FORWARD, deformable(s, Pass.FORWARD, device(AUTO, "GPU", null)).path(), "8 < 32");
        // one column less: 4*8*4032*8 = 1032192 multiply-adds, under 2^20 = 1048576
        ConvSpec t = ConvSpec.deformable().batch(4).channels(8, 8).input(64, 63).kernel(1).build();
        Algorithms.Choice w = deformable(t, Pass.BACKWARD_WEIGHT, device(AUTO, "GPU", null));
        assertEquals(DEFORM_WEIGHT, w.path());
        assertTrue(w.label().contains("1032192 multiply-adds, under the GEMM's threshold of 1048576"), w.label());
    }

    /** D1 of docs/bench-problems.md; its column per item: 128 channels * 9 taps * 28*28 positions = 903168 elements, 3612672 FP32 bytes. */
    private static final ConvSpec D1 = ConvSpec.parse("dg1msk1g1mb8ic128ih28iw28oc128kh3kw3ph1pw1");

    @Test
    void d1RunsColumnsAndGemmsInOneChunkAndScattersByPlanesOnACpuAndRowsOnAGpu() {
        // 256 MiB / 3612672 bytes: 74 items fit, the batch has 8
        DeformablePlan.Target pocl = device(AUTO, "CPU", null);
        assertEquals("deformable-im2col+gemm, 1 chunk(s) of up to 8 item(s)", deformable(D1, Pass.FORWARD, pocl).label());
        assertEquals("deformable-im2col+gemm, 1 chunk(s) of up to 8 item(s)", deformable(D1, Pass.BACKWARD_WEIGHT, pocl).label());
        assertEquals("deformable-gemm+plane-scatter, 1 chunk(s) of up to 8 item(s)", deformable(D1, Pass.BACKWARD_DATA, pocl).label());
        assertEquals("deformable-gemm+gather, 1 chunk(s) of up to 8 item(s)", deformable(D1, Pass.BACKWARD_OFFSET_MASK, pocl).label());
        assertEquals(DEFORM_DATA_GEMM_ROWS, deformable(D1, Pass.BACKWARD_DATA, device(AUTO, "GPU", null)).path());
        assertEquals(DEFORM_DATA_GEMM_ROWS, deformable(D1, Pass.BACKWARD_DATA, device(AUTO, "ACCELERATOR", null)).path());
        Algorithms.Choice c = deformable(D1, Pass.FORWARD, pocl);
        assertEquals(8, c.deformable().chunkItems());
        assertEquals(8 * 903168L, c.deformable().columnElements());
    }

    @Test
    void theColumnBudgetAndTheLargestBufferChunkTheBatchAndAnItemOverTheBufferRunsDirect() {
        long item = 903168L * 4;
        DeformablePlan.Target three = Algorithms.deformableTarget(AUTO, "CPU", null, 3 * item + 5, Long.MAX_VALUE);
        assertEquals("deformable-im2col+gemm, 3 chunk(s) of up to 3 item(s)", deformable(D1, Pass.FORWARD, three).label()); // 3 + 3 + 2
        DeformablePlan.Target twoByAlloc = Algorithms.deformableTarget(AUTO, "CPU", null, OpenClOptions.DEFAULT_COLUMN_BUDGET, 2 * item);
        assertEquals("deformable-gemm+plane-scatter, 4 chunk(s) of up to 2 item(s)", deformable(D1, Pass.BACKWARD_DATA, twoByAlloc).label());
        DeformablePlan.Target under = Algorithms.deformableTarget(GEMM, "CPU", null, OpenClOptions.DEFAULT_COLUMN_BUDGET, item - 1);
        Algorithms.Choice f = deformable(D1, Pass.FORWARD, under);
        assertEquals(DEFORM_FORWARD, f.path(), "even with GEMM forced: the column of one item cannot be allocated");
        assertEquals("deformable-direct [direct kernels: one item's column needs 3612672 bytes, over the device's largest buffer of 3612671]",
                f.label());
        assertEquals(0, f.deformable().columnElements());
        // FP64: 8-byte elements, twice the bytes per item: 3 FP32 items' budget holds 1 FP64 item
        assertEquals(1, Algorithms.deformable(D1, Pass.FORWARD, DType.FP64, three).deformable().chunkItems());
    }

    @Test
    void theOpenClTargetSaysWhatTheDeviceAndTheSessionOffer() {
        DeformablePlan.Target t = Algorithms.deformableTarget(AUTO, "CPU", null, 1000, 500);
        assertEquals(DeformablePlan.DeviceKind.CPU, t.kind());
        assertTrue(t.deterministic(), "every OpenCL kernel of jconv gives the same bits each run");
        assertTrue(t.gemm());
        assertEquals(1000, t.columnBudget());
        assertEquals(500, t.maxBufferBytes());
        assertEquals(Integer.MAX_VALUE, t.gemmMaxElements(), "gemm.cl takes M, N and K as ints");
        assertEquals(new DeformablePlan.GemmThreshold(1L << 20, 32), t.gemmThreshold());
        assertFalse(t.atomicScatter(), "deformable.cl has no atomic scatter");
        assertNull(t.scatter());
        assertFalse(Algorithms.deformableTarget(DIRECT, "GPU", null, 1000, 500).gemm());
        assertEquals(DeformablePlan.GemmThreshold.ALWAYS, Algorithms.deformableTarget(GEMM, "GPU", null, 1000, 500).gemmThreshold());
        assertEquals(DeformablePlan.DeviceKind.GPU, Algorithms.deformableTarget(AUTO, "GPU", null, 1000, 500).kind());
        assertEquals(InputGradient.ROWS, Algorithms.deformableTarget(AUTO, "CPU", InputGradient.ROWS, 1000, 500).scatter());
    }

    @Test
    void convolutionsSelectorRefusesDeformableSpecsByName() {
        ConvSpec d = ConvSpec.deformable().channels(4, 4).input(6, 6).kernel(3).padding(1).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Algorithms.choose(d, Pass.FORWARD, AUTO));
        assertTrue(e.getMessage().contains("DeformablePlan"), e.getMessage());
    }

    @Test
    void offsetGradientsOfAPlainConvolutionAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Algorithms.choose(SMALL, Pass.BACKWARD_OFFSET_MASK, AUTO));
        assertTrue(e.getMessage().contains("BACKWARD_OFFSET_MASK"), e.getMessage());
    }

    @Test
    void lowerRanksBecomeThreeDimensionalWithUnitLeadingAxes() {
        ConvSpec oneD = ConvSpec.convolution().batch(3).channels(2, 4).input(9).kernel(3).stride(2).paddingLo(1).dilation(2).build();
        // N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW
        assertArrayEquals(new int[] {3, 2, 4, 1, 1, 1, 9, 1, 1, 3, 1, 1, 3, 1, 1, 2, 0, 0, 1, 1, 1, 2}, KernelArgs.geomParams(io.github.jconv.spi.ConvGeometry.of(oneD)));
    }

    @Test
    void aTransposedSpecBecomesTheConvolutionItIsTheAdjointOf() {
        ConvSpec t = ConvSpec.transposed().channels(6, 4).groups(2).input(5).kernel(3).stride(2).build();
        // transposed output 2*(5-1)+3 = 11 is the convolution's input; its 6 input channels are the convolution's outputs
        int[] g = KernelArgs.geomParams(io.github.jconv.spi.ConvGeometry.of(t));
        assertArrayEquals(new int[] {1, 4, 6, 2, 1, 1, 11, 1, 1, 5}, java.util.Arrays.copyOf(g, 10));
    }

    @Test
    void theScatterOptionForcesPlanesOrRowsAndAutoLeavesItToThePlan() {
        assertNull(Algorithms.scatterOverride(null));
        assertNull(Algorithms.scatterOverride("auto"));
        assertNull(Algorithms.scatterOverride(" "));
        assertEquals(InputGradient.ROWS, Algorithms.scatterOverride("Rows"));
        assertEquals(InputGradient.PLANES, Algorithms.scatterOverride("plane"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Algorithms.scatterOverride("atomics"));
        assertTrue(e.getMessage().contains("auto, plane or rows"), e.getMessage());
    }

    @Test
    void aBadModePropertyNamesTheValidValues() {
        String saved = System.getProperty(Algorithms.MODE_PROPERTY);
        System.setProperty(Algorithms.MODE_PROPERTY, "winograd");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Algorithms.Mode::fromProperty);
            assertTrue(e.getMessage().contains("auto, direct or gemm"), e.getMessage());
        } finally {
            if (saved == null) System.clearProperty(Algorithms.MODE_PROPERTY);
            else System.setProperty(Algorithms.MODE_PROPERTY, saved);
        }
    }

    @Test
    void theDeformableScatterIsChosenByThePlanAndNamedInItsLabel() {
        ConvSpec d = ConvSpec.deformable().batch(2).channels(4, 4).offsetGroups(2).input(7, 6).kernel(3).padding(1).build();
        Algorithms.Choice rows = deformable(d, Pass.BACKWARD_DATA, device(DIRECT, "CPU", InputGradient.ROWS));
        assertEquals(DEFORM_DATA_ROWS, rows.path());
        // direct: the column gradient still needs a column of 2 items (4*9*7*6 = 1512 elements each), one chunk
        assertEquals("deformable-colgrad+row-scatter, 1 chunk(s) of up to 2 item(s) [direct kernels: the backend has no GEMM; "
                + "input gradient by image rows (asked for)]", rows.label());
        assertEquals(DEFORM_DATA_GEMM_ROWS, deformable(d, Pass.BACKWARD_DATA, device(GEMM, "CPU", InputGradient.ROWS)).path());
        assertEquals(DEFORM_DATA, deformable(d, Pass.BACKWARD_DATA, device(DIRECT, "CPU", null)).path());
        assertEquals(DEFORM_DATA_ROWS, deformable(d, Pass.BACKWARD_DATA, device(DIRECT, "GPU", null)).path());
        assertEquals(DEFORM_DATA_GEMM, deformable(d, Pass.BACKWARD_DATA, device(GEMM, "GPU", InputGradient.PLANES)).path());
        // the offset gradient gathers: the scatter setting does not touch it
        assertEquals(DEFORM_OFFSET_MASK, deformable(d, Pass.BACKWARD_OFFSET_MASK, device(DIRECT, "CPU", InputGradient.ROWS)).path());
    }

    @Test
    void theImplicitGemmIsChosenByTheSelectorExceptForPointwiseViews() {
        Algorithms.Choice f = Algorithms.choose(LARGE, Pass.FORWARD, GEMM, Long.MAX_VALUE, true);
        assertEquals(VIEW_FORWARD_IMPLICIT, f.path());
        assertEquals("implicit-gemm", f.label());
        // a 1x1 stride-1 unpadded view needs no column matrix, so no implicit GEMM either
        ConvSpec pointwise = ConvSpec.convolution().batch(2).channels(64, 64).input(28, 28).kernel(1).build();
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(pointwise, Pass.FORWARD, GEMM, Long.MAX_VALUE, true).path());
        // transposed: the view forward is the data gradient, labelled as the adjoint
        ConvSpec t = ConvSpec.transposed().batch(2).channels(64, 64).input(14, 14).kernel(3).stride(2).build();
        Algorithms.Choice td = Algorithms.choose(t, Pass.BACKWARD_DATA, GEMM, Long.MAX_VALUE, true);
        assertEquals(VIEW_FORWARD_IMPLICIT, td.path());
        assertEquals("implicit-gemm (adjoint of convolution)", td.label());
        // the weight gradient keeps im2col + GEMM
        assertEquals(VIEW_BACKWARD_WEIGHT_GEMM, Algorithms.choose(LARGE, Pass.BACKWARD_WEIGHT, GEMM, Long.MAX_VALUE, true).path());
    }
}
