package io.github.jconv.cpu;

/**
 * Column matrices in FP32: im2col/vol2col (gather an image into rows (channel, tap) × output
 * positions), col2im (scatter-add them back), and the deformable versions that sample the image
 * bilinearly at offset positions. Rows are group-local; positions are a tile [p0, p1) of the
 * flattened output, so a column tile never needs the whole image's columns.
 */
final class FloatColumns {
    private FloatColumns() {
    }

    /** col[(r - r0) * (p1 - p0) + (p - p0)] = x at row r's tap for output position p, or 0 outside. */
    static void im2col(Geometry g, float[] x, int xBase, int r0, int r1, int p0, int p1, float[] col, int colOff) {
        if (sameShape(g)) {
            sameShape(g, x, xBase, r0, r1, p0, p1, col, colOff);
        } else {
            walk(g, x, xBase, r0, r1, p0, p1, col, colOff, false);
        }
    }

    /** Unit stride and output shape = input shape: a row of the column matrix is a shifted copy of a channel. */
    static boolean sameShape(Geometry g) {
        return g.sd == 1 && g.sh == 1 && g.sw == 1 && g.ih == g.oh && g.iw == g.ow && g.id == g.od;
    }

    /**
     * Unit stride with output shape = input shape: a row of the column matrix is the channel
     * shifted by one constant, so it is one copy, then zeros where the tap falls outside the image
     * (whole output rows, or a few edge columns). Few calls per row instead of one per image row.
     */
    private static void sameShape(Geometry g, float[] x, int xBase, int r0, int r1, int p0, int p1, float[] col, int colOff) {
        int len = p1 - p0;
        int khw = g.kh * g.kw, ohw = g.oh * g.ow;
        for (int r = r0; r < r1; r++) {
            int c = r / g.kv;
            int t = r - c * g.kv;
            int dz = (t / khw) * g.dd - g.pd, dy = ((t / g.kw) % g.kh) * g.dh - g.ph, dx = (t % g.kw) * g.dw - g.pw;
            int delta = (dz * g.ih + dy) * g.iw + dx;
            int xc = xBase + c * g.is;
            int dst = colOff + (r - r0) * len;
            int lo = Math.min(p1, Math.max(p0, -delta)), hi = Math.max(lo, Math.min(p1, g.is - delta));
            if (lo > p0) java.util.Arrays.fill(col, dst, dst + lo - p0, 0);
            if (hi > lo) System.arraycopy(x, xc + lo + delta, col, dst + lo - p0, hi - lo);
            if (hi < p1) java.util.Arrays.fill(col, dst + hi - p0, dst + len, 0);
            // Output rows whose tap row is outside the image, and edge columns, read a neighbour: zero them.
            int rowFirst = p0 / g.ow, rowLast = (p1 - 1) / g.ow;
            for (int row = rowFirst; row <= rowLast; row++) {
                int oz = row / g.oh, oy = row - oz * g.oh;
                int a = Math.max(p0, row * g.ow), e = Math.min(p1, (row + 1) * g.ow);
                int iz = oz + dz, iy = oy + dy;
                if (iz < 0 || iz >= g.id || iy < 0 || iy >= g.ih) {
                    java.util.Arrays.fill(col, dst + a - p0, dst + e - p0, 0);
                } else if (dx < 0) {
                    int z = Math.min(e, row * g.ow - dx);
                    for (int q = a; q < z; q++) col[dst + q - p0] = 0;
                } else if (dx > 0) {
                    for (int q = Math.max(a, (row + 1) * g.ow - dx); q < e; q++) col[dst + q - p0] = 0;
                }
            }
        }
    }

    /** The adjoint of {@link #im2col}: adds each column value onto the input element it was read from. */
    static void col2im(Geometry g, float[] col, int colOff, int r0, int r1, int p0, int p1, float[] dx, int dxBase) {
        walk(g, dx, dxBase, r0, r1, p0, p1, col, colOff, true);
    }

