package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.Pass;
import io.github.jconv.Role;

/**
 * The deformable convolution's passes on the CPU (v1 and v2): the sampled column tile (bilinear samples times the
 * mask) fed to the GEMM for the forward and the weight gradient, its adjoint scattered back for the input gradient,
 * and the offset and mask gradients. {@link FloatPasses#execute} dispatches here; the FP64 twin is generated.
 */
final class FloatDeformablePasses {
    private FloatDeformablePasses() {
    }

    // ---- deformable ----

    private static int offBase(Geometry g, int n, int og) {
        return (n * 2 * g.offsetGroups * g.kv + og * 2 * g.kv) * g.os;
    }

    private static int maskBase(Geometry g, int n, int og) {
        return (n * g.offsetGroups * g.kv + og * g.kv) * g.os;
    }

    /** The bilinear gather of the sampled columns: the Vector API's where the JVM has it (same bits), else the plain one. */
    private static void gather(Geometry g, float[] x, int xBase, int c0, int c1, int len, int[] idx, float[] wt,
                               float[] col, int colOff, Scratch s) {
        if (FloatGemm.VECTOR) {
            FloatVectorGemm.bilinearGather(g, x, xBase, c0, c1, len, idx, wt, col, colOff, s);
        } else {
            FloatColumns.gather(g, x, xBase, c0, c1, len, idx, wt, col, colOff);
        }
    }

    static void deformableForward(Geometry g, float[] x, float[] off, float[] mask, float[] w, float[] b, float[] y, WorkerPool pool) {
        int t = FloatPasses.columnTile(g.rows, g.os, g.ow);
        int tiles = (g.os + t - 1) / t;
        int perOg = g.c / g.offsetGroups;
        pool.forEach(g.batch * g.g * tiles, (i, s) -> {
            int tl = i % tiles, rest = i / tiles, grp = rest % g.g, n = rest / g.g;
            int p0 = tl * t, p1 = Math.min(g.os, p0 + t), len = p1 - p0;
            float[] col = s.floats(Scratch.COLUMNS, g.rows * len);
            int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
            float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
            int cEnd = (grp + 1) * g.cg;
            for (int c = grp * g.cg; c < cEnd; ) {
                int og = c / perOg;
                int e = Math.min(cEnd, (og + 1) * perOg);
                FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
                gather(g, x, n * g.c * g.is, c, e, len, idx, wt, col, (c - grp * g.cg) * g.kv * len, s);
                c = e;
            }
            int yOff = (n * g.k + grp * g.kg) * g.os + p0;
            FloatGemm.gemm(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, 1, col, 0, len, 1, y, yOff, g.os, false, s);
            if (b != null) FloatPasses.addBias(b, grp * g.kg, g.kg, y, yOff, g.os, len);
        });
    }

    static void deformableBackwardData(Geometry g, float[] dy, float[] off, float[] mask, float[] w, float[] dx, WorkerPool pool) {
        int[] blocks = FloatPasses.channelBlocks(g, FloatPasses.splitFor(g.batch * g.g));
        int nb = blocks.length - 1;
        int perOg = g.c / g.offsetGroups;
        pool.forEach(g.batch * nb, (i, s) -> {
            int n = i / nb, bi = i % nb, c0 = blocks[bi], c1 = blocks[bi + 1];
            int grp = c0 / g.cg, og = c0 / perOg;
            int r0 = (c0 - grp * g.cg) * g.kv, r1 = (c1 - grp * g.cg) * g.kv;
            int t = FloatPasses.columnTile(r1 - r0, g.os, g.ow);
            java.util.Arrays.fill(dx, (n * g.c + c0) * g.is, (n * g.c + c1) * g.is, 0);
            for (int p0 = 0; p0 < g.os; p0 += t) {
                int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                float[] col = s.floats(Scratch.COLUMNS, (r1 - r0) * len);
                int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
                float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
                FloatGemm.gemm(r1 - r0, len, g.kg, w, grp * g.kg * g.rows + r0, 1, g.rows,
                        dy, (n * g.k + grp * g.kg) * g.os + p0, g.os, 1, col, 0, len, false, s);
                FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
                FloatColumns.scatter(g, col, 0, c0, c1, len, idx, wt, dx, n * g.c * g.is);
            }
        });
    }

