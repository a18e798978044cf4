package io.github.jconv.spi;

import io.github.jconv.ConvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one geometry: every expected value below is derived by hand in the comment beside it. */
class ConvGeometryTest {
    private static int[] axes(java.util.function.IntUnaryOperator f) {
        return new int[] {f.applyAsInt(0), f.applyAsInt(1), f.applyAsInt(2)};
    }

    @Test
    void aOneDimensionalSpecGetsTwoLeadingUnitAxes() {
        // 1D: input 9, kernel 3, stride 2, pad 1, dilation 2: effective kernel 2*(3-1)+1 = 5,
        // output floor((9 + 1 + 1 - 5) / 2) + 1 = 4. Depth and height become size 1, stride 1, pad 0, dilation 1.
        ConvGeometry g = ConvGeometry.of(ConvSpec.convolution().batch(3).channels(2, 4).input(9).kernel(3).stride(2).padding(1)
                .dilation(2).build());
        assertEquals(3, g.batch());
        assertEquals(2, g.inChannels());
        assertEquals(4, g.outChannels());
        assertEquals(1, g.groups());
        assertEquals(java.util.List.of(1, 1, 9), java.util.Arrays.stream(axes(g::in)).boxed().toList());
        assertEquals(java.util.List.of(1, 1, 4), java.util.Arrays.stream(axes(g::out)).boxed().toList());
        assertEquals(java.util.List.of(1, 1, 3), java.util.Arrays.stream(axes(g::kernel)).boxed().toList());
        assertEquals(java.util.List.of(1, 1, 2), java.util.Arrays.stream(axes(g::stride)).boxed().toList());
        assertEquals(java.util.List.of(0, 0, 1), java.util.Arrays.stream(axes(g::pad)).boxed().toList());
        assertEquals(java.util.List.of(1, 1, 2), java.util.Arrays.stream(axes(g::dilation)).boxed().toList());
        assertEquals(3, g.kernelVolume());
        assertEquals(9, g.inSpatial());
        assertEquals(4, g.outSpatial());
        // counts: input 3*2*9 = 54, output 3*4*4 = 48, weight 4*2*3 = 24, columns per item 2*3*4 = 24, column rows 2*3 = 6
        assertEquals(54, g.inputElements());
        assertEquals(48, g.outputElements());
        assertEquals(24, g.weightElements());
        assertEquals(24, g.columnElementsPerItem());
        assertEquals(6, g.columnRows());
        assertTrue(g.strided());
        assertTrue(g.dilated());
        assertFalse(g.splitsIntoPhases(), "dilated: the phases would not be dense");
        assertFalse(g.adjointIsConvolution(), "strided");
        assertFalse(g.fromTransposed());
    }

    @Test
    void aTransposedSpecIsViewedAsTheConvolutionItIsTheAdjointOf() {
        // Transposed, 6 -> 4 channels, 2 groups, input 5, kernel 3, stride 2: output 2*(5-1) + 3 = 11.
        // The view is the convolution 4 -> 6 channels from 11 positions down to 5 (floor((11 - 3) / 2) + 1 = 5).
        ConvGeometry g = ConvGeometry.of(ConvSpec.transposed().channels(6, 4).groups(2).input(5).kernel(3).stride(2).build());
        assertEquals(4, g.inChannels());
        assertEquals(6, g.outChannels());
        assertEquals(2, g.inChannelsPerGroup());
        assertEquals(3, g.outChannelsPerGroup());
        assertEquals(11, g.in(2));
        assertEquals(5, g.out(2));
        assertTrue(g.fromTransposed());
        assertTrue(g.splitsIntoPhases(), "stride 2, no dilation");
        // weight elements K * C/G * taps = 6 * 2 * 3 = 36 = the transposed weight [C_in=6, C_out/g=2, 3]
        assertEquals(36, g.weightElements());
    }

    @Test
    void pointwiseNeedsAOneByOneUnpaddedUnitStrideKernel() {
        assertTrue(ConvGeometry.of(ConvSpec.convolution().channels(8, 16).input(7, 7).kernel(1).build()).pointwise());
        assertFalse(ConvGeometry.of(ConvSpec.convolution().channels(8, 16).input(7, 7).kernel(1).stride(2).build()).pointwise());
        assertFalse(ConvGeometry.of(ConvSpec.convolution().channels(8, 16).input(7, 7).kernel(1).padding(1).build()).pointwise());
        assertFalse(ConvGeometry.of(ConvSpec.convolution().channels(8, 16).input(7, 7).kernel(3).padding(1).build()).pointwise());
    }

    @Test
    void depthwiseMeansOneChannelInAndOutPerGroup() {
        assertTrue(ConvGeometry.of(ConvSpec.convolution().channels(8, 8).groups(8).input(7, 7).kernel(3).build()).depthwise());
        // channel multiplier 2: 16 outputs over 8 groups is two per group, not depthwise in this sense
        assertFalse(ConvGeometry.of(ConvSpec.convolution().channels(8, 16).groups(8).input(7, 7).kernel(3).build()).depthwise());
        assertFalse(ConvGeometry.of(ConvSpec.convolution().channels(8, 8).groups(4).input(7, 7).kernel(3).build()).depthwise());
    }

