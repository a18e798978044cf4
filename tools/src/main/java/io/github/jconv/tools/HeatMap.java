package io.github.jconv.tools;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a 2D map of non-negative values as a PNG, each value a square of {@code scale} pixels. */
final class HeatMap {
    // dark blue -> purple -> red -> orange -> pale yellow: monotone in brightness, readable in grey
    private static final int[][] ANCHORS = {
            {8, 8, 32}, {72, 16, 120}, {168, 40, 96}, {230, 92, 40}, {250, 180, 40}, {252, 252, 190}};

    private HeatMap() {
    }

    /** A rectangle to outline on the map, in map cells (inclusive bounds). */
    record Box(int top, int left, int bottom, int right, int rgb) {
    }

    /** Colour of {@code t} in [0, 1]. */
    static int colour(double t) {
        double x = Math.max(0, Math.min(1, t)) * (ANCHORS.length - 1);
        int i = Math.min((int) x, ANCHORS.length - 2);
        double f = x - i;
        int r = (int) Math.round(ANCHORS[i][0] + f * (ANCHORS[i + 1][0] - ANCHORS[i][0]));
        int g = (int) Math.round(ANCHORS[i][1] + f * (ANCHORS[i + 1][1] - ANCHORS[i][1]));
        int b = (int) Math.round(ANCHORS[i][2] + f * (ANCHORS[i + 1][2] - ANCHORS[i][2]));
        return (r << 16) | (g << 8) | b;
    }

    /** Renders {@code map[row][col]} scaled to [0, max]; boxes are drawn as one-pixel outlines. */
    static BufferedImage render(double[][] map, int scale, Box... boxes) {
        if (scale < 1) throw new IllegalArgumentException("scale = " + scale + ": must be at least 1, e.g. scale = 8");
        int h = map.length, w = map[0].length;
        double max = 0;
        for (double[] row : map) for (double v : row) max = Math.max(max, v);
        BufferedImage img = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int c = colour(max > 0 ? map[y][x] / max : 0);
                for (int dy = 0; dy < scale; dy++) for (int dx = 0; dx < scale; dx++) img.setRGB(x * scale + dx, y * scale + dy, c);
            }
        }
        for (Box b : boxes) {
            int y0 = Math.max(0, b.top() * scale), y1 = Math.min(h * scale - 1, (b.bottom() + 1) * scale - 1);
            int x0 = Math.max(0, b.left() * scale), x1 = Math.min(w * scale - 1, (b.right() + 1) * scale - 1);
            for (int x = x0; x <= x1; x++) {
                img.setRGB(x, y0, b.rgb());
                img.setRGB(x, y1, b.rgb());
            }
            for (int y = y0; y <= y1; y++) {
                img.setRGB(x0, y, b.rgb());
                img.setRGB(x1, y, b.rgb());
            }
        }
        return img;
    }

    static void write(BufferedImage img, Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            if (!ImageIO.write(img, "png", file.toFile())) throw new IllegalStateException("no PNG writer in this JVM");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** A scale that makes the longer side about {@code target} pixels. */
    static int scaleFor(int cells, int target) {
        return Math.max(1, target / Math.max(1, cells));
    }
}
