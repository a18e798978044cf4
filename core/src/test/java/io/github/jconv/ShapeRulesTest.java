package io.github.jconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The worked examples of the convolution notes, computed by hand. */
class ShapeRulesTest {

    @ParameterizedTest(name = "input {0}, kernel {1}: transposed stride 1 pad 0 gives i + (K - 1) = {2}")
    @CsvSource({"4, 3, 6", "5, 1, 5", "7, 4, 10", "1, 5, 5"})
    void transposedWithStrideOneAndNoPaddingGrowsByKernelMinusOne(int i, int k, int expected) {
        ConvSpec s = ConvSpec.transposed().channels(1, 1).input(i).kernel(k).build();
        assertEquals(expected, s.output(0));
    }

    @ParameterizedTest(name = "input {0}, kernel {1}, stride {2}: s(i-1)+K = {3}")
    @CsvSource({"3, 3, 2, 7", "4, 4, 2, 10", "28, 4, 2, 58", "5, 2, 3, 14"})
    void transposedWithLargerStrideGivesStrideTimesInputMinusOnePlusKernel(int i, int k, int s, int expected) {
        ConvSpec spec = ConvSpec.transposed().channels(1, 1).input(i, i).kernel(k).stride(s).build();
        assertArrayEquals(new int[] {expected, expected}, spec.output());
    }

    @Test
    void aFourCubedInputWithATwoCubedKernelGivesThreeCubed() {
        ConvSpec s = ConvSpec.convolution().channels(1, 1).input(4, 4, 4).kernel(2, 2, 2).build();
        assertArrayEquals(new int[] {3, 3, 3}, s.output());
        assertEquals(Shape.of(1, 1, 3, 3, 3), s.outputShape());
    }

    @Test
    void p6TransposedUpsamplesTwentyEightToFiftySix() {
        ConvSpec s = ConvSpec.parse("tr1mb8ic64ih28oc32kh4sh2ph1");
        assertArrayEquals(new int[] {56, 56}, s.output());
        assertEquals(Shape.of(64, 32, 4, 4), s.weightShape());
    }

    @ParameterizedTest(name = "i={0} k={1} s={2} p={3} d={4} -> {5}")
    @CsvSource({
        "56, 3, 1, 1, 1, 56",   // same padding
        "56, 3, 2, 1, 1, 28",   // floor((56+2-3)/2)+1
        "7, 3, 1, 0, 1, 5",
        "56, 3, 1, 2, 2, 56",   // dilated: k' = 5
        "10, 3, 4, 0, 1, 2",    // stride > kernel: floor(7/4)+1
        "5, 3, 1, 0, 2, 1"})    // k' = 5 fills the input exactly
    void convolutionOutputFollowsTheFloorFormula(int i, int k, int s, int p, int d, int o) {
        ConvSpec spec = ConvSpec.convolution().channels(2, 2).input(i).kernel(k).stride(s).padding(p).dilation(d).build();
        assertEquals(o, spec.output(0));
    }

    @Test
    void asymmetricPaddingCountsBothSides() {
        ConvSpec s = ConvSpec.convolution().channels(1, 1).input(6, 6).kernel(3).paddingLo(0, 1).paddingHi(2, 0).build();
        assertArrayEquals(new int[] {6, 5}, s.output());
    }

    @Test
    void groupedWeightsHoldOneGthOfTheChannels() {
        // N·(C/G)·K·K with N = 128 filters, C = 128 channels, G = 8, K = 3
        ConvSpec g = ConvSpec.parse("g8mb8ic128ih28oc128kh3ph1");
        assertEquals(Shape.of(128, 16, 3, 3), g.weightShape());
        assertEquals(128L * (128 / 8) * 3 * 3 + 128, g.parameterCount());
    }

    @Test
    void depthwiseIsGroupsEqualToChannels() {
        ConvSpec d = ConvSpec.convolution().channels(256, 256).depthwise().input(28, 28).kernel(3).padding(1).build();
        assertEquals(256, d.groups());
        assertEquals(Shape.of(256, 1, 3, 3), d.weightShape());
    }

    @Test
    void deformableOffsetAndMaskShapesFollowTheTapsAndGroups() {
        ConvSpec s = ConvSpec.parse("dg2msk1mb4ic8ih9oc6kh3ph1");
        assertEquals(Shape.of(4, 2 * 2 * 9, 9, 9), s.offsetShape());
        assertEquals(Shape.of(4, 2 * 9, 9, 9), s.maskShape());
    }

    @Test
    void requestedOutputSizeChoosesTheOutputPadding() {
        ConvSpec s = ConvSpec.transposed().channels(4, 4).input(7).kernel(3).stride(2).padding(1).outputSize(14).build();
        assertEquals(1, s.outputPadding(0));
        assertEquals(14, s.output(0));
    }

    @Test
    void forwardFlopsFollowTheBenchmarkConvention() {
        // P1: 2·N·K·(56·56)·C·9
        assertEquals(2L * 8 * 64 * 56 * 56 * 64 * 9, ConvSpec.parse("mb8ic64ih56oc64kh3ph1").forwardFlops());
        // P6 transposed: 2·N·C_in·(28·28)·C_out·16
        assertEquals(2L * 8 * 64 * 28 * 28 * 32 * 16, ConvSpec.parse("tr1mb8ic64ih28oc32kh4sh2ph1").forwardFlops());
    }

    @Test
    void aRequestedOutputSizeIsReachableEvenWhenOutputPaddingZeroWouldGiveNothing() {
        // iw1 kw2 sw3 pw2 pwr1: 3·0 − 2 − 1 + 2 + op = op − 1, so op = 2 gives 1
        ConvSpec s = ConvSpec.transposed().channels(1, 1).input(1).kernel(2).stride(3).paddingLo(2).paddingHi(1).outputSize(1).build();
        assertEquals(2, s.outputPadding(0));
        assertEquals(1, s.output(0));
    }
}
