package io.github.jconv.tools.bench;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A grouped bar chart of GFLOP/s per problem and pass: jconv beside its peer, ratio on top. */
final class BenchChart {
    static final Color JCONV = new Color(0x1f, 0x77, 0xb4);
    static final Color PEER = new Color(0xff, 0x7f, 0x0e);
    private static final Color INK = new Color(0x30, 0x30, 0x30);
    private static final Color GRID = new Color(0xdd, 0xdd, 0xdd);
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 50;
    private static final int BOTTOM = 50;

    private BenchChart() {
    }

    static void write(Path png, List<BenchResults.Row> rows, int width, int height, String title, String peerName)
            throws IOException {
        if (width < 200 || height < 150) {
            throw new IllegalArgumentException("chart size = " + width + "x" + height + ": must be at least 200x150; e.g. 1000x560");
        }
        BufferedImage img = render(rows, width, height, title, peerName);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        // through our own stream: ImageIO's file path prints the JDK's stack trace when the file cannot be opened
        try (java.io.OutputStream out = Files.newOutputStream(png)) {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer in this JVM; cannot write " + png);
        }
    }

    static BufferedImage render(List<BenchResults.Row> rows, int width, int height, String title, String peerName) {
        List<BenchResults.Row> shown = new ArrayList<>();
        boolean anyPeer = false;
        double max = 0;
        for (BenchResults.Row r : rows) {
            if (Double.isNaN(r.jconvGflops()) && Double.isNaN(r.peerGflops())) continue;
            shown.add(r);
            if (!Double.isNaN(r.jconvGflops())) max = Math.max(max, r.jconvGflops());
            if (!Double.isNaN(r.peerGflops())) {
                max = Math.max(max, r.peerGflops());
                anyPeer = true;
            }
        }
        double top = niceCeiling(max <= 0 ? 1 : max * 1.08);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            // text is smoothed; bars stay crisp so their colours are exact
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            int plotW = width - LEFT - RIGHT;
            int plotH = height - TOP - BOTTOM;
            int baseY = TOP + plotH;
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            FontMetrics fm = g.getFontMetrics();
            for (int i = 0; i <= 5; i++) {
                double v = top * i / 5;
                int y = baseY - (int) Math.round(plotH * (double) i / 5);
                g.setColor(GRID);
                g.drawLine(LEFT, y, LEFT + plotW, y);
                g.setColor(INK);
                String label = fmt(v);
                g.drawString(label, LEFT - 6 - fm.stringWidth(label), y + fm.getAscent() / 2 - 1);
            }
            g.setColor(INK);
            g.setStroke(new BasicStroke(1));
            g.drawLine(LEFT, TOP, LEFT, baseY);
            g.drawLine(LEFT, baseY, LEFT + plotW, baseY);
            Graphics2D rot = (Graphics2D) g.create();
            rot.rotate(-Math.PI / 2);
            rot.drawString("GFLOP/s", -(TOP + plotH / 2) - fm.stringWidth("GFLOP/s") / 2, 16);
            rot.dispose();

            int n = Math.max(1, shown.size());
            double groupW = (double) plotW / n;
            int bars = anyPeer ? 2 : 1;
            int barW = Math.max(1, (int) (groupW * 0.7 / bars));
            for (int i = 0; i < shown.size(); i++) {
                BenchResults.Row r = shown.get(i);
                int gx = LEFT + (int) Math.round(groupW * i + (groupW - barW * bars) / 2);
                bar(g, gx, baseY, barW, plotH, r.jconvGflops(), top, JCONV);
                if (anyPeer) bar(g, gx + barW, baseY, barW, plotH, r.peerGflops(), top, PEER);
                g.setColor(INK);
                int cx = LEFT + (int) Math.round(groupW * i + groupW / 2);
                center(g, r.problem(), cx, baseY + 14);
                center(g, r.pass().label(), cx, baseY + 28);
                if (!Double.isNaN(r.ratio())) {
                    double hi = Math.max(r.jconvGflops(), r.peerGflops());
                    int y = baseY - (int) Math.round(plotH * hi / top) - 4;
                    center(g, String.format(Locale.ROOT, "%.2fx", r.ratio()), cx, y);
                }
            }
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.setColor(INK);
            g.drawString(title, LEFT, 22);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            int lx = width - RIGHT - 230;
            legend(g, lx, 32, JCONV, "jconv");
            if (anyPeer) legend(g, lx + 80, 32, PEER, peerName == null || peerName.isEmpty() ? "peer" : peerName);
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void bar(Graphics2D g, int x, int baseY, int w, int plotH, double v, double top, Color c) {
        if (Double.isNaN(v) || v <= 0) return;
        int h = (int) Math.round(plotH * Math.min(v, top) / top);
        g.setColor(c);
        g.fillRect(x, baseY - h, w, h);
    }

    private static void legend(Graphics2D g, int x, int y, Color c, String text) {
        g.setColor(c);
        g.fillRect(x, y - 9, 10, 10);
        g.setColor(INK);
        g.drawString(text, x + 14, y);
    }

    private static void center(Graphics2D g, String s, int cx, int y) {
        g.drawString(s, cx - g.getFontMetrics().stringWidth(s) / 2, y);
    }

    private static String fmt(double v) {
        return v >= 10 || v == 0 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2g", v);
    }

    /** The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 times a power of ten that is at least v. */
    static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
            if (m * p >= v) return m * p;
        }
        return 10 * p;
    }
}
