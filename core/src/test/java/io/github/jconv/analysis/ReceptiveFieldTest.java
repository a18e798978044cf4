package io.github.jconv.analysis;

import io.github.jconv.ConvSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReceptiveFieldTest {
    private static ReceptiveField.Layer conv(int k, int s, int p, int d) {
        return ReceptiveField.Layer.conv(k, s, p, d);
    }

    @Test
    void twoStackedThreeByThreeConvsSeeFiveByFive() {
        List<ReceptiveField.Row> rows = ReceptiveField.compute(List.of(conv(3, 1, 1, 1), conv(3, 1, 1, 1)));
        assertEquals(3, rows.get(0).receptiveField());
        assertEquals(5, rows.get(1).receptiveField());
        assertEquals(1, rows.get(1).jump());
    }

    @Test
    void aDilatedThreeByThreeSeesFiveByFive() {
        assertEquals(5, ReceptiveField.compute(List.of(conv(3, 1, 2, 2))).get(0).receptiveField());
    }

    @Test
    void strideMultipliesTheJumpOfLaterLayers() {
        // conv3 s2 p1 then conv3 s1: r = 3, j = 2; then r = 3 + 2·2 = 7
        List<ReceptiveField.Row> rows = ReceptiveField.compute(List.of(conv(3, 2, 1, 1), conv(3, 1, 1, 1)));
        assertEquals(2, rows.get(0).jump());
        assertEquals(7, rows.get(1).receptiveField());
        // start of the first output: centre 0.5 + (1 - 1)·1 = 0.5 (same padding keeps the centre)
        assertEquals(0.5, rows.get(0).start());
    }

    @Test
    void aTransposedLayerDividesTheJump() {
        List<ReceptiveField.Row> rows = ReceptiveField.compute(List.of(conv(3, 2, 1, 1),
                new ReceptiveField.Layer("up", ReceptiveField.Kind.TRANSPOSED, 4, 2, 1, 1)));
        assertEquals(1, rows.get(1).jump());
        // an output of k=4, s=2 sees ⌈4/2⌉ = 2 inputs, 2 apart in pixels: 3 + 1·2 = 5
        assertEquals(5, rows.get(1).receptiveField());
    }

    /**
     * pool2s2 then tconv4s2p1: transposed output o receives pool outputs i with 2i + t − 1 = o (t < 4):
     * o = 0 → i = 0, −1 (pixels −2..1); o = 1, 2 → i = 0, 1 (pixels 0..3); o = 3 → i = 1, 2 (pixels 2..5).
     * The centres 0, 2, 2, 4 are not start + o·jump; every output sees 4 pixels.
     */
    @Test
    void behindATransposedLayerEachOutputHasItsOwnExactSpan() {
        List<ReceptiveField.Layer> stack = List.of(new ReceptiveField.Layer("pool2s2", ReceptiveField.Kind.POOL, 2, 2, 0, 1),
                new ReceptiveField.Layer("tconv4s2p1", ReceptiveField.Kind.TRANSPOSED, 4, 2, 1, 1));
        long[][] want = {{-2, 1}, {0, 3}, {0, 3}, {2, 5}};
        for (int o = 0; o < want.length; o++) {
            assertEquals(want[o][0], ReceptiveField.span(stack, o)[0], "first pixel of output " + o);
            assertEquals(want[o][1], ReceptiveField.span(stack, o)[1], "last pixel of output " + o);
        }
        ReceptiveField.Row last = ReceptiveField.compute(stack).get(1);
        assertEquals(4, last.receptiveField());
        assertEquals(0.0, last.start(), "centre of output 0's pixels −2..1, each pixel i spanning [i, i+1)");
    }

    /** A stride-2 transposed layer with dilation 2 reaches only even outputs: odd ones receive nothing. */
    @Test
    void anOutputThatReceivesNothingHasNoSpan() {
        List<ReceptiveField.Layer> stack = List.of(new ReceptiveField.Layer("t", ReceptiveField.Kind.TRANSPOSED, 3, 2, 0, 2));
        assertEquals(null, ReceptiveField.span(stack, 1));
        // output 0 = 2i + 2t receives inputs 0, −1, −2 through taps 0, 1, 2 (borders ignored)
        assertEquals(-2, ReceptiveField.span(stack, 0)[0]);
    }

    @Test
    void aFieldOver2To53PixelsIsRefused() {
        List<ReceptiveField.Layer> stack = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) stack.add(ReceptiveField.Layer.conv(3, 1_000_000, 0, 1));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ReceptiveField.compute(stack));
        assertTrue(e.getMessage().contains("2^53"), e.getMessage());
    }

    @Test
    void groupsCutParametersToOneGth() {
        LayerCost dense = LayerCost.of(ConvSpec.parse("mb1ic64ih56oc64kh3ph1bia0"));
        LayerCost grouped = LayerCost.of(ConvSpec.parse("g8mb1ic64ih56oc64kh3ph1bia0"));
        LayerCost depthwise = LayerCost.of(ConvSpec.parse("g64mb1ic64ih56oc64kh3ph1bia0"));
        assertEquals(64 * 64 * 9, dense.parameters());
        assertEquals(64 * 8 * 9, grouped.parameters());
        assertEquals(64 * 9, depthwise.parameters());
        assertEquals(1.0 / 8, grouped.groupSaving(), 1e-12);
        assertEquals(dense.forwardFlops() / 64, depthwise.forwardFlops());
    }
}
