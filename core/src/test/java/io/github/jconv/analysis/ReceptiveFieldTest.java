package io.github.jconv.analysis;

import io.github.jconv.ConvSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
