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
        assertTrue(r.out().contains("(130x130 px, 13x13 cells"), r::toString);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "not a readable image");
        assertEquals(130, img.getWidth());
        assertEquals(130, img.getHeight());
        // cell (2,2) gets 2·2 = 4 pairs, (2,3) 2·1 = 2, (3,3) 1·1 = 1
        double four = luminance(img.getRGB(25, 25)), two = luminance(img.getRGB(35, 25)), one = luminance(img.getRGB(35, 35));
        assertTrue(four > two && two > one, "luminance 4:" + four + " 2:" + two + " 1:" + one);
        assertEquals(img.getRGB(25, 25), img.getRGB(45, 65), "cells (2,2) and (6,4) both get 4 pairs");
    }

    private static double luminance(int rgb) {
        return 0.2126 * ((rgb >> 16) & 255) + 0.7152 * ((rgb >> 8) & 255) + 0.0722 * (rgb & 255);
    }
}
