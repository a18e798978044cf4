package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;

import static io.github.jconv.cpu.FloatPasses.allFinite;
import static io.github.jconv.cpu.FloatPasses.batchChunks;
import static io.github.jconv.cpu.FloatPasses.chunkStart;
import static io.github.jconv.cpu.FloatPasses.floats;
import static io.github.jconv.cpu.FloatPasses.sumChunks;

/**
 * The depthwise family's FP32 passes ({@link DepthwiseFamily}): one task per (sample, channel), or per
 * (batch chunk, channel) for the weight gradient. Each pass takes {@link FloatDepthwise}'s shifted-row
 * kernels where they apply and the direct tap loops below otherwise; backward data with a non-finite
 * weight takes the scatter of {@link FloatConvPasses#scatter}.
 */
final class FloatDepthwisePasses {
    private FloatDepthwisePasses() {
    }

    /** Runs the view's pass {@code v} on the arrays of {@code a}. */
    static void run(ViewPass v, Geometry g, ConvArgs a, WorkerPool pool) {
        float[] data = floats(a, v.data), operand = floats(a, v.operand), out = floats(a, v.result);
        float[] b = v.bias == null ? null : floats(a, v.bias);
        switch (v.kind) {
            case FORWARD -> forward(g, data, operand, b, out, pool);
            case BACKWARD_DATA -> backwardData(g, data, operand, b, out, pool);
            case BACKWARD_WEIGHT -> backwardWeight(g, data, operand, out, pool);
        }
    }

    static void forward(Geometry g, float[] x, float[] w, float[] b, float[] y, WorkerPool pool) {
        if (FloatDepthwise.applies(g)) {
            pool.forEach(g.batch * g.c, (i, s) -> FloatDepthwise.forward(g, i / g.c, i % g.c, x, w, b, y, s));
        } else {
            pool.forEach(g.batch * g.c, (i, s) -> depthwiseForward(g, i / g.c, i % g.c, x, w, b, y));
        }
    }

    static void backwardData(Geometry g, float[] dy, float[] w, float[] bias, float[] dx, WorkerPool pool) {
        // The gathers read dy through zero padding and would multiply a NaN or infinite weight by those zeros.
        if (!allFinite(w)) {
            FloatConvPasses.scatter(g, false, dy, w, bias, dx, pool);
        } else if (FloatDepthwise.appliesToBackwardData(g)) {
            pool.forEach(g.batch * g.c, (i, s) -> FloatDepthwise.backwardData(g, i / g.c, i % g.c, dy, w, bias, dx, s));
        } else {
            pool.forEach(g.batch * g.c, (i, s) -> depthwiseBackwardData(g, i / g.c, i % g.c, dy, w, bias, dx));
        }
    }

    static void backwardWeight(Geometry g, float[] x, float[] dy, float[] dw, WorkerPool pool) {
        int chunks = batchChunks(g, g.c);
        float[] target = chunks == 1 ? dw : pool.shared().floats(Scratch.SHARED_PARTIALS, chunks * dw.length);
        pool.forEach(chunks * g.c, (i, s) -> {
            int ch = i / g.c, c = i % g.c;
            int n0 = chunkStart(g.batch, chunks, ch), n1 = chunkStart(g.batch, chunks, ch + 1);
            if (FloatDepthwise.applies(g)) {
                FloatDepthwise.backwardWeight(g, c, n0, n1, x, dy, target, ch * dw.length, s);
            } else {
                depthwiseBackwardWeight(g, c, n0, n1, x, dy, target, ch * dw.length);
            }
        });
        if (chunks > 1) sumChunks(target, chunks, dw, pool);
    }

    private static void depthwiseForward(Geometry g, int n, int c, float[] x, float[] w, float[] b, float[] y) {
        int xb = (n * g.c + c) * g.is, yb = (n * g.k + c) * g.os, wb = c * g.kv;
        float bias = b == null ? 0 : b[c];
        for (int oz = 0; oz < g.od; oz++) {
            for (int oy = 0; oy < g.oh; oy++) {
                int yr = yb + (oz * g.oh + oy) * g.ow;
                java.util.Arrays.fill(y, yr, yr + g.ow, bias);
                for (int tz = 0; tz < g.kd; tz++) {
                    int iz = oz * g.sd - g.pd + tz * g.dd;
                    if (iz < 0 || iz >= g.id) continue;
                    for (int ty = 0; ty < g.kh; ty++) {
                        int iy = oy * g.sh - g.ph + ty * g.dh;
                        if (iy < 0 || iy >= g.ih) continue;
                        int xr = xb + (iz * g.ih + iy) * g.iw;
                        for (int tx = 0; tx < g.kw; tx++) {
                            float wv = w[wb + (tz * g.kh + ty) * g.kw + tx];
                            int ix0 = tx * g.dw - g.pw;
                            int jLo = ix0 >= 0 ? 0 : Math.min(g.ow, (-ix0 + g.sw - 1) / g.sw);
                            int jHi = ix0 >= g.iw ? 0 : Math.min(g.ow, (g.iw - 1 - ix0) / g.sw + 1);
                            if (g.sw == 1) {
                                int xs = xr + ix0;
                                for (int j = jLo; j < jHi; j++) y[yr + j] = Math.fma(wv, x[xs + j], y[yr + j]);
                            } else {
                                for (int j = jLo; j < jHi; j++) y[yr + j] = Math.fma(wv, x[xr + ix0 + j * g.sw], y[yr + j]);
                            }
                        }
                    }
                }
            }
        }
    }

