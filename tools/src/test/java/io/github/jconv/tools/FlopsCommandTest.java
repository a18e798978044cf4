package io.github.jconv.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FlopsCommandTest {
    private static String[] cells(ToolRun r, int row) {
        return r.find("^(" + row + "  .*)$").trim().split("\\s{2,}");
    }

    @ParameterizedTest(name = "64->64 3x3 with {0} groups has 64·(64/{0})·9 weights")
    @ValueSource(ints = {1, 2, 4, 32, 64})
    void groupedWeightsAreOutTimesInOverGroupsTimesKernelArea(int g) {
        ToolRun r = ToolRun.of("flops", "conv64->64k3p1g" + g, "--input", "56");
        assertEquals(0, r.exit(), r::toString);
        String[] c = cells(r, 1);
        long weights = 64L * (64 / g) * 3 * 3;
        long flops = 2L * 64 * 56 * 56 * (64 / g) * 3 * 3;
        assertEquals(String.format(Locale.ROOT, "%,d", weights), c[4]);
        assertEquals(String.format(Locale.ROOT, "%,d", weights + 64), c[5], "weights plus 64 biases");
        assertEquals(String.format(Locale.ROOT, "%,d", 64L * 64 * 9), c[6], "the same layer with groups = 1");
        assertEquals(g == 1 ? "1" : "1/" + g, c[7]);
        assertEquals(String.format(Locale.ROOT, "%.2f", flops / 1e6), c[8]);
        assertEquals(String.format(Locale.ROOT, "%.2f", 3 * flops / 1e6), c[9]);
    }

    @Test
    void depthwiseBesideDenseShowsTheSavingAndChainsTheSpatialSize() {
        ToolRun r = ToolRun.of("flops", "conv64->64k3p1 g1, conv64->64k3p1 dw, conv64->128k1s2nb", "--input", "56");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("64 (dw)", cells(r, 2)[3]);
        assertEquals("64x56x56 -> 128x28x28", cells(r, 3)[2], "stride 2 halves 56");
        assertEquals("8,192", cells(r, 3)[5], "no bias: weights only");
        long params = 64 * 64 * 9 + 64 + 64 * 9 + 64 + 128 * 64;
        assertEquals(String.format(Locale.ROOT, "%,d", params), r.find("^total: ([\\d,]+) parameters"));
        long saved = 64 * 64 * 9 - 64 * 9;
        assertEquals(String.format(Locale.ROOT, "%,d", saved), r.find("grouping saves ([\\d,]+) parameters"));
    }

    @Test
    void aTransposedLayerHasInTimesOutOverGroupsWeightsAndDoublesTheSize() {
        ToolRun r = ToolRun.of("flops", "tconv16->8k4s2p1", "--input", "56");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("16x56x56 -> 8x112x112", cells(r, 1)[2], "2·55 - 2 + 4 = 112");
        assertEquals("2,048", cells(r, 1)[4], "16·8·4·4");
        // every input pixel meets every tap: 2 · 16 · 56² · 8 · 16
        assertEquals(String.format(Locale.ROOT, "%.2f", 2.0 * 16 * 56 * 56 * 8 * 16 / 1e6), cells(r, 1)[8]);
    }

    @Test
    void aProblemLineIsAcceptedAsALayer() {
        ToolRun r = ToolRun.of("flops", "mb2ic3ih32oc16kh3ph1");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("432", cells(r, 1)[4], "16·3·3·3");
    }

    @Test
    void aLayerThatDoesNotParseIsNamedInTheError() {
        ToolRun r = ToolRun.of("flops", "conv64->64k3, conv64-64k3");
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("conv64-64k3"), r::toString);
    }

    /**
     * 2·N·K·out·C·k² for conv4096->4096k3 at 8192² and batch 1000: 2·1000·4096·8190²·4096·9 ≈ 5e21
     * FLOPs, over 2^63 ≈ 9.2e18: it printed a negative MFLOP count; now refused.
     */
    @Test
    void aStackWhoseCountsOverflowIsRefusedNotPrintedNegative() {
        ToolRun r = ToolRun.of("flops", "conv4096->4096k3", "--input", "8192", "--batch", "1000");
        assertEquals(2, r.exit(), r::toString);
        r.assertOneLine();
        assertTrue(r.out().isEmpty(), "no table, so no negative count: " + r);
    }

    @ParameterizedTest(name = "flops {0} is refused")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"--input=0", "--batch=-1", "--input=2000000"})
    void aBadSizeIsRefused(String option) {
        ToolRun.of("flops", "conv3->3k3", option).assertRefused(option.substring(0, option.indexOf('=')));
    }
}
