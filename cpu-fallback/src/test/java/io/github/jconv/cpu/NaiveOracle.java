package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;

import java.util.ArrayList;
import java.util.List;

/**
 * Direct loops over the definitions in FP64, written from the semantics in core's documentation
 * and independent of the backend's geometry, tiling and GEMM. For development checks only; the
 * conformance kit in module tests holds the authoritative reference.
 */
final class NaiveOracle {
    private NaiveOracle() {
    }

    /** One product term: x[xi] * w[wi] contributes to y[yi]. */
    interface Term {
        void on(int xi, int wi, int yi);
    }

    static List<int[]> positions(int[] dims) {
        List<int[]> out = new ArrayList<>();
        int[] idx = new int[dims.length];
        while (true) {
            out.add(idx.clone());
            int a = dims.length - 1;
            while (a >= 0 && ++idx[a] == dims[a]) idx[a--] = 0;
            if (a < 0) return out;
        }
    }

    static int flat(int[] dims, int[] idx) {
        int f = 0;
        for (int a = 0; a < dims.length; a++) f = f * dims[a] + idx[a];
        return f;
    }

    static int volume(int[] dims) {
        int v = 1;
        for (int d : dims) v *= d;
        return v;
    }

    /** Every product term of a convolution or transposed convolution. */
    static void terms(ConvSpec s, Term f) {
        int r = s.rank();
        int[] in = s.input(), out = s.output(), ker = s.kernel();
        int inSp = volume(in), outSp = volume(out), kv = volume(ker);
        int cin = s.inChannels(), cout = s.outChannels(), g = s.groups();
        int cg = cin / g, kg = cout / g;
        List<int[]> taps = positions(ker);
        boolean tr = s.type() == ConvType.TRANSPOSED;
        List<int[]> places = positions(tr ? in : out);
        int[] other = new int[r];
        for (int n = 0; n < s.batch(); n++) {
            for (int grp = 0; grp < g; grp++) {
                for (int ci = 0; ci < cg; ci++) {
                    for (int ko = 0; ko < kg; ko++) {
                        int c = grp * cg + ci, k = grp * kg + ko;
                        for (int[] p : places) {
                            for (int[] t : taps) {
                                boolean ok = true;
                                for (int a = 0; a < r && ok; a++) {
                                    other[a] = p[a] * s.stride(a) - s.paddingLo(a) + t[a] * s.dilation(a);
                                    ok = other[a] >= 0 && other[a] < (tr ? out[a] : in[a]);
                                }
                                if (!ok) continue;
                                int tf = flat(ker, t);
                                if (tr) {
                                    f.on((n * cin + c) * inSp + flat(in, p), (c * kg + ko) * kv + tf, (n * cout + k) * outSp + flat(out, other));
                                } else {
                                    f.on((n * cin + c) * inSp + flat(in, other), (k * cg + ci) * kv + tf, (n * cout + k) * outSp + flat(out, p));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static double[] forward(ConvSpec s, double[] x, double[] w, double[] b, double[] off, double[] mask) {
        double[] y = new double[(int) s.outputShape().elementCount()];
        if (s.type() == ConvType.DEFORMABLE) {
            deformTerms(s, x, off, mask, (n, c, k, wi, yi, val, m, corners, cw, gy, gx) -> y[yi] += m * val * w[wi]);
        } else {
            terms(s, (xi, wi, yi) -> y[yi] += x[xi] * w[wi]);
        }
        if (s.bias()) {
            int sp = (int) s.outputSpatial();
            for (int i = 0; i < y.length; i++) y[i] += b[(i / sp) % s.outChannels()];
        }
        return y;
    }

    static double[] backwardData(ConvSpec s, double[] dy, double[] w, double[] off, double[] mask) {
        double[] dx = new double[(int) s.inputShape().elementCount()];
        if (s.type() == ConvType.DEFORMABLE) {
            deformTerms(s, dx, off, mask, (n, c, k, wi, yi, val, m, corners, cw, gy, gx) -> {
                for (int q = 0; q < 4; q++) if (corners[q] >= 0) dx[corners[q]] += dy[yi] * w[wi] * m * cw[q];
            });
        } else {
            terms(s, (xi, wi, yi) -> dx[xi] += dy[yi] * w[wi]);
        }
        return dx;
    }

    static double[] backwardWeight(ConvSpec s, double[] x, double[] dy, double[] off, double[] mask) {
        double[] dw = new double[(int) s.weightShape().elementCount()];
        if (s.type() == ConvType.DEFORMABLE) {
            deformTerms(s, x, off, mask, (n, c, k, wi, yi, val, m, corners, cw, gy, gx) -> dw[wi] += dy[yi] * m * val);
        } else {
            terms(s, (xi, wi, yi) -> dw[wi] += x[xi] * dy[yi]);
        }
        return dw;
    }

    static double[] backwardBias(ConvSpec s, double[] dy) {
        double[] db = new double[s.outChannels()];
        int sp = (int) s.outputSpatial();
        for (int i = 0; i < dy.length; i++) db[(i / sp) % s.outChannels()] += dy[i];
        return db;
    }

    /** {grad offset, grad mask (or null)}. */
    static double[][] backwardOffsetMask(ConvSpec s, double[] x, double[] w, double[] dy, double[] off, double[] mask) {
        double[] dOff = new double[(int) s.offsetShape().elementCount()];
        double[] dMask = s.modulated() ? new double[(int) s.maskShape().elementCount()] : null;
        int kv = (int) s.kernelVolume(), og = s.offsetGroups(), os = (int) s.outputSpatial();
        int perOg = s.inChannels() / og;
        deformTerms(s, x, off, mask, (n, c, k, wi, yi, val, m, corners, cw, gy, gx) -> {
            int t = wi % kv, grp = c / perOg, p = yi % os;
            int oy = ((n * 2 * og + grp * 2) * kv + 2 * t) * os + p;
            dOff[oy] += dy[yi] * w[wi] * m * gy;
            dOff[oy + os] += dy[yi] * w[wi] * m * gx;
            if (dMask != null) dMask[((n * og + grp) * kv + t) * os + p] += dy[yi] * w[wi] * val;
        });
        return new double[][]{dOff, dMask};
    }

    interface DeformTerm {
        /** val: unmasked bilinear sample; corners: x indices or -1; cw: corner weights; gy, gx: d val / d(py, px). */
        void on(int n, int c, int k, int wi, int yi, double val, double m, int[] corners, double[] cw, double gy, double gx);
    }

    static void deformTerms(ConvSpec s, double[] x, double[] off, double[] mask, DeformTerm f) {
        int h = s.input(0), wd = s.input(1), oh = s.output(0), ow = s.output(1), kh = s.kernel(0), kw = s.kernel(1);
        int kv = kh * kw, cin = s.inChannels(), cout = s.outChannels(), g = s.groups(), og = s.offsetGroups();
        int cg = cin / g, kg = cout / g, perOg = cin / og;
        int[] corners = new int[4];
        double[] cw = new double[4];
        for (int n = 0; n < s.batch(); n++) {
            for (int c = 0; c < cin; c++) {
                int grp = c / cg, o = c / perOg;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        for (int ky = 0; ky < kh; ky++) {
                            for (int kx = 0; kx < kw; kx++) {
                                int t = ky * kw + kx, p = oy * ow + ox;
                                double py = oy * s.stride(0) - s.paddingLo(0) + ky * s.dilation(0)
                                        + off[((n * 2 * og + 2 * o) * kv + 2 * t) * oh * ow + p];
                                double px = ox * s.stride(1) - s.paddingLo(1) + kx * s.dilation(1)
                                        + off[((n * 2 * og + 2 * o) * kv + 2 * t + 1) * oh * ow + p];
                                double m = s.modulated() ? mask[((n * og + o) * kv + t) * oh * ow + p] : 1;
                                double val = 0, gy = 0, gx = 0;
                                java.util.Arrays.fill(corners, -1);
                                java.util.Arrays.fill(cw, 0);
                                // the offset gradient counts every in-image neighbour of the cell, with no test on the
                                // point itself (torchvision): at py = -1 exactly the slope is x[0] - 0; the value (and
                                // the corners dx is scattered to) only inside the open box (-1, H) x (-1, W)
                                boolean value = py > -1 && py < h && px > -1 && px < wd;
                                if (py >= -1 && py < h && px >= -1 && px < wd) {
                                    int y0 = (int) Math.floor(py), x0 = (int) Math.floor(px);
                                    double ly = py - y0, lx = px - x0;
                                    int[][] at = {{y0, x0}, {y0, x0 + 1}, {y0 + 1, x0}, {y0 + 1, x0 + 1}};
                                    double[] wy = {1 - ly, 1 - ly, ly, ly}, wx = {1 - lx, lx, 1 - lx, lx};
                                    double[] sy = {-1, -1, 1, 1}, sx = {-1, 1, -1, 1};
                                    for (int q = 0; q < 4; q++) {
                                        if (at[q][0] < 0 || at[q][0] >= h || at[q][1] < 0 || at[q][1] >= wd) continue;
                                        int xi = (n * cin + c) * h * wd + at[q][0] * wd + at[q][1];
                                        double v = x[xi];
                                        gy += sy[q] * wx[q] * v;
                                        gx += sx[q] * wy[q] * v;
                                        if (!value) continue;
                                        corners[q] = xi;
                                        cw[q] = wy[q] * wx[q];
                                        val += cw[q] * v;
                                    }
                                }
                                for (int ko = 0; ko < kg; ko++) {
                                    int k = grp * kg + ko;
                                    f.on(n, c, k, (k * cg + c - grp * cg) * kv + t, (n * cout + k) * oh * ow + p,
                                            val, m, corners, cw, gy, gx);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
