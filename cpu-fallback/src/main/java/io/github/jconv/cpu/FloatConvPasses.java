package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;

import static io.github.jconv.cpu.FloatPasses.addBias;
import static io.github.jconv.cpu.FloatPasses.allFinite;
import static io.github.jconv.cpu.FloatPasses.batchChunks;
import static io.github.jconv.cpu.FloatPasses.channelBlocks;
import static io.github.jconv.cpu.FloatPasses.chunkStart;
import static io.github.jconv.cpu.FloatPasses.columnTile;
import static io.github.jconv.cpu.FloatPasses.floats;
import static io.github.jconv.cpu.FloatPasses.splitFor;
import static io.github.jconv.cpu.FloatPasses.sumChunks;
import static io.github.jconv.cpu.FloatPasses.tile;

/**
 * The standard convolution family's FP32 kernels ({@link GemmConvFamily}): forward as column tiles and
 * GEMM (the input itself where pointwise) or as the implicit GEMM ({@link FloatImplicitGemm}), backward data
 * as the flipped-kernel gather ({@link CpuAlgorithm#IM2COL_GEMM}, {@link CpuAlgorithm#IMPLICIT_GEMM}) or as
 * GEMM then col2im ({@link CpuAlgorithm#GEMM_COL2IM}), and the weight gradient as a reduction over fixed batch chunks.
 */
final class FloatConvPasses {
    private FloatConvPasses() {
    }

    /** Runs the view's pass {@code v} on the arrays of {@code a}. */
    static void run(ViewPass v, Geometry g, CpuAlgorithm alg, ConvArgs a, WorkerPool pool) {
        float[] data = floats(a, v.data), operand = floats(a, v.operand), out = floats(a, v.result);
        float[] b = v.bias == null ? null : floats(a, v.bias);
        switch (v.kind) {
            case FORWARD -> forward(g, alg, data, operand, b, out, pool);
            case BACKWARD_DATA -> backwardData(g, alg, data, operand, b, out, pool);
            case BACKWARD_WEIGHT -> backwardWeight(g, alg, data, operand, out, pool);
        }
    }

    // ---- forward (gather) ----

    static void forward(Geometry g, CpuAlgorithm alg, float[] x, float[] w, float[] b, float[] y, WorkerPool pool) {
        if (alg == CpuAlgorithm.IMPLICIT_GEMM) {
            FloatImplicitGemm.forward(g, x, w, b, y, pool);
            return;
        }
        boolean pw = alg == CpuAlgorithm.POINTWISE_GEMM;
        // The plain GEMM gathers same-shape columns itself; the Vector API kernel packs its own layout.
        boolean gathered = !pw && !FloatGemm.VECTOR && FloatColumns.sameShape(g);
        int t = pw ? Math.min(g.os, 4096) : gathered ? FloatPasses.gatheredTile(g.os, g.ow, g.kg) : columnTile(g.rows, g.os, g.ow);
        int tiles = (g.os + t - 1) / t;
        // The weights are the same A for every tile: packed once (Vector API), not once per tile.
        int shortest = g.os - (tiles - 1) * t;
        float[] wp = FloatGemm.prepackA(g.g, g.kg, g.rows, w, 0, g.kg * g.rows, g.rows, 1, shortest, pool);
        pool.forEach(g.batch * g.g * tiles, (i, s) -> {
            int tl = i % tiles, rest = i / tiles, grp = rest % g.g, n = rest / g.g;
            int p0 = tl * t, p1 = Math.min(g.os, p0 + t), len = p1 - p0;
            int xBase = (n * g.c + grp * g.cg) * g.is;
            int yOff = (n * g.k + grp * g.kg) * g.os + p0;
            if (pw) {
                FloatGemm.gemmPrepackedA(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, 1, wp, grp,
                        x, xBase + p0, g.is, 1, y, yOff, g.os, false, s);
            } else if (gathered) {
                FloatGemm.gemmGathered(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, g, x, xBase, p0, y, yOff, g.os, s);
            } else {
                // Rows ld apart: a stride the Vector API GEMM reads in place, without packing (FloatGemm.columnStride).
                int ld = FloatGemm.columnStride(len);
                float[] col = s.floats(Scratch.COLUMNS, g.rows * ld);
                for (int r = 0; r < g.rows; r++) FloatColumns.im2col(g, x, xBase, r, r + 1, p0, p1, col, r * ld);
                FloatGemm.gemmPrepackedA(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, 1, wp, grp,
                        col, 0, ld, 1, y, yOff, g.os, false, s);
            }
            if (b != null) addBias(b, grp * g.kg, g.kg, y, yOff, g.os, len);
        });
    }

    // ---- backward data; with bias, the forward pass of a transposed convolution ----

    static void backwardData(Geometry g, CpuAlgorithm alg, float[] dy, float[] w, float[] bias, float[] dx, WorkerPool pool) {
        // The gather reads dy through zero padding and would multiply a NaN or infinite weight by those
        // zeros, marking pixels that no real (output, tap) pair reaches: such weights take the scatter.
        if ((alg == CpuAlgorithm.IM2COL_GEMM || alg == CpuAlgorithm.IMPLICIT_GEMM) && allFinite(w)) {
            forward(g.adjoint(), alg, dy, flippedWeights(g, w, pool), bias, dx, pool);
        } else {
            scatter(g, alg == CpuAlgorithm.POINTWISE_GEMM, dy, w, bias, dx, pool);
        }
    }

