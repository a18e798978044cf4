package io.github.jconv.tools;

import javax.imageio.ImageIO;
import java.awt.AWTError;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
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

    /**
     * A rectangle to outline on the map, in map cells (inclusive bounds). {@code outside}: drawn on the
     * ring of pixels just outside those cells rather than on their outermost pixels, so that a box of the
     * same cells drawn the other way stays visible beside it.
     */
    record Box(int top, int left, int bottom, int right, int rgb, boolean outside, String label) {
    }

    /** Pixels around the map (room for a box drawn outside the outermost cells). */
    static final int MARGIN = 1;
    /** Height of the strip under the map: the colour scale and the legend. */
    static final int STRIP = 46;
    /** Narrowest image, so that the scale and the legend fit beside a small map. */
    static final int MIN_WIDTH = 360;
    /** Widest or tallest map these tools draw, in pixels. */
    static final int MAX_SIDE = 4096;
    private static final int BAR_HEIGHT = 10;

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

    /** Where the colour bar lies in an image made by {@link #render}: x0, x1 (inclusive), y. */
    static int[] colourBar(BufferedImage img) {
        int y = img.getHeight() - STRIP + 6;
        return new int[] {8, img.getWidth() / 2 - 8, y};
    }

    /**
     * Renders {@code map[row][col]} scaled to [0, max] with its top-left cell at ({@link #MARGIN},
     * {@link #MARGIN}); boxes are one-pixel outlines. Under the map: a colour scale from 0 to max
     * ({@code unit} names what is counted) and a legend of the boxes. Text needs the JDK's font
     * libraries; without them the scale and the swatches are drawn and the words left out.
     */
    static BufferedImage render(double[][] map, int scale, String unit, Box... boxes) {
        if (scale < 1) throw new IllegalArgumentException("scale = " + scale + ": must be at least 1, e.g. scale = 8");
        int h = map.length, w = map[0].length;
        if ((long) h * scale > MAX_SIDE || (long) w * scale > MAX_SIDE) {
            throw new IllegalArgumentException("scale = " + scale + ": the map would be " + (long) w * scale + "x" + (long) h * scale
                    + " px, over " + MAX_SIDE + "; e.g. scale = " + suggestedScale(Math.max(h, w)));
        }
        double max = 0;
        for (double[] row : map) for (double v : row) max = Math.max(max, v);
        int width = Math.max(MIN_WIDTH, w * scale + 2 * MARGIN);
        BufferedImage img = new BufferedImage(width, h * scale + 2 * MARGIN + STRIP, BufferedImage.TYPE_INT_RGB);
        int bg = 0x202020;
        for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < width; x++) img.setRGB(x, y, bg);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int c = colour(max > 0 ? map[y][x] / max : 0);
                for (int dy = 0; dy < scale; dy++) for (int dx = 0; dx < scale; dx++) {
                    img.setRGB(MARGIN + x * scale + dx, MARGIN + y * scale + dy, c);
                }
            }
        }
        for (Box b : boxes) {
            int out = b.outside() ? 1 : 0;
            int y0 = MARGIN + b.top() * scale - out, y1 = MARGIN + (b.bottom() + 1) * scale - 1 + out;
            int x0 = MARGIN + b.left() * scale - out, x1 = MARGIN + (b.right() + 1) * scale - 1 + out;
            for (int x = Math.max(0, x0); x <= Math.min(width - 1, x1); x++) {
                if (y0 >= 0) img.setRGB(x, y0, b.rgb());
                if (y1 < img.getHeight() - STRIP) img.setRGB(x, y1, b.rgb());
            }
            for (int y = Math.max(0, y0); y <= Math.min(img.getHeight() - STRIP - 1, y1); y++) {
                if (x0 >= 0) img.setRGB(x0, y, b.rgb());
                if (x1 < width) img.setRGB(x1, y, b.rgb());
            }
        }
        int[] bar = colourBar(img);
        for (int x = bar[0]; x <= bar[1]; x++) {
            int c = colour((double) (x - bar[0]) / (bar[1] - bar[0]));
            for (int y = bar[2]; y < bar[2] + BAR_HEIGHT; y++) img.setRGB(x, y, c);
        }
        int lx = width / 2 + 8, ly = bar[2];
        for (Box b : boxes) {
            for (int y = ly; y < ly + BAR_HEIGHT; y++) {
                for (int x = lx; x < lx + BAR_HEIGHT; x++) {
                    boolean edge = y == ly || y == ly + BAR_HEIGHT - 1 || x == lx || x == lx + BAR_HEIGHT - 1;
                    if (edge) img.setRGB(x, y, b.rgb());
                }
            }
            ly += 16;
        }
        labels(img, bar, max, unit, boxes);
        return img;
    }

    /** The words of the scale and the legend; left out, with the rest of the image kept, where no font can be loaded. */
    private static void labels(BufferedImage img, int[] bar, double max, String unit, Box... boxes) {
        try {
            Graphics2D g = img.createGraphics();
            try {
                g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                g.setColor(Color.WHITE);
                int ty = bar[2] + BAR_HEIGHT + 13;
                g.drawString("0", bar[0], ty);
                String top = Text.num(max);
                g.drawString(top, bar[1] - g.getFontMetrics().stringWidth(top), ty);
                String mid = unit == null ? "" : unit;
                g.drawString(mid, (bar[0] + bar[1]) / 2 - g.getFontMetrics().stringWidth(mid) / 2, ty + 13);
                int lx = img.getWidth() / 2 + 8 + BAR_HEIGHT + 6, ly = bar[2] + BAR_HEIGHT - 1;
                for (Box b : boxes) {
                    g.drawString(b.label() == null ? "" : b.label(), lx, ly);
                    ly += 16;
                }
            } finally {
                g.dispose();
            }
        } catch (LinkageError | AWTError e) {
            // no font libraries (e.g. no libfreetype / libharfbuzz): the scale and the swatches are drawn, the words are not
        }
    }

    static void write(BufferedImage img, Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            if (!ImageIO.write(img, "png", file.toFile())) throw new IllegalStateException("no PNG writer in this JVM");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** A scale that fits {@link #MAX_SIDE} for a map of {@code cells} per side, 16 at most. */
    static int suggestedScale(int cells) {
        return Math.max(1, Math.min(16, MAX_SIDE / Math.max(1, cells)));
    }

    /** A scale that makes the longer side about {@code target} pixels. */
    static int scaleFor(int cells, int target) {
        return Math.max(1, target / Math.max(1, cells));
    }
}