    @Test
    void theAdjointOfAUnitStrideConvolutionIsAConvolutionWithComplementaryPadding() {
        // 2D 3 -> 5 channels, input 6x7, kernel 3x2, pad (1, 0), dilation (2, 1): effective kernels 5 and 2,
        // outputs 6 + 2 - 5 + 1 = 4 and 7 - 2 + 1 = 6. Padding stays within (k-1)*d on both axes: 1 <= 4, 0 <= 1.
        ConvGeometry g = ConvGeometry.of(ConvSpec.convolution().batch(2).channels(3, 5).input(6, 7).kernel(3, 2).padding(1, 0)
                .dilation(2, 1).build());
        assertEquals(4, g.out(1));
        assertEquals(6, g.out(2));
        assertTrue(g.adjointIsConvolution());
        ConvGeometry a = g.adjoint();
        // channels swap, sizes swap, padding (k-1)*d - p = 2*2-1 = 3 and 1*1-0 = 1, stride 1, dilation kept
        assertEquals(5, a.inChannels());
        assertEquals(3, a.outChannels());
        assertEquals(4, a.in(1));
        assertEquals(6, a.in(2));
        assertEquals(6, a.out(1));
        assertEquals(7, a.out(2));
        assertEquals(3, a.pad(1));
        assertEquals(1, a.pad(2));
        assertEquals(0, a.pad(0));
        assertEquals(2, a.dilation(1));
        // Its output size by the convolution rule: 4 + 3 + 3 - 5 + 1 = 6 (and 6 + 1 + 1 - 2 + 1 = 7): the input sizes again.
        assertFalse(a.fromTransposed());
    }

    @Test
    void paddingBeyondTheKernelExtentHasNoConvolutionAdjoint() {
        // kernel 2, pad 2: (2-1)*1 = 1 < 2, so a gather would need negative padding.
        ConvGeometry g = ConvGeometry.of(ConvSpec.convolution().channels(1, 1).input(5).kernel(2).padding(2).build());
        assertFalse(g.adjointIsConvolution());
        IllegalStateException e = assertThrows(IllegalStateException.class, g::adjoint);
        assertTrue(e.getMessage().contains("adjointIsConvolution"), e.getMessage());
    }

    @Test
    void deformableKeepsItsOffsetGroupsAndMask() {
        ConvGeometry g = ConvGeometry.of(ConvSpec.deformable().channels(4, 4).offsetGroups(2).mask(true).input(6, 6).kernel(3).build());
        assertTrue(g.deformable());
        assertTrue(g.modulated());
        assertEquals(2, g.offsetGroups());
        assertEquals(1, ConvGeometry.of(ConvSpec.convolution().channels(4, 4).input(6, 6).kernel(3).build()).offsetGroups());
    }

    @Test
    void countsThatOverflowALongAreRefusedNotWrapped() {
        // 2^31-1 channels x 2^31-1 channels x (2^31-1)^2 positions is about 2^124: far beyond a long.
        int big = Integer.MAX_VALUE;
        ConvGeometry g = ConvGeometry.of(1, big, big, 1, new int[] {1, big, big}, new int[] {1, big, big}, new int[] {1, 1, 1},
                new int[] {1, 1, 1}, new int[] {0, 0, 0}, new int[] {1, 1, 1});
        assertThrows(ArithmeticException.class, g::inputElements);
        assertThrows(ArithmeticException.class, g::columnElementsPerItem);
        assertEquals(-1, ConvGeometry.productOrMinusOne(big, big, big, big, big));
        // 2^31 * 2^31 = 2^62 still fits
        assertEquals(1L << 62, ConvGeometry.productOrMinusOne(1L << 31, 1L << 31));
    }

    @Test
    void explicitGeometriesNameABadParameter() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(1, 6, 4, 4,
                new int[] {1, 1, 5}, new int[] {1, 1, 5}, new int[] {1, 1, 1}, new int[] {1, 1, 1}, new int[] {0, 0, 0}, new int[] {1, 1, 1}));
        assertTrue(e.getMessage().startsWith("groups = 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(1, 1, 1, 1,
                new int[] {5}, new int[] {1, 1, 5}, new int[] {1, 1, 1}, new int[] {1, 1, 1}, new int[] {0, 0, 0}, new int[] {1, 1, 1}));
        assertTrue(e.getMessage().startsWith("in = [5]"), e.getMessage());
    }

    @Test
    void equalSpecsGiveEqualGeometries() {
        ConvSpec s = ConvSpec.convolution().channels(3, 5).input(8, 8).kernel(3).build();
        assertEquals(ConvGeometry.of(s), ConvGeometry.of(ConvSpec.parse(s.toString())));
        assertEquals(ConvGeometry.of(s).hashCode(), ConvGeometry.of(ConvSpec.parse(s.toString())).hashCode());
    }
}
