package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchChartTest {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** A case where jconv takes {@code jconvMs} and the peer {@code peerMs} for the same FLOPs. */
    private static BenchResults.Row row(String name, double jconvMs, double peerMs) {
        return new BenchResults.Row(name, BenchPass.FWD, "line", 1_000_000_000L, jconvMs, jconvMs, jconvMs, jconvMs, 1,
                "torch-x", peerMs, peerMs, peerMs, -1, "alg", Double.NaN, Double.NaN, "");
    }

    /** The longest vertical run of exactly this colour in any column: a bar's height in pixels. */
    private static int tallestRun(BufferedImage img, int rgb) {
        int best = 0;
        for (int x = 0; x < img.getWidth(); x++) {
            int run = 0;
            for (int y = 0; y < img.getHeight(); y++) {
                run = (img.getRGB(x, y) & 0xffffff) == rgb ? run + 1 : 0;
                best = Math.max(best, run);
            }
        }
        return best;
    }

    @Test
    void chartIsAPngOfTheStatedSize(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("sub/chart.png");
        BenchChart.write(png, List.of(row("P1", 10, 5), row("P2", 20, 40)), 640, 360, "title", "torch-x");
        byte[] bytes = Files.readAllBytes(png);
        assertEquals((byte) 0x89, bytes[0]);
        assertEquals("PNG", new String(bytes, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "ImageIO reads the file back");
        assertEquals(640, img.getWidth());
        assertEquals(360, img.getHeight());
    }

    @Test
    void barHeightsAreProportionalToThroughput() {
        // jconv twice as fast as the peer: its bar is twice as tall
        BufferedImage img = BenchChart.render(List.of(row("P1", 5, 10)), 600, 400, "t", "torch-x");
        int jconv = tallestRun(img, BenchChart.JCONV.getRGB() & 0xffffff);
        int peer = tallestRun(img, BenchChart.PEER.getRGB() & 0xffffff);
        assertTrue(peer > 20, "peer bar drawn: " + peer);
        assertEquals(2.0, (double) jconv / peer, 0.05);
    }

    @Test
    void withoutAPeerOnlyJconvBarsAreDrawn() {
        BenchResults.Row solo = new BenchResults.Row("P1", BenchPass.FWD, "line", 1_000_000_000L, 5, 5, 5, 5, 1,
                "", Double.NaN, Double.NaN, Double.NaN, -1, "alg", Double.NaN, Double.NaN, "");
        BufferedImage img = BenchChart.render(List.of(solo), 600, 400, "t", "");
        assertTrue(tallestRun(img, BenchChart.JCONV.getRGB() & 0xffffff) > 20);
        assertEquals(0, tallestRun(img, BenchChart.PEER.getRGB() & 0xffffff));
    }

    @Test
    void aChartTooSmallToReadIsRefused(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchChart.write(dir.resolve("c.png"), List.of(), 50, 50, "t", ""));
        assertTrue(e.getMessage().contains("50x50"), e.getMessage());
    }

    @Test
    void axisTopIsARoundNumberAtLeastTheValue() {
        assertEquals(200.0, BenchChart.niceCeiling(184.9), 1e-9);
        assertEquals(120.0, BenchChart.niceCeiling(103.4), 1e-9);
        assertEquals(25.0, BenchChart.niceCeiling(21), 1e-9);
        assertEquals(0.4, BenchChart.niceCeiling(0.31), 1e-12);
        assertEquals(1000.0, BenchChart.niceCeiling(1000), 1e-9);
    }
}