    static void deformableBackwardWeight(Geometry g, float[] x, float[] off, float[] mask, float[] dy, float[] dw, WorkerPool pool) {
        int[] blocks = FloatPasses.channelBlocks(g, Math.max(1, (g.rows + 511) / 512));
        int nb = blocks.length - 1;
        // All output channels of a group in one task: B (the columns) is packed once for every row of dW.
        int kb = g.kg;
        int nk = (g.kg + kb - 1) / kb;
        int chunks = FloatPasses.batchChunks(g, nb * nk);
        int perOg = g.c / g.offsetGroups;
        float[] target = chunks == 1 ? dw : pool.shared().floats(Scratch.SHARED_PARTIALS, chunks * dw.length);
        pool.forEach(chunks * nb * nk, (i, s) -> {
            int ki = i % nk, rest = i / nk, bi = rest % nb, ch = rest / nb;
            int c0 = blocks[bi], c1 = blocks[bi + 1], grp = c0 / g.cg, og = c0 / perOg;
            int r0 = (c0 - grp * g.cg) * g.kv, rb = (c1 - c0) * g.kv;
            int k0 = ki * kb, kn = Math.min(kb, g.kg - k0);
            int cOff = ch * dw.length + (grp * g.kg + k0) * g.rows + r0;
            for (int q = 0; q < kn; q++) java.util.Arrays.fill(target, cOff + q * g.rows, cOff + q * g.rows + rb, 0);
            int t = FloatPasses.tile(rb, g.os);
            for (int n = FloatPasses.chunkStart(g.batch, chunks, ch), nEnd = FloatPasses.chunkStart(g.batch, chunks, ch + 1); n < nEnd; n++) {
                for (int p0 = 0; p0 < g.os; p0 += t) {
                    int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                    float[] col = s.floats(Scratch.COLUMNS, rb * len);
                    int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
                    float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
                    FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
                    gather(g, x, n * g.c * g.is, c0, c1, len, idx, wt, col, 0, s);
                    FloatGemm.gemm(kn, rb, len, dy, (n * g.k + grp * g.kg + k0) * g.os + p0, g.os, 1,
                            col, 0, 1, len, target, cOff, g.rows, true, s);
                }
            }
        });
        if (chunks > 1) FloatPasses.sumChunks(target, chunks, dw, pool);
    }

    static void deformableBackwardOffsetMask(Geometry g, float[] x, float[] off, float[] mask, float[] w, float[] dy,
                                             float[] dOff, float[] dMask, WorkerPool pool) {
        int perOg = g.c / g.offsetGroups;
        int t = FloatPasses.tile(perOg * g.kv, g.os);
        int tiles = (g.os + t - 1) / t;
        pool.forEach(g.batch * g.offsetGroups * tiles, (i, s) -> {
            int tl = i % tiles, rest = i / tiles, og = rest % g.offsetGroups, n = rest / g.offsetGroups;
            int p0 = tl * t, p1 = Math.min(g.os, p0 + t), len = p1 - p0;
            int c0 = og * perOg, c1 = c0 + perOg;
            float[] colGrad = s.floats(Scratch.COLUMNS, perOg * g.kv * len);
            for (int a = c0; a < c1; ) {
                int grp = a / g.cg;
                int e = Math.min(c1, (grp + 1) * g.cg);
                FloatGemm.gemm((e - a) * g.kv, len, g.kg, w, grp * g.kg * g.rows + (a - grp * g.cg) * g.kv, 1, g.rows,
                        dy, (n * g.k + grp * g.kg) * g.os + p0, g.os, 1, colGrad, (a - c0) * g.kv * len, len, false, s);
                a = e;
            }
            FloatColumns.coordinateGrads(g, x, n * g.c * g.is, c0, c1, colGrad, len,
                    off, offBase(g, n, og), mask, maskBase(g, n, og), dOff, dMask, p0, p1, s);
        });
    }
}
