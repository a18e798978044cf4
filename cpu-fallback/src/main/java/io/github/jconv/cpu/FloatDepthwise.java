package io.github.jconv.cpu;

/**
 * Depthwise passes with unit stride, one channel plane at a time, in loops C2 vectorises: the
 * plane is copied once into a zero-padded buffer, each kernel tap's shifted view is copied out
 * as its own array, and the taps are summed over the whole plane at one index. Row stride of the
 * padded buffer is kept in the result, and only the valid columns are copied out. When the output
 * is as large as the input (2D/1D), the plane is shifted flat instead ({@link #sameSize}), with no
 * per-row padding or copy-out. (JDK 17's C2 does not vectorise a loop that reads an array at an
 * offset from the loop index, hence the copies; measured 6× slower.)
 */
final class FloatDepthwise {
    /** Samples whose padded planes one weight-gradient task holds at once (scratch independent of the batch). */
    static final int SAMPLE_BLOCK = 8;

    private FloatDepthwise() {
    }

    /** Unit stride on every axis: the case these loops handle. */
    static boolean applies(Geometry g) {
        return g.sd == 1 && g.sh == 1 && g.sw == 1;
    }

    /** Backward data is a correlation with the flipped kernel and padding (k-1)·d − p, which must be non-negative. */
    static boolean appliesToBackwardData(Geometry g) {
        return applies(g) && (g.kd - 1) * g.dd >= g.pd && (g.kh - 1) * g.dh >= g.ph && (g.kw - 1) * g.dw >= g.pw;
    }

    /** Padded buffer geometry for a correlation of src (sd, sh, sw) onto dst (td, th, tw). */
    private static final class Pad {
        final int dp, hp, wp, len;

        Pad(Geometry g, int sD, int sH, int sW, int tD, int tH, int tW, int pD, int pH, int pW) {
            wp = Math.max(sW + pW, tW + (g.kw - 1) * g.dw);
            hp = Math.max(sH + pH, tH + (g.kh - 1) * g.dh);
            dp = Math.max(sD + pD, tD + (g.kd - 1) * g.dd);
            len = ((tD - 1) * hp + (tH - 1)) * wp + tW;
        }

        int offset(Geometry g, int t) {
            int tz = t / (g.kh * g.kw), ty = (t / g.kw) % g.kh, tx = t % g.kw;
            return (tz * g.dd * hp + ty * g.dh) * wp + tx * g.dw;
        }
    }

    /** Copies a plane into the zero-padded buffer and each tap's shifted view into rows[t]. */
    private static float[][] shifted(Geometry g, Pad p, float[] src, int base, int sD, int sH, int sW,
                                     int pD, int pH, int pW, Scratch s) {
        float[] xp = s.floats(Scratch.STAGED, p.dp * p.hp * p.wp);
        java.util.Arrays.fill(xp, 0, p.dp * p.hp * p.wp, 0);
        for (int z = 0; z < sD; z++) {
            for (int y = 0; y < sH; y++) {
                System.arraycopy(src, base + (z * sH + y) * sW, xp, ((z + pD) * p.hp + y + pH) * p.wp + pW, sW);
            }
        }
        float[][] rows = s.floatRows(Scratch.GEMM_A, g.kv, p.len);
        for (int t = 0; t < g.kv; t++) System.arraycopy(xp, p.offset(g, t), rows[t], 0, p.len);
        return rows;
    }

    /**
     * Planes whose output is as large as the input (2D or 1D): the taps' shifted views are shifts of
     * the flat plane, so the plane needs zeros only before and after it, not around every row, and
     * the result is already in the output's layout. Measured on P4: the per-row copies into and out
     * of the padded buffer cost about as much as the multiply-adds.
     */
    private static boolean sameSize(Geometry g) {
        return g.kd == 1 && g.id == 1 && g.od == 1 && g.ih == g.oh && g.iw == g.ow;
    }