    private static void depthwiseBackwardData(Geometry g, int n, int c, float[] dy, float[] w, float[] bias, float[] dx) {
        int xb = (n * g.c + c) * g.is, yb = (n * g.k + c) * g.os, wb = c * g.kv;
        java.util.Arrays.fill(dx, xb, xb + g.is, bias == null ? 0 : bias[c]);
        for (int oz = 0; oz < g.od; oz++) {
            for (int oy = 0; oy < g.oh; oy++) {
                int yr = yb + (oz * g.oh + oy) * g.ow;
                for (int tz = 0; tz < g.kd; tz++) {
                    int iz = oz * g.sd - g.pd + tz * g.dd;
                    if (iz < 0 || iz >= g.id) continue;
                    for (int ty = 0; ty < g.kh; ty++) {
                        int iy = oy * g.sh - g.ph + ty * g.dh;
                        if (iy < 0 || iy >= g.ih) continue;
                        int xr = xb + (iz * g.ih + iy) * g.iw;
                        for (int tx = 0; tx < g.kw; tx++) {
                            float wv = w[wb + (tz * g.kh + ty) * g.kw + tx];
                            int ix0 = tx * g.dw - g.pw;
                            int jLo = ix0 >= 0 ? 0 : Math.min(g.ow, (-ix0 + g.sw - 1) / g.sw);
                            int jHi = ix0 >= g.iw ? 0 : Math.min(g.ow, (g.iw - 1 - ix0) / g.sw + 1);
                            if (g.sw == 1) {
                                int xs = xr + ix0;
                                for (int j = jLo; j < jHi; j++) dx[xs + j] = Math.fma(wv, dy[yr + j], dx[xs + j]);
                            } else {
                                for (int j = jLo; j < jHi; j++) {
                                    int q = xr + ix0 + j * g.sw;
                                    dx[q] = Math.fma(wv, dy[yr + j], dx[q]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static void depthwiseBackwardWeight(Geometry g, int c, int n0, int n1, float[] x, float[] dy, float[] dw, int dwOff) {
        double[] acc = new double[g.kv];
        for (int n = n0; n < n1; n++) {
            int xb = (n * g.c + c) * g.is, yb = (n * g.k + c) * g.os;
            for (int oz = 0; oz < g.od; oz++) {
                for (int oy = 0; oy < g.oh; oy++) {
                    int yr = yb + (oz * g.oh + oy) * g.ow;
                    for (int tz = 0; tz < g.kd; tz++) {
                        int iz = oz * g.sd - g.pd + tz * g.dd;
                        if (iz < 0 || iz >= g.id) continue;
                        for (int ty = 0; ty < g.kh; ty++) {
                            int iy = oy * g.sh - g.ph + ty * g.dh;
                            if (iy < 0 || iy >= g.ih) continue;
                            int xr = xb + (iz * g.ih + iy) * g.iw;
                            for (int tx = 0; tx < g.kw; tx++) {
                                int ix0 = tx * g.dw - g.pw;
                                int jLo = ix0 >= 0 ? 0 : Math.min(g.ow, (-ix0 + g.sw - 1) / g.sw);
                                int jHi = ix0 >= g.iw ? 0 : Math.min(g.ow, (g.iw - 1 - ix0) / g.sw + 1);
                                float sum = 0;
                                for (int j = jLo; j < jHi; j++) sum = Math.fma(dy[yr + j], x[xr + ix0 + j * g.sw], sum);
                                acc[(tz * g.kh + ty) * g.kw + tx] += sum;
                            }
                        }
                    }
                }
            }
        }
        for (int t = 0; t < g.kv; t++) dw[dwOff + c * g.kv + t] = (float) acc[t];
    }
}
