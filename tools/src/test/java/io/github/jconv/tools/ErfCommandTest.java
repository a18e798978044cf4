package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
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

class ErfCommandTest {
    @ParameterizedTest(name = "{0}: support {1}x{1} with {2} non-zero pixels")
    @CsvSource(delimiter = ';', value = {
            "conv3,conv3; 5; 25",     // two 3x3 layers see 5x5
            "conv3d2; 5; 9",          // a 3x3 with dilation 2 sees 5x5, through 9 taps
            "conv3,pool2s2; 4; 16",   // the centre output of the pool sees 2x2 of a 3x3-field layer: 4x4
            "conv3s2,conv3; 7; 49"})  // 3 + 2·2
    void theGradientSupportIsTheTheoreticalField(String stack, int side, int nonZero, @TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", stack, "--backend", "cpu", "--weights", "constant", "--channels", "2",
                "--size", "24", "-o", dir.resolve("erf.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals(side + "x" + side, r.find("^theoretical RF:\\s+(\\d+x\\d+)"));
        assertEquals(side + "x" + side, r.find("^gradient support: (\\d+x\\d+)"));
        assertEquals(String.valueOf(nonZero), r.find("\\((\\d+) non-zero input pixels\\)"));
    }

    @Test
    void twoConstantThreeByThreeLayersWeighTheCentreNineTimesTheCorner() {
        // paths from the centre output to input offset (dy, dx): a[dy]·a[dx] with a = 1 2 3 2 1
        try (ConvEngine e = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL))) {
            Erf.Result r = Erf.measure(e, LayerStack.parse("conv3,conv3"), 3, 15, Erf.Weights.CONSTANT, 1, 0.95);
            double[][] m = r.map();
            int cy = (int) r.centreRow(), cx = (int) r.centreCol();
            assertEquals(9.0, m[cy][cx] / m[cy - 2][cx - 2], 1e-4);
            assertEquals(1.5, m[cy][cx] / m[cy][cx + 1], 1e-4);
            assertEquals(3.0, m[cy][cx] / m[cy + 2][cx], 1e-4);
            assertEquals(0.0, m[cy + 3][cx]);
        }
    }

    @Test
    void theEffectiveFieldOfADeepStackIsSmallerThanItsTheoreticalOne(@TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", "conv3x8", "--backend", "cpu", "--weights", "constant", "--channels", "1",
                "-o", dir.resolve("erf.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals("17x17", r.find("^theoretical RF:\\s+(\\d+x\\d+)"));
        // per axis the weights of the 17 offsets are a sum of 8 uniform steps in {-1, 0, 1}: sd √(16/3) ≈ 2.3,
        // so 95% of the 2D mass lies well inside ±8
        double ratio = Double.parseDouble(r.find("ratio effective / theoretical: ([\\d.]+)"));
        assertTrue(ratio > 0.4 && ratio < 0.8, r::toString);
    }

    @Test
    void theHeatMapIsAPngOfTheStatedSize(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("erf.png");
        ToolRun r = ToolRun.of("erf", "conv3,conv3", "--backend", "cpu", "--size", "20", "--scale", "6", "-o", png.toString());
        assertEquals(0, r.exit(), r::toString);
        // 20 cells of 6 px: a 120x120 px map, inside a 1 px margin, above the strip with the scale and legend
        assertTrue(r.out().contains("a 120x120 px map"), r::toString);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "not a readable image");
        assertEquals(Math.max(HeatMap.MIN_WIDTH, 122), img.getWidth());
        assertEquals(122 + HeatMap.STRIP, img.getHeight());
        assertTrue(r.out().contains("backend cpu"), r::toString);
    }

    @ParameterizedTest(name = "{0} {1} is refused")
    @CsvSource(delimiter = ';', value = {"--scale; 0; scale = 0", "--mass; 1.5; mass = 1.5", "--channels; 0; channels = 0",
            "--weights; gaussian; weights = gaussian", "--size; 5; larger --size"})
    void aBadOptionIsRefusedByName(String option, String value, String message, @TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", "conv7", "--backend", "cpu", option, value, "-o", dir.resolve("erf.png").toString());
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains(message), r::toString);
    }

    /**
     * pool2s2 then tconv4s2p1 on 32x32: 16 pool outputs, (16−1)·2 − 2 + 4 = 32 outputs. The centre
     * output 16 receives pool outputs i with 2i + t − 1 = 16 for taps t = 1, 3: i = 8 and 7, which pool
     * input pixels 14..17. So the theoretical field of that output is 4x4 at 14..17, where all the
     * gradient is, and no effective field can be larger (the old centre, start + o·jump, was half a
     * pixel off and made it 5x5, ratio 1.25).
     */
    @Test
    void behindATransposedLayerTheBoxSitsOnTheCentreOutputsOwnField(@TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", "pool2s2,tconv4s2p1", "--backend", "cpu", "--weights", "constant", "--channels", "2",
                "--size", "32", "-o", dir.resolve("erf.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals("4x4 (input pixels 14..17 x 14..17", r.find("^theoretical RF:\\s+(\\d+x\\d+ \\(input pixels [\\d.]+ x [\\d.]+)"));
        assertEquals("14..17, columns 14..17", r.find("^gradient rows (.*)$"));
        int side = Integer.parseInt(r.find("^effective RF:\\s+(\\d+)x"));
        assertTrue(side <= 4, r::toString);
        assertTrue(Double.parseDouble(r.find("ratio effective / theoretical: ([\\d.]+)")) <= 1.0, r::toString);
    }

    /**
     * The notes' stack on 33x33 (the default size, 2·16 + 1): 33 → 31 → 29 → 14 (pool) → 10 (conv3d2) →
     * (10−1)·2 − 2 + 4 = 20. The centre output 10 receives conv3d2 outputs 5 and 4 (taps 1 and 3);
     * those read pool outputs 4..9 (m .. m + 4), which pool conv outputs 8..19, which read input
     * pixels 8..23: the box is 16x16 at 8..23, exactly where the gradient is.
     */
    @Test
    void theNotesStackHasItsBoxOverItsHeat(@TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", "conv3,conv3,pool2s2,conv3d2,tconv4s2p1", "--backend", "cpu", "--channels", "2",
                "-o", dir.resolve("erf.png").toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals("16x16 (input pixels 8..23 x 8..23", r.find("^theoretical RF:\\s+(\\d+x\\d+ \\(input pixels [\\d.]+ x [\\d.]+)"));
        assertEquals("8..23, columns 8..23", r.find("^gradient rows (.*)$"));
    }

    /** Both boxes of the same pixels stay visible (one outside, one on them); the scale runs from colour(0) to colour(1). */
    @Test
    void thePngHasAColourScaleALegendAndBothBoxesWhenTheyCoincide(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("erf.png");
        ToolRun r = ToolRun.of("erf", "pool2s2,tconv4s2p1", "--backend", "cpu", "--weights", "constant", "--channels", "1",
                "--size", "32", "--scale", "4", "-o", png.toString());
        assertEquals(0, r.exit(), r::toString);
        assertEquals("4x4", r.find("^effective RF:\\s+(\\d+x\\d+)"), "the case where the two boxes are the same pixels");
        BufferedImage img = ImageIO.read(png.toFile());
        int mapBottom = HeatMap.MARGIN + 32 * 4;
        int blue = 0, white = 0;
        for (int y = 0; y < mapBottom; y++) {
            for (int x = 0; x < HeatMap.MARGIN + 32 * 4; x++) {
                int c = img.getRGB(x, y) & 0xFFFFFF;
                if (c == ErfCommand.THEORETICAL_RGB) blue++;
                if (c == ErfCommand.EFFECTIVE_RGB) white++;
            }
        }
        // a 4x4-cell box at 4 px per cell: an outline of 16 px sides, 60 px; the outer ring 18 px sides, 68 px
        assertEquals(68, blue, "theoretical box, one ring outside its cells");
        assertEquals(60, white, "effective box, on its cells' outermost pixels");
        int[] bar = HeatMap.colourBar(img);
        assertEquals(HeatMap.colour(0), img.getRGB(bar[0], bar[2]) & 0xFFFFFF, "the scale starts at the colour of 0");
        assertEquals(HeatMap.colour(1), img.getRGB(bar[1], bar[2]) & 0xFFFFFF, "and ends at the colour of the maximum");
        boolean swatch = false;
        for (int y = mapBottom + HeatMap.MARGIN; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) swatch |= (img.getRGB(x, y) & 0xFFFFFF) == ErfCommand.THEORETICAL_RGB;
        }
        assertTrue(swatch, "the legend shows the theoretical box's colour");
    }

    @ParameterizedTest(name = "erf {0} is refused")
    @CsvSource(delimiter = ';', value = {
            "conv3 --scale 100000; --scale = 100000",   // was an OutOfMemoryError drawing the map
            "conv3 --size 30000; --size = 30000",       // was a NegativeArraySizeException
            "conv3 --size 2000 --channels 8; --channels 8 x --size 2000",
            "conv3 --channels 5000; --channels = 5000",
            "conv3x200,conv3s2x20; needs an input of",  // the default size, twice the RF, would be huge
            "/nonexistent/stack.txt; no such file"})
    void aTooLargeOrMissingInputIsRefusedInOneLine(String args, String named, @TempDir Path dir) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("erf"));
        a.addAll(java.util.List.of(args.split(" ")));
        a.addAll(java.util.List.of("--backend", "cpu", "-o", dir.resolve("erf.png").toString()));
        ToolRun.of(a.toArray(new String[0])).assertRefused(named);
    }

    @Test
    void anUnwritablePngIsRefusedBeforeTheBackwardPass(@TempDir Path dir) throws Exception {
        Path file = java.nio.file.Files.writeString(dir.resolve("plain-file"), "x");
        ToolRun r = ToolRun.of("erf", "conv3", "--backend", "cpu", "-o", file.resolve("sub/erf.png").toString());
        r.assertRefused("--png");
        assertTrue(r.out().isEmpty(), "nothing ran: " + r);
    }

    @Test
    void anUnknownBackendIsRefusedByName(@TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", "conv3", "--backend", "tpu", "-o", dir.resolve("erf.png").toString());
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("tpu"), r::toString);
    }
}