    /**
     * Each tap's view of an h×w plane, shifted by (ky·dh − pH, kx·dw − pW), into rows[t], copied from
     * the flat plane with zeros before and after it. A read past the left or right edge would wrap
     * to the neighbouring row; such reads are exactly the reads of the columns a horizontal shift
     * cannot reach from a valid output, so each shift copies from its own version of the plane with
     * those columns zeroed (measured: zeroing them in every tap's row cost a third of P4's time).
     */
    /**
     * acc += the plane correlated with wts, four taps at a time through four reused rows (the same
     * multiply-adds in the same order as {@link #sumTaps}); four rows stay in L1 where nine did not.
     */
    private static void flatCorrelate(Geometry g, float[] src, int base, int h, int w, int pH, int pW,
                                      float[] wts, float[] acc, Scratch s) {
        int len = h * w;
        float[] xp = s.floats(Scratch.STAGED, (g.kw + 1) * flatLength(g, h, w, pH, pW));
        flatPlanes(g, src, base, h, w, pH, pW, xp, 0);
        float[][] rows = s.floatRows(Scratch.GEMM_A, 4, len);
        int t = 0;
        for (; t + 4 <= g.kv; t += 4) {
            for (int q = 0; q < 4; q++) flatRow(g, xp, 0, h, w, pH, pW, t + q, rows[q]);
            taps4(wts[t], wts[t + 1], wts[t + 2], wts[t + 3], rows[0], rows[1], rows[2], rows[3], acc, len);
        }
        for (; t < g.kv; t++) {
            flatRow(g, xp, 0, h, w, pH, pW, t, rows[0]);
            taps1(wts[t], rows[0], acc, len);
        }
    }

    /** Length of one version of the flat plane with its zeros before and after. */
    private static int flatLength(Geometry g, int h, int w, int pH, int pW) {
        int post = Math.max(0, ((g.kh - 1) * g.dh - pH) * w + (g.kw - 1) * g.dw - pW);
        return pH * w + pW + h * w + post;
    }

    /** The flat plane at xp[at], then for each horizontal shift that wraps, a copy with its wrapping columns zeroed. */
    private static void flatPlanes(Geometry g, float[] src, int base, int h, int w, int pH, int pW, float[] xp, int at) {
        int len = h * w, pre = pH * w + pW, xl = flatLength(g, h, w, pH, pW);
        java.util.Arrays.fill(xp, at, at + pre, 0);
        System.arraycopy(src, base, xp, at + pre, len);
        java.util.Arrays.fill(xp, at + pre + len, at + xl, 0);
        for (int kx = 0; kx < g.kw; kx++) {
            int sx = kx * g.dw - pW;
            int lo = sx < 0 ? Math.max(0, w + sx) : 0, hi = sx < 0 ? w : Math.min(w, sx);
            if (lo < hi) {
                int v = at + (kx + 1) * xl;
                System.arraycopy(xp, at, xp, v, xl);
                for (int col = lo; col < hi; col++) for (int j = v + pre + col; j < v + pre + len; j += w) xp[j] = 0;
            }
        }
    }

    /** Tap t's shifted view, copied from the plane version (built by flatPlanes at xp[at]) of its horizontal shift. */
    private static void flatRow(Geometry g, float[] xp, int at, int h, int w, int pH, int pW, int t, float[] dst) {
        int ky = t / g.kw, kx = t % g.kw;
        int len = h * w, pre = pH * w + pW, xl = flatLength(g, h, w, pH, pW);
        int sx = kx * g.dw - pW;
        int lo = sx < 0 ? Math.max(0, w + sx) : 0, hi = sx < 0 ? w : Math.min(w, sx);
        int v = at + (lo < hi ? (kx + 1) * xl : 0);
        System.arraycopy(xp, v + pre + (ky * g.dh - pH) * w + sx, dst, 0, len);
    }

    private static void sumTaps(int kv, float[] wts, float[][] rows, float[] acc, int len) {
        int t = 0;
        for (; t + 4 <= kv; t += 4) taps4(wts[t], wts[t + 1], wts[t + 2], wts[t + 3], rows[t], rows[t + 1], rows[t + 2], rows[t + 3], acc, len);
        for (; t < kv; t++) taps1(wts[t], rows[t], acc, len);
    }

    // Own copies of the GEMM's row loops: sharing them would let one caller's JIT profile
    // (short planes here) decide how the other's loops are compiled.
    private static void taps4(float a0, float a1, float a2, float a3, float[] b0, float[] b1, float[] b2, float[] b3,
                              float[] acc, int n) {
        for (int j = 0; j < n; j++) {
            acc[j] = Math.fma(a3, b3[j], Math.fma(a2, b2[j], Math.fma(a1, b1[j], Math.fma(a0, b0[j], acc[j]))));
        }
    }

