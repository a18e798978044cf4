package io.github.jconv.cpu;

import jdk.incubator.vector.FloatVector;

import static io.github.jconv.cpu.FloatImplicitGemm.MR;
import static io.github.jconv.cpu.FloatImplicitGemm.NR;
import static io.github.jconv.cpu.FloatImplicitGemm.S;
import static io.github.jconv.cpu.FloatImplicitGemm.VL;

/**
 * The unit-stride weight gradient as an implicit GEMM along the raster of {@link FloatImplicitGemm}:
 * dW[k][r] = sum over the output positions q of dy[k][q] · st[q + off[r]], with the input rows staged once per
 * step and the output gradient staged position-major; no column matrix. Vector API only, like FloatImplicitGemm.
 */
final class FloatImplicitWeights {
    private FloatImplicitWeights() {
    }

    /** Output rows per weight-gradient step for a block of {@code channels} input channels. */
    static int weightRows(Geometry g, int channels) {
        int pw = g.ow + (g.kw - 1) * g.dw, halo = (g.kh - 1) * g.dh;
        long perRow = (long) channels * g.kd * pw, dyRow = (long) (g.kg + NR) * pw;
        int fit = (int) Math.max(1, Math.min(ImplicitGemm.STAGE_BUDGET / perRow - halo, ImplicitGemm.OUT_BUDGET / dyRow));
        int blocks = (g.oh + fit - 1) / fit;
        return (g.oh + blocks - 1) / blocks;
    }

    /** Channel blocks per group of the weight gradient's tasks. */
    static int split(Geometry g) {
        int per = Math.min(g.batch, FloatPasses.MAX_BATCH_CHUNKS);
        // Half the usual task target: every channel block restages the output gradient of each step, so fewer
        // blocks do less of that (measured on P7, one thread: 16 tasks 110 ms, 8 tasks 100 ms, 4 tasks 91 ms).
        return Math.max(1, Math.min(g.cg, (FloatPasses.TASK_TARGET / 2 + g.g * per - 1) / (g.g * per)));
    }

    /**
     * Tasks (batch chunk, channel block): each sums its block of dW over its chunk's samples, planes and row
     * blocks in that order, into its own partial copy; the partials are added in chunk order. The output
     * gradient is staged transposed (position-major) on the same raster as the input, and the micro-kernel
     * computes a tile of MR column-matrix rows × NR output channels of dW over the raster's real positions
     * (the first ow of each row) in registers.
     */
    static void backwardWeight(Geometry g, float[] x, float[] dy, float[] dw, WorkerPool pool) {
        int[] blocks = FloatPasses.channelBlocks(g, split(g));
        int nb = blocks.length - 1;
        int chunks = FloatPasses.batchChunks(g, nb);
        float[] target = chunks == 1 ? dw : pool.shared().floats(Scratch.SHARED_PARTIALS, chunks * dw.length);
        pool.forEach(chunks * nb, (i, s) -> {
            int ch = i / nb, bi = i % nb, c0 = blocks[bi], c1 = blocks[bi + 1], grp = c0 / g.cg;
            int r0 = (c0 - grp * g.cg) * g.kv, rb = (c1 - c0) * g.kv;
            int base = ch * dw.length + grp * g.kg * g.rows + r0;
            for (int kk = 0; kk < g.kg; kk++) java.util.Arrays.fill(target, base + kk * g.rows, base + kk * g.rows + rb, 0);
            int rt = weightRows(g, c1 - c0);
            for (int n = FloatPasses.chunkStart(g.batch, chunks, ch), nEnd = FloatPasses.chunkStart(g.batch, chunks, ch + 1); n < nEnd; n++) {
                for (int oz = 0; oz < g.od; oz++) {
                    for (int oy0 = 0; oy0 < g.oh; oy0 += rt) {
                        weightStep(g, n, grp, c0, c1, oz, oy0, Math.min(g.oh, oy0 + rt), x, dy, target, base, s);
                    }
                }
            }
        });
        if (chunks > 1) FloatPasses.sumChunks(target, chunks, dw, pool);
    }