    /**
     * Backward data as GEMM into columns, then col2im onto dx (pointwise: the GEMM writes dx itself). It forms
     * only the real (output, tap) pairs, as the op is defined, so every family sends non-finite weights here.
     */
    static void scatter(Geometry g, boolean pw, float[] dy, float[] w, float[] bias, float[] dx, WorkerPool pool) {
        int[] blocks = channelBlocks(g, splitFor(g.batch * g.g));
        int nb = blocks.length - 1;
        pool.forEach(g.batch * nb, (i, s) -> {
            int n = i / nb, bi = i % nb, c0 = blocks[bi], c1 = blocks[bi + 1];
            int grp = c0 / g.cg;
            int r0 = (c0 - grp * g.cg) * g.kv, r1 = (c1 - grp * g.cg) * g.kv;
            int t = pw ? Math.min(g.os, 4096) : columnTile(r1 - r0, g.os, g.ow);
            int dxBase = (n * g.c + c0) * g.is;
            if (!pw) java.util.Arrays.fill(dx, dxBase, (n * g.c + c1) * g.is, 0);
            for (int p0 = 0; p0 < g.os; p0 += t) {
                int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                int dyOff = (n * g.k + grp * g.kg) * g.os + p0;
                int aOff = grp * g.kg * g.rows + r0;
                if (pw) {
                    FloatGemm.gemm(r1 - r0, len, g.kg, w, aOff, 1, g.rows, dy, dyOff, g.os, 1,
                            dx, dxBase + p0, g.is, false, s);
                } else {
                    float[] col = s.floats(Scratch.COLUMNS, (r1 - r0) * len);
                    FloatGemm.gemm(r1 - r0, len, g.kg, w, aOff, 1, g.rows, dy, dyOff, g.os, 1, col, 0, len, false, s);
                    FloatColumns.col2im(g, col, 0, 0, r1 - r0, p0, p1, dx, dxBase);
                }
            }
            if (bias != null) addBias(bias, c0, c1 - c0, dx, dxBase, g.is, g.is);
        });
    }

    /** w'[g·cg + c][kk][t] = w[g·kg + kk][c][kv − 1 − t]: the adjoint's weights, in shared scratch. */
    private static float[] flippedWeights(Geometry g, float[] w, WorkerPool pool) {
        float[] f = pool.shared().floats(Scratch.SHARED_WEIGHTS, w.length);
        pool.forEach(g.g * g.cg, (i, s) -> {
            int grp = i / g.cg, c = i % g.cg;
            for (int kk = 0; kk < g.kg; kk++) {
                int src = ((grp * g.kg + kk) * g.cg + c) * g.kv;
                int dst = ((grp * g.cg + c) * g.kg + kk) * g.kv;
                for (int t = 0; t < g.kv; t++) f[dst + t] = w[src + g.kv - 1 - t];
            }
        });
        return f;
    }

    // ---- backward weight (reduction over batch and space) ----

    static void backwardWeight(Geometry g, CpuAlgorithm alg, float[] x, float[] dy, float[] dw, WorkerPool pool) {
        if (alg == CpuAlgorithm.IMPLICIT_GEMM) {
            FloatImplicitWeights.backwardWeight(g, x, dy, dw, pool);
            return;
        }
        boolean pw = alg == CpuAlgorithm.POINTWISE_GEMM;
        int[] blocks = channelBlocks(g, Math.max(1, (g.rows + 511) / 512));
        int nb = blocks.length - 1;
        // All output channels of a group in one task: B (the columns) is packed once for every row of dW.
        int kb = g.kg;
        int nk = (g.kg + kb - 1) / kb;
        int chunks = batchChunks(g, nb * nk);
        float[] target = chunks == 1 ? dw : pool.shared().floats(Scratch.SHARED_PARTIALS, chunks * dw.length);
        pool.forEach(chunks * nb * nk, (i, s) -> {
            int ki = i % nk, rest = i / nk, bi = rest % nb, ch = rest / nb;
            int c0 = blocks[bi], c1 = blocks[bi + 1], grp = c0 / g.cg;
            int r0 = (c0 - grp * g.cg) * g.kv, rb = (c1 - c0) * g.kv;
            int k0 = ki * kb, kn = Math.min(kb, g.kg - k0);
            int cOff = ch * dw.length + (grp * g.kg + k0) * g.rows + r0;
            for (int q = 0; q < kn; q++) java.util.Arrays.fill(target, cOff + q * g.rows, cOff + q * g.rows + rb, 0);
            int t = pw ? Math.min(g.os, 4096) : tile(rb, g.os);
            for (int n = chunkStart(g.batch, chunks, ch), nEnd = chunkStart(g.batch, chunks, ch + 1); n < nEnd; n++) {
                int xBase = (n * g.c + grp * g.cg) * g.is;
                for (int p0 = 0; p0 < g.os; p0 += t) {
                    int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                    int aOff = (n * g.k + grp * g.kg + k0) * g.os + p0;
                    if (pw) {
                        FloatGemm.gemm(kn, rb, len, dy, aOff, g.os, 1, x, xBase + r0 * g.is + p0, 1, g.is,
                                target, cOff, g.rows, true, s);
                    } else {
                        float[] col = s.floats(Scratch.COLUMNS, rb * len);
                        FloatColumns.im2col(g, x, xBase, r0, r0 + rb, p0, p1, col, 0);
                        FloatGemm.gemm(kn, rb, len, dy, aOff, g.os, 1, col, 0, 1, len, target, cOff, g.rows, true, s);
                    }
                }
            }
        });
        if (chunks > 1) sumChunks(target, chunks, dw, pool);
    }
}