    private static void taps1(float a0, float[] b0, float[] acc, int n) {
        for (int j = 0; j < n; j++) acc[j] = Math.fma(a0, b0[j], acc[j]);
    }

    private static void copyOut(Pad p, float[] acc, float[] dst, int base, int tD, int tH, int tW) {
        for (int z = 0; z < tD; z++) {
            for (int y = 0; y < tH; y++) {
                System.arraycopy(acc, (z * p.hp + y) * p.wp, dst, base + (z * tH + y) * tW, tW);
            }
        }
    }

    /** y[n, c] = b[c] + x[n, c] ⋆ w[c]. */
    static void forward(Geometry g, int n, int c, float[] x, float[] w, float[] b, float[] y, Scratch s) {
        if (sameSize(g)) {
            int len = g.ih * g.iw;
            float[] wts = s.floats(Scratch.GEMM_B, g.kv);
            System.arraycopy(w, c * g.kv, wts, 0, g.kv);
            float[] acc = s.floats(Scratch.COLUMNS, len);
            java.util.Arrays.fill(acc, 0, len, b == null ? 0 : b[c]);
            flatCorrelate(g, x, (n * g.c + c) * g.is, g.ih, g.iw, g.ph, g.pw, wts, acc, s);
            System.arraycopy(acc, 0, y, (n * g.k + c) * g.os, len);
            return;
        }
        Pad p = new Pad(g, g.id, g.ih, g.iw, g.od, g.oh, g.ow, g.pd, g.ph, g.pw);
        float[][] rows = shifted(g, p, x, (n * g.c + c) * g.is, g.id, g.ih, g.iw, g.pd, g.ph, g.pw, s);
        float[] wts = s.floats(Scratch.GEMM_B, g.kv);
        System.arraycopy(w, c * g.kv, wts, 0, g.kv);
        float[] acc = s.floats(Scratch.COLUMNS, p.len);
        java.util.Arrays.fill(acc, 0, p.len, b == null ? 0 : b[c]);
        sumTaps(g.kv, wts, rows, acc, p.len);
        copyOut(p, acc, y, (n * g.k + c) * g.os, g.od, g.oh, g.ow);
    }

    /** dx[n, c] = (bias[c] +) dy[n, c] correlated with the flipped w[c]. */
    static void backwardData(Geometry g, int n, int c, float[] dy, float[] w, float[] bias, float[] dx, Scratch s) {
        int pD = (g.kd - 1) * g.dd - g.pd, pH = (g.kh - 1) * g.dh - g.ph, pW = (g.kw - 1) * g.dw - g.pw;
        if (sameSize(g)) {
            int len = g.ih * g.iw;
            float[] wts = s.floats(Scratch.GEMM_B, g.kv);
            for (int t = 0; t < g.kv; t++) wts[t] = w[c * g.kv + g.kv - 1 - t];
            float[] acc = s.floats(Scratch.COLUMNS, len);
            java.util.Arrays.fill(acc, 0, len, bias == null ? 0 : bias[c]);
            flatCorrelate(g, dy, (n * g.k + c) * g.os, g.ih, g.iw, pH, pW, wts, acc, s);
            System.arraycopy(acc, 0, dx, (n * g.c + c) * g.is, len);
            return;
        }
        Pad p = new Pad(g, g.od, g.oh, g.ow, g.id, g.ih, g.iw, pD, pH, pW);
        float[][] rows = shifted(g, p, dy, (n * g.k + c) * g.os, g.od, g.oh, g.ow, pD, pH, pW, s);
        float[] wts = s.floats(Scratch.GEMM_B, g.kv);
        for (int t = 0; t < g.kv; t++) wts[t] = w[c * g.kv + g.kv - 1 - t];
        float[] acc = s.floats(Scratch.COLUMNS, p.len);
        java.util.Arrays.fill(acc, 0, p.len, bias == null ? 0 : bias[c]);
        sumTaps(g.kv, wts, rows, acc, p.len);
        copyOut(p, acc, dx, (n * g.c + c) * g.is, g.id, g.ih, g.iw);
    }

