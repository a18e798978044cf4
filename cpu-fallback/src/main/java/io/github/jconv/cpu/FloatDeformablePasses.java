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

    /**
     * Positions per column tile of the data and the offset/mask gradients, a function of the spec alone: every
     * backward pass (and {@link #deformableBackwardDataOffsetMask}) cuts the positions the same way, so the scatter
     * into dx adds in the same order and the fused call gives the separate passes' bits.
     */
    static int backwardTile(Geometry g) {
        return FloatPasses.columnTile(g.c / g.offsetGroups * g.kv, g.os, g.ow);
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
        if (channelsLast(g)) {
            // channels last: the gather is contiguous multiply-adds over the channels; the GEMM reads the tile transposed
            float[] wp = pool.shared().floats(Scratch.SHARED_WEIGHTS, w.length);
            FloatChannelsLast.permuteWeights(g, w, wp);
            pool.forEach(g.batch * g.g * tiles, (i, s) -> {
                int tl = i % tiles, rest = i / tiles, grp = rest % g.g, n = rest / g.g;
                int p0 = tl * t, p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                float[] col = s.floats(Scratch.COLUMNS, g.rows * len);
                for (int c = grp * g.cg; c < (grp + 1) * g.cg; c += perOg) {
                    int og = c / perOg;
                    float[] xT = FloatChannelsLast.paddedInput(x, (n * g.c + c) * g.is, perOg, g.is, s);
                    int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
                    float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
                    FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
                    FloatChannelsLast.gather(g, xT, perOg, len, idx, wt, col, (c - grp * g.cg) * g.kv, g.rows);
                }
                int yOff = (n * g.k + grp * g.kg) * g.os + p0;
                FloatGemm.gemm(g.kg, len, g.rows, wp, grp * g.kg * g.rows, g.rows, 1, col, 0, 1, g.rows, y, yOff, g.os, false, s);
                if (b != null) FloatPasses.addBias(b, grp * g.kg, g.kg, y, yOff, g.os, len);
            });
            return;
        }
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
            int t = backwardTile(g);
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
        deformableBackwardWeight(g, x, off, mask, dy, dw, pool, channelsLast(g));
    }

    /**
     * The weight gradient, with channels last or not: the same bits either way. Channels last, each task gathers its
     * channel block's columns as [position][tap][channel] (contiguous multiply-adds over the channels), the GEMM reads
     * them in place, and its result, accumulated in the task's own region of dW in tap-major column order, is put back
     * in dW's order at the end; the products and their order per element are those of the channels-first GEMM.
     */
    static void deformableBackwardWeight(Geometry g, float[] x, float[] off, float[] mask, float[] dy, float[] dw, WorkerPool pool,
                                         boolean channelsLast) {
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
            int cb = c1 - c0;
            for (int n = FloatPasses.chunkStart(g.batch, chunks, ch), nEnd = FloatPasses.chunkStart(g.batch, chunks, ch + 1); n < nEnd; n++) {
                float[] xT = channelsLast ? FloatChannelsLast.paddedInput(x, (n * g.c + c0) * g.is, cb, g.is, s) : null;
                for (int p0 = 0; p0 < g.os; p0 += t) {
                    int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                    float[] col = s.floats(Scratch.COLUMNS, rb * len);
                    int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
                    float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
                    FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
                    int aOff = (n * g.k + grp * g.kg + k0) * g.os + p0;
                    if (channelsLast) {
                        // col[j][tap][c]: the GEMM reads it in place, its result lands tap-major in this task's region
                        FloatChannelsLast.gather(g, xT, cb, len, idx, wt, col, 0, rb);
                        FloatGemm.gemm(kn, rb, len, dy, aOff, g.os, 1, col, 0, rb, 1, target, cOff, g.rows, true, s);
                    } else {
                        gather(g, x, n * g.c * g.is, c0, c1, len, idx, wt, col, 0, s);
                        FloatGemm.gemm(kn, rb, len, dy, aOff, g.os, 1, col, 0, 1, len, target, cOff, g.rows, true, s);
                    }
                }
            }
            if (channelsLast) {
                // back to dW's column order (channel-major) in place, row by row
                float[] row = s.floats(Scratch.CHANNELS_LAST_DX, rb);
                for (int q = 0; q < kn; q++) {
                    int at = cOff + q * g.rows;
                    for (int tap = 0; tap < g.kv; tap++) {
                        for (int c = 0; c < cb; c++) row[c * g.kv + tap] = target[at + tap * cb + c];
                    }
                    System.arraycopy(row, 0, target, at, rb);
                }
            }
        });
        if (chunks > 1) FloatPasses.sumChunks(target, chunks, dw, pool);
    }

    static void deformableBackwardOffsetMask(Geometry g, float[] x, float[] off, float[] mask, float[] w, float[] dy,
                                             float[] dOff, float[] dMask, WorkerPool pool) {
        int t = backwardTile(g);
        int tiles = (g.os + t - 1) / t;
        pool.forEach(g.batch * g.offsetGroups * tiles, (i, s) -> {
            int tl = i % tiles, rest = i / tiles, og = rest % g.offsetGroups, n = rest / g.offsetGroups;
            int p0 = tl * t, p1 = Math.min(g.os, p0 + t);
            float[] colGrad = columnGradient(g, w, dy, n, og, p0, p1, s);
            offsetMaskTile(g, x, off, mask, colGrad, dOff, dMask, n, og, p0, p1, s);
        });
    }

    /** Wᵀ·dY of offset group {@code og}'s channels at positions [p0, p1) of image n, in the COLUMNS scratch (rows (c − c0)·kv + tap). */
    private static float[] columnGradient(Geometry g, float[] w, float[] dy, int n, int og, int p0, int p1, Scratch s) {
        int perOg = g.c / g.offsetGroups, len = p1 - p0;
        int c0 = og * perOg, c1 = c0 + perOg;
        float[] colGrad = s.floats(Scratch.COLUMNS, perOg * g.kv * len);
        for (int a = c0; a < c1; ) {
            int grp = a / g.cg;
            int e = Math.min(c1, (grp + 1) * g.cg);
            FloatGemm.gemm((e - a) * g.kv, len, g.kg, w, grp * g.kg * g.rows + (a - grp * g.cg) * g.kv, 1, g.rows,
                    dy, (n * g.k + grp * g.kg) * g.os + p0, g.os, 1, colGrad, (a - c0) * g.kv * len, len, false, s);
            a = e;
        }
        return colGrad;
    }

    private static void offsetMaskTile(Geometry g, float[] x, float[] off, float[] mask, float[] colGrad, float[] dOff, float[] dMask,
                                       int n, int og, int p0, int p1, Scratch s) {
        int perOg = g.c / g.offsetGroups, c0 = og * perOg;
        FloatColumns.coordinateGrads(g, x, n * g.c * g.is, c0, c0 + perOg, colGrad, p1 - p0,
                off, offBase(g, n, og), mask, maskBase(g, n, og), dOff, dMask, p0, p1, s);
    }

    /** Elements of one offset group's input (channels × pixels) a worker may hold twice, transposed: 4 MiB in FP32. */
    static final int CHANNELS_LAST_BUDGET = 1 << 20;

    /**
     * Whether the fused backward runs with channels last ({@link FloatChannelsLast}): each offset group lies within one
     * group (so one GEMM gives its column gradient) and its input fits {@link #CHANNELS_LAST_BUDGET} twice.
     */
    static boolean channelsLast(Geometry g) {
        int perOg = g.c / g.offsetGroups;
        return g.cg % perOg == 0 && (long) perOg * g.is <= CHANNELS_LAST_BUDGET
                && (long) perOg * g.kv * backwardTile(g) <= FloatPasses.WIDE_BUDGET;
    }

    /** One image's offset group of {@link #deformableBackwardDataOffsetMask} with channels last: the same bits. */
    private static void dataOffsetMaskChannelsLast(Geometry g, float[] x, float[] off, float[] mask, float[] wp, float[] dy,
                                                   float[] dx, float[] dOff, float[] dMask, int n, int og, int t, Scratch s) {
        int ch = g.c / g.offsetGroups, c0 = og * ch, grp = c0 / g.cg, cols = ch * g.kv, plane = ch * g.is;
        float[] xT = FloatChannelsLast.paddedInput(x, (n * g.c + c0) * g.is, ch, g.is, s);
        float[] dxT = s.floats(Scratch.CHANNELS_LAST_DX, plane);
        java.util.Arrays.fill(dxT, 0, plane, 0);
        for (int p0 = 0; p0 < g.os; p0 += t) {
            int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
            // col[j][tap][c] = Σ_k dy[k][p0 + j] · w[k][c][tap]: the column gradient, positions first
            float[] col = s.floats(Scratch.COLUMNS, len * cols);
            FloatGemm.gemm(len, cols, g.kg, dy, (n * g.k + grp * g.kg) * g.os + p0, 1, g.os,
                    wp, grp * g.kg * g.rows + (c0 - grp * g.cg) * g.kv, g.rows, 1, col, 0, cols, false, s);
            FloatChannelsLast.coordinateGrads(g, xT, ch, col, cols, len, off, offBase(g, n, og), mask, maskBase(g, n, og),
                    dOff, dMask, p0, p1, s);
            int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
            float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
            FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
            FloatChannelsLast.scatter(g, col, cols, ch, len, idx, wt, dxT);
        }
        FloatChannelsLast.fromChannelsLast(dxT, ch, g.is, dx, (n * g.c + c0) * g.is);
    }

    /**
     * Whether {@link #deformableBackwardDataOffsetMask} keeps every worker busy: its tasks are (image, offset group)
     * pairs, fewer than the separate passes have. Both ways give the same bits, so this may depend on the threads.
     */
    static boolean fuseBackward(Geometry g, int threads) {
        long tasks = (long) g.batch * g.offsetGroups;
        return tasks >= threads && (tasks % threads == 0 || tasks >= 4L * threads);
    }

    /**
     * The data gradient and the offset/mask gradients in one sweep, as the separate passes compute them but with
     * their common column gradient Wᵀ·dY formed once per tile: per image and offset group, each column tile's
     * gradient feeds the coordinate gradients, then is scattered into dx. The tiles ({@link #backwardTile}), the
     * GEMMs and the scatter order are the separate passes', so dx, dOffset and dMask are their bits.
     */
    static void deformableBackwardDataOffsetMask(Geometry g, float[] x, float[] off, float[] mask, float[] w, float[] dy,
                                                 float[] dx, float[] dOff, float[] dMask, WorkerPool pool) {
        int perOg = g.c / g.offsetGroups;
        int t = backwardTile(g);
        if (channelsLast(g)) {
            float[] wp = pool.shared().floats(Scratch.SHARED_WEIGHTS, w.length);
            FloatChannelsLast.permuteWeights(g, w, wp);
            pool.forEach(g.batch * g.offsetGroups, (i, s) ->
                    dataOffsetMaskChannelsLast(g, x, off, mask, wp, dy, dx, dOff, dMask, i / g.offsetGroups, i % g.offsetGroups, t, s));
            return;
        }
        pool.forEach(g.batch * g.offsetGroups, (i, s) -> {
            int og = i % g.offsetGroups, n = i / g.offsetGroups;
            int c0 = og * perOg, c1 = c0 + perOg;
            java.util.Arrays.fill(dx, (n * g.c + c0) * g.is, (n * g.c + c1) * g.is, 0);
            for (int p0 = 0; p0 < g.os; p0 += t) {
                int p1 = Math.min(g.os, p0 + t), len = p1 - p0;
                float[] colGrad = columnGradient(g, w, dy, n, og, p0, p1, s);
                offsetMaskTile(g, x, off, mask, colGrad, dOff, dMask, n, og, p0, p1, s);
                // the coordinate gradients used the index and weight slots: the sampling plan is made after them
                int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
                float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
                FloatColumns.sample(g, off, offBase(g, n, og), mask, maskBase(g, n, og), p0, p1, idx, wt);
                FloatColumns.scatter(g, colGrad, 0, c0, c1, len, idx, wt, dx, n * g.c * g.is);
            }
        });
    }
}
