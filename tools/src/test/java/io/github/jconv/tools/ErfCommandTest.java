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
        assertTrue(r.out().contains("(120x120 px;"), r::toString);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "not a readable image");
        assertEquals(120, img.getWidth());
        assertEquals(120, img.getHeight());
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

    @Test
    void anUnknownBackendIsRefusedByName(@TempDir Path dir) {
        ToolRun r = ToolRun.of("erf", "conv3", "--backend", "tpu", "-o", dir.resolve("erf.png").toString());
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("tpu"), r::toString);
    }
}
