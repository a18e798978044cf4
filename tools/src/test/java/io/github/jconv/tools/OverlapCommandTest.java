package io.github.jconv.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OverlapCommandTest {
    /** Interior counts per residue o mod s of the taps t·d: worked by hand for each case. */
    @ParameterizedTest(name = "kernel {0} stride {1} dilation {2}: {3}")
    @CsvSource({
            "3, 2, 1, UNEVEN, 2 1",   // kernel 3 stride 2 overlaps unevenly
            "4, 2, 1, EVEN, 2 2",     // kernel 4 stride 2 evenly
            "2, 2, 1, EVEN, 1 1",
            "1, 2, 1, UNEVEN, 1 0",
            "6, 3, 1, EVEN, 2 2 2",
            "5, 3, 1, UNEVEN, 2 2 1",
            "3, 1, 1, EVEN, 3",
            "2, 2, 3, EVEN, 1 1",     // taps 0 and 3 fall on both residues
            "3, 2, 2, UNEVEN, 3 0",   // taps 0, 2, 4 all even
            "2, 3, 2, UNEVEN, 1 0 1"})  // effective kernel 3 is a multiple of 3, yet residue 1 gets nothing
    void theVerdictFollowsTheInteriorCounts(int k, int s, int d, String verdict, String period, @TempDir Path dir) {
        ToolRun r = ToolRun.of("overlap", "-k", "" + k, "-s", "" + s, "-d", "" + d, "-o", dir.resolve("o.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals(period, r.find("interior pattern \\(period \\d+\\): ([\\d ]+)$"));
        assertEquals(verdict, r.find("^verdict: (\\w+)"));
    }

    @ParameterizedTest(name = "kernel {0} stride {1} dilation {2}")
    @CsvSource({"3, 2, 1", "4, 2, 1", "5, 3, 1", "3, 2, 2", "2, 3, 2"})
    void theCpuBackendsTransposedConvolutionOfOnesGivesTheCountedMap(int k, int s, int d, @TempDir Path dir) {
        ToolRun r = ToolRun.of("overlap", "-k", "" + k, "-s", "" + s, "-d", "" + d, "--backend", "cpu",
                "-o", dir.resolve("o.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("backend cpu: the transposed convolution of ones with ones"), r::toString);
        assertTrue(r.out().contains("gives this map exactly"), r::toString);
    }

    @Test
    void kernelThreeStrideTwoCountsOneTwoAlternatingWithOnesAtTheBorders(@TempDir Path dir) {
        // input 6: output 2·5 + 3 = 13; o = 2i + t for t < 3: borders see one pair, even interior positions two
        ToolRun r = ToolRun.of("overlap", "-k", "3", "-s", "2", "--input", "6", "-o", dir.resolve("o.png").toString());
        assertEquals("1 1 2 1 2 1 2 1 2 1 2 1 1", r.find("along one axis: ([\\d ]+)$"));
        assertEquals("[2, 4, 6, 8]", r.find("even overlap at stride 2, dilation 1: (\\[.*\\])"));
    }

    @Test
    void aDilationThatSharesAFactorWithTheStrideHasNoEvenKernel(@TempDir Path dir) {
        ToolRun r = ToolRun.of("overlap", "-k", "3", "-s", "2", "-d", "2", "-o", dir.resolve("o.png").toString());
        assertTrue(r.out().contains("no kernel size up to 8 gives even overlap"), r::toString);
    }

    @Test
    void theMapIsAPngOfTheStatedSizeBrighterWhereMorePairsOverlap(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("k3s2.png");
        ToolRun r = ToolRun.of("overlap", "-k", "3", "-s", "2", "--input", "6", "--scale", "10", "-o", png.toString());
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("a 130x130 px map of 13x13 cells"), r::toString);
        assertTrue(r.out().contains("max 4,"), "the most any pixel gets is 2·2: " + r);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "not a readable image");
        // the map, a 1 px margin around it, and the strip with the colour scale under it
        assertEquals(Math.max(HeatMap.MIN_WIDTH, 132), img.getWidth());
        assertEquals(132 + HeatMap.STRIP, img.getHeight());
        int m = HeatMap.MARGIN;
        // cell (2,2) gets 2·2 = 4 pairs, (2,3) 2·1 = 2, (3,3) 1·1 = 1
        double four = luminance(img.getRGB(m + 25, m + 25)), two = luminance(img.getRGB(m + 35, m + 25)), one = luminance(img.getRGB(m + 35, m + 35));
        assertTrue(four > two && two > one, "luminance 4:" + four + " 2:" + two + " 1:" + one);
        assertEquals(img.getRGB(m + 25, m + 25), img.getRGB(m + 45, m + 65), "cells (2,2) and (6,4) both get 4 pairs");
        int[] bar = HeatMap.colourBar(img);
        assertEquals(HeatMap.colour(0), img.getRGB(bar[0], bar[2]) & 0xFFFFFF, "the colour scale starts at 0");
        assertEquals(HeatMap.colour(1), img.getRGB(bar[1], bar[2]) & 0xFFFFFF, "and ends at the maximum");
    }

    /**
     * Input 1: the output is the kernel's 3 taps, one pair each (counts 1 1 1), and no position is
     * reached by every tap: there is no interior. The map's maximum is 1, not the interior's 4.
     */
    @Test
    void anInputTooSmallForAnInteriorSaysSoAndReportsItsRealMaximum(@TempDir Path dir) {
        ToolRun r = ToolRun.of("overlap", "-k", "3", "-s", "2", "--input", "1", "-o", dir.resolve("o.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals("1 1 1", r.find("along one axis: ([\\d ]+)$"));
        // interior positions o with (k-1)·d <= o <= s·(input-1) must number s: 2 <= o <= 2(n-1) twice, n >= 3
        assertTrue(r.out().contains("no interior at input 1") && r.out().contains("--input 3 or more"), r::toString);
        assertTrue(r.out().contains("max 1,"), r::toString);
    }

    @ParameterizedTest(name = "overlap {0} is refused")
    @CsvSource(delimiter = ';', value = {
            "-k 3 -s 50000; output = ",                    // an OutOfMemoryError
            "-k 100000 -s 100000 --input 2; output = ",    // over 200 s
            "-k 3 -s 2 --scale 100000; --scale = 100000",
            "-k 0 -s 2; kernel = 0",
            "-k 3 -s x; --stride"})                         // picocli's own message, in one line
    void anOverLargeMapIsRefusedInOneLine(String args, String named, @TempDir Path dir) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("overlap"));
        a.addAll(java.util.List.of(args.split(" ")));
        a.addAll(java.util.List.of("-o", dir.resolve("o.png").toString()));
        long t0 = System.nanoTime();
        ToolRun.of(a.toArray(new String[0])).assertRefused(named);
        assertTrue(System.nanoTime() - t0 < 5e9, "refused at once");
    }

    @Test
    void anUnwritablePngIsRefusedBeforeAnyOutput(@TempDir Path dir) throws Exception {
        Path file = java.nio.file.Files.writeString(dir.resolve("plain-file"), "x");
        ToolRun r = ToolRun.of("overlap", "-k", "3", "-s", "2", "-o", file.resolve("o.png").toString());
        r.assertRefused("--png");
        assertTrue(r.out().isEmpty(), r::toString);
    }

    /** The closed form of evenKernels (gcd(d, s) = 1 and s | k) against the counts themselves, for small cases. */
    @Test
    void theEvenKernelRuleAgreesWithCountingEveryCase() {
        for (int s = 1; s <= 6; s++) {
            for (int d = 1; d <= 6; d++) {
                java.util.List<Integer> counted = new java.util.ArrayList<>();
                for (int k = 1; k <= 24; k++) if (Overlap.of(k, s, d, 2).even()) counted.add(k);
                assertEquals(counted, Overlap.evenKernels(s, d, 24), "stride " + s + ", dilation " + d);
            }
        }
    }

    private static double luminance(int rgb) {
        return 0.2126 * ((rgb >> 16) & 255) + 0.7152 * ((rgb >> 8) & 255) + 0.0722 * (rgb & 255);
    }
}
