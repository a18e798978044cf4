package io.github.jconv.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RfCommandTest {
    /** The last row's RF and jump, worked by hand with r += (k'-1)·j, j *= s (k' = d·(k-1)+1). */
    @ParameterizedTest(name = "{0} sees {1} pixels, {2} apart")
    @CsvSource(delimiter = ';', value = {
            "conv3; 3; 1",
            "conv3,conv3; 5; 1",          // two 3x3 layers see 5x5
            "conv3d2; 5; 1",              // a 3x3 with dilation 2 sees 5x5
            "conv3x3; 7; 1",              // repeat: three 3x3 layers
            "conv3s2,conv3; 7; 2",        // 3, then 3 + 2·2
            "pool2s2,conv3; 6; 2",        // 2, then 2 + 2·2
            "conv5,conv3d3; 11; 1",       // 5, then 5 + 6
            "tconv4s2p1; 2; 0.5"})        // a stride-2 transposed layer: ⌈4/2⌉ inputs, half a pixel apart
    void theLastLayerHasTheHandComputedFieldAndJump(String stack, String rf, String jump) {
        ToolRun r = ToolRun.of("rf", stack);
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("sees " + rf + "x" + rf + " input pixels"), r::toString);
        assertTrue(r.out().contains(jump + " input pixel(s) apart"), r::toString);
    }

    @Test
    void everyLayerOfTheNotesStackHasItsRfJumpAndStart() {
        ToolRun r = ToolRun.of("rf", "conv3,conv3,pool2s2,conv3d2,tconv4s2p1");
        assertEquals(0, r.exit(), r::toString);
        // by hand: start += ((k'-1)/2 - p)·j for conv and pool. The transposed layer's output 0 receives
        // conv3d2 outputs i with 2i + t - 1 = 0, taps t = 1, 3: i = 0 and -1, which cover pixels [0, 14) and
        // [-2, 12): the span [-2, 14) is 16 wide and centred at 6 (not 6.5, which start + (p - (k'-1)/2)·j gives)
        String[][] want = {
                {"conv3", "3", "1", "1.5"}, {"conv3", "5", "1", "2.5"}, {"pool2s2", "6", "2", "3"},
                {"conv3d2", "14", "2", "7"}, {"tconv4s2p1", "16", "1", "6"}};
        for (int i = 0; i < want.length; i++) {
            String row = r.find("^(" + (i + 1) + "\\s+" + want[i][0] + "\\s.*)$");
            String[] cells = row.trim().split("\\s+");
            int n = cells.length;
            assertEquals(want[i][1], cells[n - 3], "RF of row " + (i + 1) + ": " + row);
            assertEquals(want[i][2], cells[n - 2], "jump of row " + (i + 1) + ": " + row);
            assertEquals(want[i][3], cells[n - 1], "start of row " + (i + 1) + ": " + row);
        }
    }

    @Test
    void aStackFileWithCommentsAndNewLinesReadsLikeTheInlineSpec(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("stack.txt");
        Files.writeString(f, "# a small encoder\nconv3\nconv3   # second\n\npool2 s2\n");
        ToolRun file = ToolRun.of("rf", f.toString());
        ToolRun inline = ToolRun.of("rf", "conv3,conv3,pool2s2");
        assertEquals(0, file.exit(), file::toString);
        assertEquals(inline.out(), file.out());
    }

    /**
     * tconv3s2 then conv2 (no padding): a tconv3s2 output o receives inputs o/2 and o/2 - 1 when o is even
     * (taps 0, 2), (o - 1)/2 when odd (tap 1). A conv2 output c reads tconv outputs c and c + 1, whose
     * inputs together are always two neighbours: RF 2 for every output (the average rule gave 2.5).
     */
    @Test
    void behindATransposedLayerTheFieldIsCountedPerOutput() {
        ToolRun r = ToolRun.of("rf", "tconv3s2,conv2");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("sees 2x2 input pixels"), r::toString);
    }

    @ParameterizedTest(name = "rf {0} is refused")
    @CsvSource(delimiter = ';', value = {
            "conv2147483647s2147483647d2147483647x40; kernel = 2147483647", // printed a negative RF
            "conv3x2000000000; repeat",                                    // an OutOfMemoryError
            "conv99999999999999999999; kernel",                            // a NumberFormatException
            "conv2000d1000; effective kernel",
            "conv3s1000000x5; 2^53",
            "tconv1000000s1000000x1000; too many to trace",                // ran for minutes
            "/nonexistent/file; no such file"})                            // said "layer syntax"
    void anOverLargeOrMissingStackIsRefusedInOneLine(String stack, String named) {
        ToolRun.of("rf", stack).assertRefused(named);
    }

    @Test
    void anUnknownOptionIsOneLineAndExitTwo() {
        ToolRun.of("rf", "conv3", "--bogus").assertRefused("--bogus");
    }

    @ParameterizedTest(name = "{0} is refused")
    @CsvSource(delimiter = ';', value = {"conv3q; conv3q", "pool2d2; dilation", "conv0; kernel = 0", "conv3x0; repeat"})
    void aBadLayerIsRefusedWithItsName(String stack, String named) {
        ToolRun r = ToolRun.of("rf", stack);
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains(named), r::toString);
    }
}
