package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.Pass;
import org.junit.jupiter.api.Test;

import static io.github.jconv.opencl.Algorithms.Mode.AUTO;
import static io.github.jconv.opencl.Algorithms.Mode.DIRECT;
import static io.github.jconv.opencl.Algorithms.Mode.GEMM;
import static io.github.jconv.opencl.Algorithms.Path.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

    @Test
    void deformablePassesSampleColumnsForGemmOnlyWhenLargeOrForced() {
        ConvSpec d = ConvSpec.deformable().channels(4, 4).input(6, 6).kernel(3).padding(1).mask(true).build();
        assertEquals(DEFORM_FORWARD, Algorithms.choose(d, Pass.FORWARD, AUTO).path());
        assertEquals(DEFORM_FORWARD_GEMM, Algorithms.choose(d, Pass.FORWARD, GEMM).path());
        assertEquals(DEFORM_OFFSET_MASK, Algorithms.choose(d, Pass.BACKWARD_OFFSET_MASK, AUTO).path());
        ConvSpec big = ConvSpec.deformable().channels(64, 64).input(16, 16).kernel(3).padding(1).build();
        assertEquals(DEFORM_WEIGHT_GEMM, Algorithms.choose(big, Pass.BACKWARD_WEIGHT, AUTO).path());
        assertEquals(DEFORM_BIAS, Algorithms.choose(big, Pass.BACKWARD_BIAS, GEMM).path());
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
    void gpusScatterDeformableGradientsByRowsAndCpusByPlanesUnlessTold() {
        assertTrue(Algorithms.rowScatter("GPU", null));
        assertTrue(!Algorithms.rowScatter("CPU", "auto"));
        assertTrue(Algorithms.rowScatter("CPU", "rows"));
        assertTrue(!Algorithms.rowScatter("GPU", "plane"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Algorithms.rowScatter("GPU", "atomics"));
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
    void theDeformableRowScatterIsChosenByTheSelectorAndNamedInItsLabel() {
        ConvSpec d = ConvSpec.deformable().batch(2).channels(4, 4).offsetGroups(2).input(7, 6).kernel(3).padding(1).build();
        Algorithms.Choice rows = Algorithms.choose(d, Pass.BACKWARD_DATA, DIRECT, Long.MAX_VALUE, false, true);
        assertEquals(DEFORM_DATA_ROWS, rows.path());
        assertEquals("deformable-colgrad+row-scatter", rows.label());
        assertEquals(DEFORM_DATA_GEMM_ROWS, Algorithms.choose(d, Pass.BACKWARD_DATA, GEMM, Long.MAX_VALUE, false, true).path());
        assertEquals(DEFORM_DATA, Algorithms.choose(d, Pass.BACKWARD_DATA, DIRECT, Long.MAX_VALUE, false, false).path());
        // the offset gradient gathers: the scatter setting does not touch it
        assertEquals(DEFORM_OFFSET_MASK, Algorithms.choose(d, Pass.BACKWARD_OFFSET_MASK, DIRECT, Long.MAX_VALUE, false, true).path());
    }

    @Test
    void theImplicitGemmIsChosenByTheSelectorExceptForPointwiseViews() {
        Algorithms.Choice f = Algorithms.choose(LARGE, Pass.FORWARD, GEMM, Long.MAX_VALUE, true, false);
        assertEquals(VIEW_FORWARD_IMPLICIT, f.path());
        assertEquals("implicit-gemm", f.label());
        // a 1x1 stride-1 unpadded view needs no column matrix, so no implicit GEMM either
        ConvSpec pointwise = ConvSpec.convolution().batch(2).channels(64, 64).input(28, 28).kernel(1).build();
        assertEquals(VIEW_FORWARD_GEMM, Algorithms.choose(pointwise, Pass.FORWARD, GEMM, Long.MAX_VALUE, true, false).path());
        // transposed: the view forward is the data gradient, labelled as the adjoint
        ConvSpec t = ConvSpec.transposed().batch(2).channels(64, 64).input(14, 14).kernel(3).stride(2).build();
        Algorithms.Choice td = Algorithms.choose(t, Pass.BACKWARD_DATA, GEMM, Long.MAX_VALUE, true, false);
        assertEquals(VIEW_FORWARD_IMPLICIT, td.path());
        assertEquals("implicit-gemm (adjoint of convolution)", td.label());
        // the weight gradient keeps im2col + GEMM
        assertEquals(VIEW_BACKWARD_WEIGHT_GEMM, Algorithms.choose(LARGE, Pass.BACKWARD_WEIGHT, GEMM, Long.MAX_VALUE, true, false).path());
    }
}
