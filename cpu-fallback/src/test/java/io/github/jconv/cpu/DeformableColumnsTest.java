package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The deformable offset and mask gradients of {@link FloatColumns#coordinateGrads}, which sum four corner
 * values per (tap, position) over the channels and form the slopes afterwards, against the straightforward
 * loop written out below (each channel's slope and value summed, position by position). Offsets put samples
 * inside, on the border, far outside, at an exact -1, and at NaN or infinity; channel counts that are not a
 * multiple of the channel block (32), one of them over three blocks; position ranges that start inside the
 * image. Special positions take the same path in both (exact match, NaN included); elsewhere the two differ
 * by FP64 rounding of sums of at most 70 terms, so the FP32 results agree to one unit in the last place plus 1e-12 of the terms' magnitude
 * (Σ|G|·max|x|). One case is derived by hand as well.
 */
class DeformableColumnsTest {
    private static final String[] SPECS = {
            "dg1msk1mb1ic13ih7iw6oc3kh3kw3ph1pw1", "dg1msk1mb1ic70ih5iw5oc2kh3kw3ph1pw1",
            "dg1mb1ic6ih4iw9oc2kh2kw3sh2sw1ph0pw1", "dg1msk1mb1ic2ih3iw3oc2kh1kw1"};

    private static float[] offsets(Geometry g, java.util.Random r) {
        float[] off = new float[2 * g.kv * g.os];
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, -1f, -1e9f, 0.5f, (float) g.ih, -0.999f, 1f, Float.NEGATIVE_INFINITY};
        for (int i = 0; i < off.length; i++) off[i] = i % 7 == 0 ? special[(i / 7) % special.length] : (float) (2 * r.nextGaussian());
        return off;
    }

    @Test
    void cornerSumCoordinateGradsMatchThePerChannelSlopes() {
        java.util.Random r = new java.util.Random(9);
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        for (String spec : SPECS) {
            Geometry g = Geometry.of(ConvSpec.parse(spec));
            float[] x = new float[1 + g.c * g.is];
            for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
            float[] off = offsets(g, r), mask = new float[g.kv * g.os];
            for (int i = 0; i < mask.length; i++) mask[i] = r.nextFloat();
            for (int[] range : new int[][]{{0, g.os}, {1, Math.min(g.os, 4)}, {g.os / 3, g.os}}) {
                int p0 = range[0], p1 = range[1], len = p1 - p0;
                int c0 = 0, c1 = g.c;
                float[] colGrad = new float[(c1 - c0) * g.kv * len];
                for (int i = 0; i < colGrad.length; i++) colGrad[i] = r.nextFloat() * 2 - 1;
                float[] wantOff = new float[off.length], wantMask = new float[mask.length];
                float[] gotOff = new float[off.length], gotMask = new float[mask.length];
                reference(g, x, 1, c0, c1, colGrad, len, off, mask, wantOff, wantMask, p0, p1);
                FloatColumns.coordinateGrads(g, x, 1, c0, c1, colGrad, len, off, 0, mask, 0, gotOff, gotMask, p0, p1, s);
                double scale = 0, xMax = 0;
                for (float v : colGrad) scale += Math.abs(v);
                for (float v : x) xMax = Math.max(xMax, Math.abs(v));
                scale *= xMax;
                for (int i = 0; i < off.length; i++) close(wantOff[i], gotOff[i], scale, spec + " positions " + p0 + ".." + p1 + ": dOff[" + i + "]");
                for (int i = 0; i < mask.length; i++) close(wantMask[i], gotMask[i], scale, spec + " positions " + p0 + ".." + p1 + ": dMask[" + i + "]");
            }
        }
    }

    /**
     * By hand: a 2×2 image [[1, 2], [3, 5]], one 1×1 tap, offset (0.25, 0.5) at output (0, 0), mask 0.5,
     * column gradient 2. ly = 0.25, lx = 0.5; the y slope is (1-lx)(3-1) + lx(5-2) = 1 + 1.5 = 2.5, so
     * dOffY = 2 · 2.5 · 0.5 = 2.5; the x slope is (1-ly)(2-1) + ly(5-3) = 0.75 + 0.5 = 1.25, so dOffX = 1.25;
     * the sampled value is 0.375 + 0.75 + 0.375 + 0.625 = 2.125, so dMask = 2 · 2.125 = 4.25.
     */
    @Test
    void coordinateGradsByHand() {
        Geometry g = Geometry.of(ConvSpec.parse("dg1msk1mb1ic1ih2iw2oc1kh1kw1"));
        float[] off = new float[2 * g.os], mask = new float[g.os], dOff = new float[off.length], dMask = new float[mask.length];
        off[0] = 0.25f;
        off[g.os] = 0.5f;
        mask[0] = 0.5f;
        float[] colGrad = new float[g.os];
        colGrad[0] = 2;
        FloatColumns.coordinateGrads(g, new float[]{1, 2, 3, 5}, 0, 0, 1, colGrad, g.os, off, 0, mask, 0, dOff, dMask, 0, g.os,
                new Scratch(new AtomicLong(), new AtomicLong()));
        assertEquals(2.5f, dOff[0], "dOffY");
        assertEquals(1.25f, dOff[g.os], "dOffX");
        assertEquals(4.25f, dMask[0], "dMask");
    }

    /** The coordinate gradients position by position, the channel sum innermost (torchvision's coordinate-weight rule). */
    private static void reference(Geometry g, float[] x, int xBase, int c0, int c1, float[] colGrad, int len,
                                  float[] off, float[] mask, float[] dOff, float[] dMask, int p0, int p1) {
        for (int t = 0; t < g.kv; t++) {
            int ty = t / g.kw, tx = t - ty * g.kw;
            int dyBase = 2 * t * g.os, dxBase = dyBase + g.os, mBase = t * g.os;
            for (int p = p0; p < p1; p++) {
                int oy = p / g.ow, ox = p - oy * g.ow;
                double offY = off[dyBase + p], offX = off[dxBase + p];
                double m = g.modulated ? mask[mBase + p] : 1;
                int row = t * len + p - p0;
                double gy = 0, gx = 0, gm = 0;
                boolean nan = Double.isNaN(offY) || Double.isNaN(offX);
                long y0 = nan ? Long.MIN_VALUE : FloatColumns.cell(oy * g.sh - g.ph + ty * g.dh, offY);
                long x0 = nan ? Long.MIN_VALUE : FloatColumns.cell(ox * g.sw - g.pw + tx * g.dw, offX);
                if (y0 >= -1 && y0 < g.ih && x0 >= -1 && x0 < g.iw) {
                    double ly = FloatColumns.fraction(offY), lx = FloatColumns.fraction(offX), hy = 1 - ly, hx = 1 - lx;
                    boolean value = FloatColumns.valueInside(y0, ly, g.ih) && FloatColumns.valueInside(x0, lx, g.iw);
                    for (int c = c0; c < c1; c++) {
                        int xc = xBase + c * g.is;
                        double v00 = pixel(g, x, xc, y0, x0), v01 = pixel(g, x, xc, y0, x0 + 1);
                        double v10 = pixel(g, x, xc, y0 + 1, x0), v11 = pixel(g, x, xc, y0 + 1, x0 + 1);
                        double cg = colGrad[(c - c0) * g.kv * len + row];
                        gy += cg * (hx * (v10 - v00) + lx * (v11 - v01));
                        gx += cg * (hy * (v01 - v00) + ly * (v11 - v10));
                        gm += cg * (value ? hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11 : 0);
                    }
                } else {
                    double sl = nan ? offY + offX : 0;
                    for (int c = c0; c < c1; c++) gy += colGrad[(c - c0) * g.kv * len + row] * sl;
                    gx = gy;
                    gm = gy;
                }
                dOff[dyBase + p] = (float) (gy * m);
                dOff[dxBase + p] = (float) (gx * m);
                if (g.modulated) dMask[mBase + p] = (float) gm;
            }
        }
    }

    private static void close(float want, float got, double scale, String what) {
        if (Float.isNaN(want) || Float.isInfinite(want)) {
            assertEquals(want, got, what);
            return;
        }
        double err = Math.abs((double) want - got), bound = Math.ulp(want) + 1e-12 * scale;
        org.junit.jupiter.api.Assertions.assertTrue(err <= bound, what + ": " + got + " against " + want + ", error " + err + " > " + bound);
    }

    private static double pixel(Geometry g, float[] x, int xc, long y, long xx) {
        return y >= 0 && y < g.ih && xx >= 0 && xx < g.iw ? x[xc + (int) (y * g.iw + xx)] : 0;
    }
}