    private static void weightStep(Geometry g, int n, int grp, int c0, int c1, int oz, int oy0, int oy1,
                                   float[] x, float[] dy, float[] target, int base, Scratch s) {
        int pw = g.ow + (g.kw - 1) * g.dw, rows = oy1 - oy0, sr = rows + (g.kh - 1) * g.dh;
        int len = rows * pw;
        int block = sr * pw, stageLen = (c1 - c0) * g.kd * block + (g.kw - 1) * g.dw + NR;
        float[] st = s.floats(Scratch.STAGED, stageLen);
        FloatImplicitGemm.stage(g, c1 - c0, x, (n * g.c + c0) * g.is, oz, oy0, sr, pw, st);
        java.util.Arrays.fill(st, (c1 - c0) * g.kd * block, stageLen, 0);
        boolean finite = finite(st, (c1 - c0) * g.kd * block);
        // dt[q][k] = dy[k] at raster position q (zero past each row's ow and past kg).
        int kgR = (g.kg + NR - 1) / NR * NR;
        float[] dt = s.floats(Scratch.COLUMNS, kgR * len);
        java.util.Arrays.fill(dt, 0, kgR * len, 0);
        for (int kk = 0; kk < g.kg; kk++) {
            int src = (n * g.k + grp * g.kg + kk) * g.os + (oz * g.oh + oy0) * g.ow;
            for (int r = 0; r < rows; r++) {
                for (int ox = 0, at = (r * pw) * kgR + kk, from = src + r * g.ow; ox < g.ow; ox++, at += kgR) dt[at] = dy[from + ox];
            }
        }
        int rb = (c1 - c0) * g.kv, rbR = (rb + MR - 1) / MR * MR;
        int[] off = s.ints(Scratch.SAMPLE_INDEX, rbR);
        for (int r = 0; r < rbR; r++) {
            // rows past rb (padding of the last tile) read row 0's data; their sums are dropped
            int c = r < rb ? r / g.kv : 0, t = r < rb ? r % g.kv : 0;
            int tz = t / (g.kh * g.kw), ty = (t / g.kw) % g.kh, tx = t % g.kw;
            off[r] = (c * g.kd + tz) * block + ty * g.dh * pw + tx * g.dw;
        }
        float[] tile = s.floats(Scratch.GEMM_TILE, MR * NR);
        for (int j0 = 0; j0 < g.kg; j0 += NR) {
            for (int i0 = 0; i0 < rb; i0 += MR) {
                if (finite) {
                    kernelTRow(0, len, st, off, i0, dt, j0, kgR, tile, false);
                } else {
                    for (int r = 0; r < rows; r++) kernelTRow(r * pw, g.ow, st, off, i0, dt, j0, kgR, tile, r > 0);
                }
                for (int a = 0, am = Math.min(MR, rb - i0); a < am; a++) {
                    for (int b = 0, bm = Math.min(NR, g.kg - j0); b < bm; b++) target[base + (j0 + b) * g.rows + i0 + a] += tile[a * NR + b];
                }
            }
        }
    }

    /**
     * tile[i·NR + j] = sum over q in [q0, q0 + len) of st[off[i0 + i] + q] · dt[q·ld + j0 + j], i < MR, j < NR, added
     * onto the sums already in {@code tile} when {@code load}; one sum per element, in q order. A finite step runs it
     * once over the whole raster (the positions past ow are multiplied too: dt is zero there); a step whose staged
     * input has a non-finite value runs it row by row, so a position past ow (which reads another row's input) never
     * forms a product.
     */
    private static void kernelTRow(int q0, int len, float[] st, int[] off, int i0, float[] dt, int j0, int ld, float[] tile, boolean load) {
        int o0 = off[i0], o1 = off[i0 + 1], o2 = off[i0 + 2], o3 = off[i0 + 3], o4 = off[i0 + 4], o5 = off[i0 + 5];
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        if (load) {
            c00 = FloatVector.fromArray(S, tile, 0); c01 = FloatVector.fromArray(S, tile, VL);
            c10 = FloatVector.fromArray(S, tile, NR); c11 = FloatVector.fromArray(S, tile, NR + VL);
            c20 = FloatVector.fromArray(S, tile, 2 * NR); c21 = FloatVector.fromArray(S, tile, 2 * NR + VL);
            c30 = FloatVector.fromArray(S, tile, 3 * NR); c31 = FloatVector.fromArray(S, tile, 3 * NR + VL);
            c40 = FloatVector.fromArray(S, tile, 4 * NR); c41 = FloatVector.fromArray(S, tile, 4 * NR + VL);
            c50 = FloatVector.fromArray(S, tile, 5 * NR); c51 = FloatVector.fromArray(S, tile, 5 * NR + VL);
        }
        for (int q = q0; q < q0 + len; q++) {
            int bq = q * ld + j0;
            FloatVector b0 = FloatVector.fromArray(S, dt, bq);
            FloatVector b1 = FloatVector.fromArray(S, dt, bq + VL);
            FloatVector a0 = FloatVector.broadcast(S, st[o0 + q]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, st[o1 + q]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, st[o2 + q]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, st[o3 + q]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, st[o4 + q]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, st[o5 + q]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, VL);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + VL);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + VL);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + VL);
    }

    /** Whether st[0, n) has no infinity and no NaN: x · 0 is NaN exactly for those, and the lanes keep any NaN. */
    private static boolean finite(float[] st, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int e = S.loopBound(n); i < e; i += VL) acc = FloatVector.fromArray(S, st, i).mul(0f).add(acc);
        float tail = 0;
        for (; i < n; i++) tail += st[i] * 0f;
        float[] lanes = new float[VL];
        acc.intoArray(lanes, 0);
        for (float v : lanes) tail += v;
        return tail == 0;
    }
}