    private static void walk(Geometry g, float[] img, int base, int r0, int r1, int p0, int p1,
                             float[] col, int colOff, boolean scatter) {
        int len = p1 - p0;
        int khw = g.kh * g.kw;
        int ohw = g.oh * g.ow;
        for (int r = r0; r < r1; r++) {
            int c = r / g.kv;
            int t = r - c * g.kv;
            int tz = t / khw, ty = (t / g.kw) % g.kh, tx = t % g.kw;
            int xc = base + c * g.is;
            int dst = colOff + (r - r0) * len;
            int p = p0;
            int oz = p / ohw, rem = p - oz * ohw, oy = rem / g.ow, ox = rem - oy * g.ow;
            while (p < p1) {
                int run = Math.min(g.ow - ox, p1 - p);
                int iz = oz * g.sd - g.pd + tz * g.dd;
                int iy = oy * g.sh - g.ph + ty * g.dh;
                if (iz >= 0 && iz < g.id && iy >= 0 && iy < g.ih) {
                    int rowBase = xc + (iz * g.ih + iy) * g.iw;
                    int ix0 = ox * g.sw - g.pw + tx * g.dw;
                    int jLo = ix0 >= 0 ? 0 : Math.min(run, (-ix0 + g.sw - 1) / g.sw);
                    int jHi = ix0 >= g.iw ? 0 : Math.min(run, (g.iw - 1 - ix0) / g.sw + 1);
                    if (jHi < jLo) jHi = jLo;
                    if (scatter) {
                        if (g.sw == 1) {
                            int s = rowBase + ix0;
                            for (int j = jLo; j < jHi; j++) img[s + j] += col[dst + j];
                        } else {
                            for (int j = jLo; j < jHi; j++) img[rowBase + ix0 + j * g.sw] += col[dst + j];
                        }
                    } else {
                        if (jLo > 0) java.util.Arrays.fill(col, dst, dst + jLo, 0);
                        if (g.sw == 1) {
                            // An empty range may start outside the array, which arraycopy rejects even for length 0.
                            if (jHi > jLo) System.arraycopy(img, rowBase + ix0 + jLo, col, dst + jLo, jHi - jLo);
                        } else {
                            for (int j = jLo; j < jHi; j++) col[dst + j] = img[rowBase + ix0 + j * g.sw];
                        }
                        if (jHi < run) java.util.Arrays.fill(col, dst + jHi, dst + run, 0);
                    }
                } else if (!scatter) {
                    java.util.Arrays.fill(col, dst, dst + run, 0);
                }
                dst += run;
                p += run;
                ox += run;
                if (ox == g.ow) {
                    ox = 0;
                    if (++oy == g.oh) {
                        oy = 0;
                        oz++;
                    }
                }
            }
        }
    }

    // ---- deformable (2D: od = kd = 1) ----

    /**
     * Bilinear sampling plan of one offset group for taps × positions [p0, p1): for entry
     * q = (t * len + p - p0) * 4 + corner, the input index (within a channel) and its weight, the
     * mask already folded in. Corners outside the image get weight 0 and index 0.
     */
    static void sample(Geometry g, float[] off, int offBase, float[] mask, int maskBase,
                       int p0, int p1, int[] idx, float[] wt) {
        int len = p1 - p0;
        for (int t = 0; t < g.kv; t++) {
            int ty = t / g.kw, tx = t - ty * g.kw;
            int dyBase = offBase + 2 * t * g.os, dxBase = dyBase + g.os, mBase = maskBase + t * g.os;
            for (int p = p0; p < p1; p++) {
                int oy = p / g.ow, ox = p - oy * g.ow;
                double py = (double) (oy * g.sh - g.ph + ty * g.dh) + off[dyBase + p];
                double px = (double) (ox * g.sw - g.pw + tx * g.dw) + off[dxBase + p];
                double m = g.modulated ? mask[mBase + p] : 1;
                int q = (t * len + p - p0) * 4;
                if (py <= -1 || py >= g.ih || px <= -1 || px >= g.iw) {
                    idx[q] = 0; idx[q + 1] = 0; idx[q + 2] = 0; idx[q + 3] = 0;
                    wt[q] = 0; wt[q + 1] = 0; wt[q + 2] = 0; wt[q + 3] = 0;
                    continue;
                }
                int y0 = (int) Math.floor(py), x0 = (int) Math.floor(px);
                double ly = py - y0, lx = px - x0, hy = 1 - ly, hx = 1 - lx;
                boolean yIn0 = y0 >= 0, yIn1 = y0 + 1 < g.ih, xIn0 = x0 >= 0, xIn1 = x0 + 1 < g.iw;
                int i00 = y0 * g.iw + x0;
                idx[q] = yIn0 && xIn0 ? i00 : 0;
                wt[q] = yIn0 && xIn0 ? (float) (hy * hx * m) : 0;
                idx[q + 1] = yIn0 && xIn1 ? i00 + 1 : 0;
                wt[q + 1] = yIn0 && xIn1 ? (float) (hy * lx * m) : 0;
                idx[q + 2] = yIn1 && xIn0 ? i00 + g.iw : 0;
                wt[q + 2] = yIn1 && xIn0 ? (float) (ly * hx * m) : 0;
                idx[q + 3] = yIn1 && xIn1 ? i00 + g.iw + 1 : 0;
                wt[q + 3] = yIn1 && xIn1 ? (float) (ly * lx * m) : 0;
            }
        }
    }