    /** dw[c] over samples [n0, n1): per tap, elementwise products summed over the plane. */
    static void backwardWeight(Geometry g, int c, int n0, int n1, float[] x, float[] dy, float[] dw, int dwOff, Scratch s) {
        if (sameSize(g)) {
            // Tap by tap (three at a time), every sample of a block in turn: three shifted rows and
            // their accumulators stay in L1, where all nine taps' rows and accumulators did not.
            int len = g.ih * g.iw, xl = (g.kw + 1) * flatLength(g, g.ih, g.iw, g.ph, g.pw);
            float[][] acc = s.floatRows(Scratch.GEMM_B, g.kv, len);
            for (int t = 0; t < g.kv; t++) java.util.Arrays.fill(acc[t], 0, len, 0);
            float[][] rows = s.floatRows(Scratch.GEMM_A, 3, len);
            float[] dyp = s.floats(Scratch.COLUMNS, len);
            for (int nb = n0; nb < n1; nb += SAMPLE_BLOCK) {
                int ne = Math.min(n1, nb + SAMPLE_BLOCK);
                float[] xs = s.floats(Scratch.STAGED, (ne - nb) * xl);
                for (int n = nb; n < ne; n++) flatPlanes(g, x, (n * g.c + c) * g.is, g.ih, g.iw, g.ph, g.pw, xs, (n - nb) * xl);
                for (int t0 = 0; t0 < g.kv; t0 += 3) {
                    int tc = Math.min(3, g.kv - t0);
                    for (int n = nb; n < ne; n++) {
                        System.arraycopy(dy, (n * g.k + c) * g.os, dyp, 0, len);
                        for (int q = 0; q < tc; q++) flatRow(g, xs, (n - nb) * xl, g.ih, g.iw, g.ph, g.pw, t0 + q, rows[q]);
                        if (tc == 3) fmaProduct3(dyp, rows[0], rows[1], rows[2], acc[t0], acc[t0 + 1], acc[t0 + 2], len);
                        else for (int q = 0; q < tc; q++) fmaProduct(dyp, rows[q], acc[t0 + q], len);
                    }
                }
            }
            for (int t = 0; t < g.kv; t++) dw[dwOff + c * g.kv + t] = (float) sum(acc[t], len);
            return;
        }
        Pad p = new Pad(g, g.id, g.ih, g.iw, g.od, g.oh, g.ow, g.pd, g.ph, g.pw);
        float[][] acc = s.floatRows(Scratch.GEMM_B, g.kv, p.len);
        for (int t = 0; t < g.kv; t++) java.util.Arrays.fill(acc[t], 0, p.len, 0);
        float[] dyp = s.floats(Scratch.COLUMNS, p.len);
        for (int n = n0; n < n1; n++) {
            float[][] rows = shifted(g, p, x, (n * g.c + c) * g.is, g.id, g.ih, g.iw, g.pd, g.ph, g.pw, s);
            // dy in the padded layout, zero in the columns that are not outputs.
            java.util.Arrays.fill(dyp, 0, p.len, 0);
            int yb = (n * g.k + c) * g.os;
            for (int z = 0; z < g.od; z++) {
                for (int y = 0; y < g.oh; y++) {
                    System.arraycopy(dy, yb + (z * g.oh + y) * g.ow, dyp, (z * p.hp + y) * p.wp, g.ow);
                }
            }
            for (int t = 0; t < g.kv; t++) fmaProduct(dyp, rows[t], acc[t], p.len);
        }
        for (int t = 0; t < g.kv; t++) dw[dwOff + c * g.kv + t] = (float) sum(acc[t], p.len);
    }

    /** Three taps at once: one load of dy for three products. */
    private static void fmaProduct3(float[] a, float[] b0, float[] b1, float[] b2, float[] acc0, float[] acc1, float[] acc2, int n) {
        for (int j = 0; j < n; j++) {
            float d = a[j];
            acc0[j] = Math.fma(d, b0[j], acc0[j]);
            acc1[j] = Math.fma(d, b1[j], acc1[j]);
            acc2[j] = Math.fma(d, b2[j], acc2[j]);
        }
    }

    private static void fmaProduct(float[] a, float[] b, float[] acc, int n) {
        for (int j = 0; j < n; j++) acc[j] = Math.fma(a[j], b[j], acc[j]);
    }

    /** A fixed-order sum with eight running partials (independent chains), then the partials in order. */
    private static double sum(float[] a, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            s0 += a[j]; s1 += a[j + 1]; s2 += a[j + 2]; s3 += a[j + 3];
            s4 += a[j + 4]; s5 += a[j + 5]; s6 += a[j + 6]; s7 += a[j + 7];
        }
        for (; j < n; j++) s0 += a[j];
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }
}
