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
        int khw = g.kh * g.kw;
        int rowFirst = p0 / g.ow, rowLast = (p1 - 1) / g.ow;
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
            // The output row's (z, y) advance with the row (no division per row: this loop ran once per
            // gathered row and output row, and its divisions took most of the gather's time on P2 and P7).
            int oz = rowFirst / g.oh, oy = rowFirst - oz * g.oh;
            int rowStart = rowFirst * g.ow - p0;
            for (int row = rowFirst; row <= rowLast; row++, rowStart += g.ow) {
                int iz = oz + dz, iy = oy + dy;
                if (iz < 0 || iz >= g.id || iy < 0 || iy >= g.ih) {
                    java.util.Arrays.fill(col, dst + Math.max(0, rowStart), dst + Math.min(len, rowStart + g.ow), 0);
                } else if (dx < 0) {
                    for (int q = Math.max(0, rowStart), z = Math.min(len, rowStart - dx); q < z; q++) col[dst + q] = 0;
                } else if (dx > 0) {
                    for (int q = Math.max(0, rowStart + g.ow - dx), e = Math.min(len, rowStart + g.ow); q < e; q++) col[dst + q] = 0;
                }
                if (++oy == g.oh) {
                    oy = 0;
                    oz++;
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

    /** |⌊offset⌋| is clamped here before it becomes an integer: far beyond any image, and exact in FP32. */
    private static final double FAR = 0x1p40;

    /**
     * The integer cell ⌊base + off⌋, computed as base + ⌊off⌋ so that no bit of the offset's fraction is
     * lost to a large base coordinate; off must not be NaN (an infinite offset lands far outside).
     */
    static long cell(int base, double off) {
        return base + (long) Math.max(-FAR, Math.min(FAR, Math.floor(off)));
    }

    /** The fraction off − ⌊off⌋ of a finite offset, in [0, 1]: the bilinear weight of the upper neighbour. */
    static double fraction(double off) {
        return off - Math.floor(off);
    }

    /** Position cell + frac inside the open interval (−1, size): where the sampled value may be non-zero. */
    static boolean valueInside(long cell, double frac, int size) {
        return (cell >= 0 || (cell == -1 && frac > 0)) && cell < size;
    }

    /**
     * Bilinear sampling plan of one offset group for taps × positions [p0, p1): for entry
     * q = (t * len + p - p0) * 4 + corner, the input index (within a channel) and its weight, the
     * mask already folded in. A corner outside the image has index −1 (nothing is read or written
     * there) and keeps its weight; a sample outside the open box (−1, H) × (−1, W) has four such
     * corners of weight 0·mask, and a NaN position four of weight NaN, so its value is NaN while it
     * touches no pixel.
     */
    static void sample(Geometry g, float[] off, int offBase, float[] mask, int maskBase,
                       int p0, int p1, int[] idx, float[] wt) {
        int len = p1 - p0;
        for (int t = 0; t < g.kv; t++) {
            int ty = t / g.kw, tx = t - ty * g.kw;
            int dyBase = offBase + 2 * t * g.os, dxBase = dyBase + g.os, mBase = maskBase + t * g.os;
            for (int p = p0; p < p1; p++) {
                int oy = p / g.ow, ox = p - oy * g.ow;
                double offY = off[dyBase + p], offX = off[dxBase + p];
                double m = g.modulated ? mask[mBase + p] : 1;
                int q = (t * len + p - p0) * 4;
                idx[q] = -1; idx[q + 1] = -1; idx[q + 2] = -1; idx[q + 3] = -1;
                if (Double.isNaN(offY) || Double.isNaN(offX)) {
                    float nan = (float) (offY + offX);
                    wt[q] = nan; wt[q + 1] = nan; wt[q + 2] = nan; wt[q + 3] = nan;
                    continue;
                }
                long y0 = cell(oy * g.sh - g.ph + ty * g.dh, offY), x0 = cell(ox * g.sw - g.pw + tx * g.dw, offX);
                double ly = fraction(offY), lx = fraction(offX);
                if (!valueInside(y0, ly, g.ih) || !valueInside(x0, lx, g.iw)) {
                    float z = (float) (0 * m);
                    wt[q] = z; wt[q + 1] = z; wt[q + 2] = z; wt[q + 3] = z;
                    continue;
                }
                double hy = 1 - ly, hx = 1 - lx;
                boolean yIn0 = y0 >= 0, yIn1 = y0 + 1 < g.ih, xIn0 = x0 >= 0, xIn1 = x0 + 1 < g.iw;
                int i00 = (int) (y0 * g.iw + x0);
                if (yIn0 && xIn0) idx[q] = i00;
                wt[q] = (float) (hy * hx * m);
                if (yIn0 && xIn1) idx[q + 1] = i00 + 1;
                wt[q + 1] = (float) (hy * lx * m);
                if (yIn1 && xIn0) idx[q + 2] = i00 + g.iw;
                wt[q + 2] = (float) (ly * hx * m);
                if (yIn1 && xIn1) idx[q + 3] = i00 + g.iw + 1;
                wt[q + 3] = (float) (ly * lx * m);
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
                    int i0 = idx[q], i1 = idx[q + 1], i2 = idx[q + 2], i3 = idx[q + 3];
                    if ((i0 | i1 | i2 | i3) >= 0) {
                        col[dst + j] = wt[q] * x[xc + i0] + wt[q + 1] * x[xc + i1]
                                + wt[q + 2] * x[xc + i2] + wt[q + 3] * x[xc + i3];
                    } else {
                        // a corner outside the image reads zero; the product is still formed (NaN · 0 is NaN)
                        col[dst + j] = wt[q] * (i0 < 0 ? 0 : x[xc + i0]) + wt[q + 1] * (i1 < 0 ? 0 : x[xc + i1])
                                + wt[q + 2] * (i2 < 0 ? 0 : x[xc + i2]) + wt[q + 3] * (i3 < 0 ? 0 : x[xc + i3]);
                    }
                }
            }
        }
    }

    /** The adjoint of {@link #gather}: adds column gradients onto the sampled input corners inside the image. */
    static void scatter(Geometry g, float[] col, int colOff, int c0, int c1, int len, int[] idx, float[] wt,
                        float[] dx, int dxBase) {
        for (int c = c0; c < c1; c++) {
            int xc = dxBase + c * g.is;
            for (int t = 0; t < g.kv; t++) {
                int src = colOff + ((c - c0) * g.kv + t) * len;
                int q = t * len * 4;
                for (int j = 0; j < len; j++, q += 4) {
                    float v = col[src + j];
                    int i0 = idx[q], i1 = idx[q + 1], i2 = idx[q + 2], i3 = idx[q + 3];
                    if (i0 >= 0) dx[xc + i0] += wt[q] * v;
                    if (i1 >= 0) dx[xc + i1] += wt[q + 1] * v;
                    if (i2 >= 0) dx[xc + i2] += wt[q + 2] * v;
                    if (i3 >= 0) dx[xc + i3] += wt[q + 3] * v;
                }
            }
        }
    }

    /** Plan flags of {@link #coordinateGrads}: a corner inside the image (bits 0..3), the value inside, a neighbour inside. */
    static final int VALUE = 16, NEAR = 32;
    /** Channels summed per sweep over the plan: the plan and the sums are read once per block, not once per channel. */
    private static final int CHANNEL_BLOCK = 32;

    /**
     * Offset and mask gradients of one offset group over positions [p0, p1): colGrad holds the
     * column gradients of the group's channels [c0, c1) (rows (c - c0) * kv + t, length len).
     * The offset gradient follows torchvision's coordinate-weight rule: the slope of the bilinear
     * form on the cell, each in-image neighbour counted, no test on the position itself (so a
     * coordinate of exactly −1 has the slope from inside the image); the mask gradient is Σ G·value.
     *
     * <p>All three are linear in the four corner sums S_ab = Σ_c G_c · x_c(corner ab) (a corner outside
     * the image reads 0): ∂/∂y = (1−lx)(S10 − S00) + lx(S11 − S01), ∂/∂x = (1−ly)(S01 − S00) + ly(S11 − S10),
     * value = Σ of the bilinear weights times S. So the channel loop forms only the four sums (in FP64, in
     * ascending channel order, so the same bits for any thread count), from a plan (cell, fractions, corner
     * flags) computed once per (tap, position), two entries at a time where all their corners are inside (eight
     * independent sums instead of four dependent chains). These are not the bits of summing each channel's slope:
     * the difference is FP64 rounding of the sums, far below the FP32 result's rounding.
     */
    static void coordinateGrads(Geometry g, float[] x, int xBase, int c0, int c1, float[] colGrad, int len,
                                float[] off, int offBase, float[] mask, int maskBase,
                                float[] dOff, float[] dMask, int p0, int p1, Scratch s) {
        int n = g.kv * len;
        // pd: [0, n) ly (or, with no neighbour inside, the slope 0 or NaN), [n, 2n) lx, then the corner sums S00, S01, S10, S11
        double[] pd = s.doubles(Scratch.STAGED, 6 * n);
        // pi: [0, n) the corner (y0, x0) as an index within a channel, [n, 2n) the flags
        int[] pi = s.ints(Scratch.SAMPLE_INDEX, 2 * n);
        coordinatePlan(g, off, offBase, p0, p1, pd, pi);
        java.util.Arrays.fill(pd, 2 * n, 6 * n, 0);
        int iw = g.iw;
        for (int cb = c0; cb < c1; cb += CHANNEL_BLOCK) {
            int ce = Math.min(c1, cb + CHANNEL_BLOCK);
            for (int e = 0; e < n; e++) {
                if (e + 1 < n && (pi[n + e] & pi[n + e + 1] & 15) == 15) {
                    // two entries with every corner inside: eight independent sums
                    int f = e + 1, a0 = pi[e], a1 = pi[f];
                    double s00 = pd[2 * n + e], s01 = pd[3 * n + e], s10 = pd[4 * n + e], s11 = pd[5 * n + e];
                    double t00 = pd[2 * n + f], t01 = pd[3 * n + f], t10 = pd[4 * n + f], t11 = pd[5 * n + f];
                    for (int c = cb; c < ce; c++) {
                        int xc = xBase + c * g.is, xa = xc + a0, xb = xc + a1, r = (c - c0) * n;
                        double cg = colGrad[r + e], ch = colGrad[r + f];
                        s00 += cg * x[xa];
                        t00 += ch * x[xb];
                        s01 += cg * x[xa + 1];
                        t01 += ch * x[xb + 1];
                        s10 += cg * x[xa + iw];
                        t10 += ch * x[xb + iw];
                        s11 += cg * x[xa + iw + 1];
                        t11 += ch * x[xb + iw + 1];
                    }
                    pd[2 * n + e] = s00;
                    pd[3 * n + e] = s01;
                    pd[4 * n + e] = s10;
                    pd[5 * n + e] = s11;
                    pd[2 * n + f] = t00;
                    pd[3 * n + f] = t01;
                    pd[4 * n + f] = t10;
                    pd[5 * n + f] = t11;
                    e++;
                    continue;
                }
                int k = pi[n + e];
                double s00 = pd[2 * n + e], s01 = pd[3 * n + e], s10 = pd[4 * n + e], s11 = pd[5 * n + e];
                if ((k & 15) == 15) {
                    int i00 = pi[e];
                    for (int c = cb; c < ce; c++) {
                        int xc = xBase + c * g.is + i00;
                        double cg = colGrad[(c - c0) * n + e];
                        s00 += cg * x[xc];
                        s01 += cg * x[xc + 1];
                        s10 += cg * x[xc + iw];
                        s11 += cg * x[xc + iw + 1];
                    }
                } else if ((k & NEAR) != 0) {
                    int i00 = pi[e];
                    for (int c = cb; c < ce; c++) {
                        int xc = xBase + c * g.is + i00;
                        double cg = colGrad[(c - c0) * n + e];
                        s00 += cg * ((k & 1) != 0 ? x[xc] : 0);
                        s01 += cg * ((k & 2) != 0 ? x[xc + 1] : 0);
                        s10 += cg * ((k & 4) != 0 ? x[xc + iw] : 0);
                        s11 += cg * ((k & 8) != 0 ? x[xc + iw + 1] : 0);
                    }
                } else {
                    double sl = pd[e];
                    for (int c = cb; c < ce; c++) s00 += colGrad[(c - c0) * n + e] * sl;
                }
                pd[2 * n + e] = s00;
                pd[3 * n + e] = s01;
                pd[4 * n + e] = s10;
                pd[5 * n + e] = s11;
            }
        }
        coordinateFinish(g, mask, maskBase, offBase, p0, p1, pd, pi, dOff, dMask);
    }

    /**
     * The plan of {@link #coordinateGrads} for taps × positions [p0, p1) (entry e = tap · len + p − p0): in pd[e], pd[n + e]
     * the fractions ly, lx (or, with no neighbour inside, the slope 0 or NaN in pd[e]); in pi[e] the corner (y0, x0) as an
     * index within a channel, in pi[n + e] the flags (corners inside, value inside, a neighbour inside).
     */
    static void coordinatePlan(Geometry g, float[] off, int offBase, int p0, int p1, double[] pd, int[] pi) {
        int len = p1 - p0, n = g.kv * len;
        for (int t = 0; t < g.kv; t++) {
            int ty = t / g.kw, tx = t - ty * g.kw;
            int dyBase = offBase + 2 * t * g.os, dxBase = dyBase + g.os;
            for (int p = p0; p < p1; p++) {
                int oy = p / g.ow, ox = p - oy * g.ow;
                double offY = off[dyBase + p], offX = off[dxBase + p];
                int e = t * len + p - p0;
                long y0 = Double.isNaN(offY) || Double.isNaN(offX) ? Long.MIN_VALUE : cell(oy * g.sh - g.ph + ty * g.dh, offY);
                long x0 = y0 == Long.MIN_VALUE ? Long.MIN_VALUE : cell(ox * g.sw - g.pw + tx * g.dw, offX);
                if (y0 >= -1 && y0 < g.ih && x0 >= -1 && x0 < g.iw) {
                    double ly = fraction(offY), lx = fraction(offX);
                    boolean yIn0 = y0 >= 0, yIn1 = y0 + 1 < g.ih, xIn0 = x0 >= 0, xIn1 = x0 + 1 < g.iw;
                    pd[e] = ly;
                    pd[n + e] = lx;
                    pi[e] = (int) (y0 * g.iw + x0);
                    pi[n + e] = NEAR | (valueInside(y0, ly, g.ih) && valueInside(x0, lx, g.iw) ? VALUE : 0)
                            | (yIn0 && xIn0 ? 1 : 0) | (yIn0 && xIn1 ? 2 : 0) | (yIn1 && xIn0 ? 4 : 0) | (yIn1 && xIn1 ? 8 : 0);
                } else {
                    // no neighbour in the image (or a NaN position): every slope and value is 0 (NaN),
                    // and the products with the column gradients are still formed (NaN · 0 is NaN)
                    pd[e] = y0 == Long.MIN_VALUE ? offY + offX : 0;
                    pi[n + e] = 0;
                }
            }
        }
    }

    /** The offset and mask gradients of [p0, p1) from the plan and the corner sums S00, S01, S10, S11 in pd[2n…6n). */
    static void coordinateFinish(Geometry g, float[] mask, int maskBase, int offBase, int p0, int p1, double[] pd, int[] pi,
                                 float[] dOff, float[] dMask) {
        int len = p1 - p0, n = g.kv * len;
        for (int t = 0; t < g.kv; t++) {
            int dyBase = offBase + 2 * t * g.os, dxBase = dyBase + g.os, mBase = maskBase + t * g.os;
            for (int p = p0; p < p1; p++) {
                int e = t * len + p - p0;
                double m = g.modulated ? mask[mBase + p] : 1;
                int k = pi[n + e];
                double s00 = pd[2 * n + e], gy = s00, gx = s00, gm = s00;
                if ((k & NEAR) != 0) {
                    double s01 = pd[3 * n + e], s10 = pd[4 * n + e], s11 = pd[5 * n + e];
                    double ly = pd[e], lx = pd[n + e], hy = 1 - ly, hx = 1 - lx;
                    gy = hx * (s10 - s00) + lx * (s11 - s01);
                    gx = hy * (s01 - s00) + ly * (s11 - s10);
                    gm = (k & VALUE) != 0 ? hy * hx * s00 + hy * lx * s01 + ly * hx * s10 + ly * lx * s11 : 0 * (s00 + s01 + s10 + s11);
                }
                dOff[dyBase + p] = (float) (gy * m);
                dOff[dxBase + p] = (float) (gx * m);
                if (g.modulated) dMask[mBase + p] = (float) gm;
            }
        }
    }

}