    /** Deformable im2col of channels [c0, c1) (relative to xBase) with a plan from {@link #sample}. */
    static void gather(Geometry g, float[] x, int xBase, int c0, int c1, int len, int[] idx, float[] wt,
                       float[] col, int colOff) {
        for (int c = c0; c < c1; c++) {
            int xc = xBase + c * g.is;
            for (int t = 0; t < g.kv; t++) {
                int dst = colOff + ((c - c0) * g.kv + t) * len;
                int q = t * len * 4;
                for (int j = 0; j < len; j++, q += 4) {
                    col[dst + j] = wt[q] * x[xc + idx[q]] + wt[q + 1] * x[xc + idx[q + 1]]
                            + wt[q + 2] * x[xc + idx[q + 2]] + wt[q + 3] * x[xc + idx[q + 3]];
                }
            }
        }
    }

    /** The adjoint of {@link #gather}: adds column gradients onto the sampled input corners. */
    static void scatter(Geometry g, float[] col, int colOff, int c0, int c1, int len, int[] idx, float[] wt,
                        float[] dx, int dxBase) {
        for (int c = c0; c < c1; c++) {
            int xc = dxBase + c * g.is;
            for (int t = 0; t < g.kv; t++) {
                int src = colOff + ((c - c0) * g.kv + t) * len;
                int q = t * len * 4;
                for (int j = 0; j < len; j++, q += 4) {
                    float v = col[src + j];
                    dx[xc + idx[q]] += wt[q] * v;
                    dx[xc + idx[q + 1]] += wt[q + 1] * v;
                    dx[xc + idx[q + 2]] += wt[q + 2] * v;
                    dx[xc + idx[q + 3]] += wt[q + 3] * v;
                }
            }
        }
    }

    /**
     * Offset and mask gradients of one offset group over positions [p0, p1): colGrad holds the
     * column gradients of the group's channels [c0, c1) (rows (c - c0) * kv + t, length len).
     */
    static void coordinateGrads(Geometry g, float[] x, int xBase, int c0, int c1, float[] colGrad, int len,
                                float[] off, int offBase, float[] mask, int maskBase,
                                float[] dOff, float[] dMask, int p0, int p1) {
        for (int t = 0; t < g.kv; t++) {
            int ty = t / g.kw, tx = t - ty * g.kw;
            int dyBase = offBase + 2 * t * g.os, dxBase = dyBase + g.os, mBase = maskBase + t * g.os;
            for (int p = p0; p < p1; p++) {
                int oy = p / g.ow, ox = p - oy * g.ow;
                double py = (double) (oy * g.sh - g.ph + ty * g.dh) + off[dyBase + p];
                double px = (double) (ox * g.sw - g.pw + tx * g.dw) + off[dxBase + p];
                double m = g.modulated ? mask[mBase + p] : 1;
                double gy = 0, gx = 0, gm = 0;
                if (!(py <= -1 || py >= g.ih || px <= -1 || px >= g.iw)) {
                    int y0 = (int) Math.floor(py), x0 = (int) Math.floor(px);
                    double ly = py - y0, lx = px - x0, hy = 1 - ly, hx = 1 - lx;
                    boolean yIn0 = y0 >= 0, yIn1 = y0 + 1 < g.ih, xIn0 = x0 >= 0, xIn1 = x0 + 1 < g.iw;
                    int i00 = y0 * g.iw + x0;
                    int row = t * len + p - p0;
                    for (int c = c0; c < c1; c++) {
                        int xc = xBase + c * g.is;
                        double v00 = yIn0 && xIn0 ? x[xc + i00] : 0;
                        double v01 = yIn0 && xIn1 ? x[xc + i00 + 1] : 0;
                        double v10 = yIn1 && xIn0 ? x[xc + i00 + g.iw] : 0;
                        double v11 = yIn1 && xIn1 ? x[xc + i00 + g.iw + 1] : 0;
                        double cgv = colGrad[(c - c0) * g.kv * len + row];
                        gy += cgv * (hx * (v10 - v00) + lx * (v11 - v01));
                        gx += cgv * (hy * (v01 - v00) + ly * (v11 - v10));
                        gm += cgv * (hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11);
                    }
                }
                dOff[dyBase + p] = (float) (gy * m);
                dOff[dxBase + p] = (float) (gx * m);
                if (g.modulated) dMask[mBase + p] = (float) gm;
            }
        }
    }
}
