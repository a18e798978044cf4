package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.Role;

/**
 * What every FP32 family shares ({@link FloatConvPasses}, {@link FloatDepthwisePasses}, {@link FloatPhasePasses},
 * {@link FloatDeformablePasses}): the arrays behind a call's roles, the column tiles, the task cut, the batch
 * chunks of a weight gradient and their fixed-order sum, the bias add and the bias gradient. Tasks are cut from
 * the spec alone (never from the thread count), each task writes its own part of the output in a fixed order,
 * and scratch is a column tile bounded by {@link #COL_BUDGET} elements per worker, so results are
 * bit-identical for any thread count and memory does not grow with the batch.
 */
final class FloatPasses {
    /** Elements of one worker's column tile (1 MiB in FP32): the tile stays in L2. */
    static final int COL_BUDGET = 1 << 18;
    /** Most partial weight-gradient copies kept for a batch split (a fixed number, not one per sample). */
    static final int MAX_BATCH_CHUNKS = 8;
    /** Most elements all partial weight-gradient copies may take together. */
    static final int PARTIAL_BUDGET = 1 << 22;
    /** Enough tasks to keep eight workers busy. */
    static final int TASK_TARGET = 16;

    private FloatPasses() {
    }

    /** The array behind {@code role}, or null when the call has no such buffer (no bias). */
    static float[] floats(ConvArgs a, Role role) {
        CpuBuffer b = (CpuBuffer) a.get(role);
        if (b == null) return null;
        b.checkOpen();
        return b.floats;
    }

    /** Whether every weight is finite: the gathers multiply weights by padding zeros, so a NaN or infinity needs the scatter. */
    static boolean allFinite(float[] v) {
        for (float f : v) if (!Float.isFinite(f)) return false;
        return true;
    }

    /** Positions per column tile for {@code rows} rows: whole output when it fits, else a multiple of 16. */
    static int tile(int rows, int os) {
        int t = COL_BUDGET / Math.max(1, rows);
        if (t >= os) return os;
        return Math.min(os, Math.max(16, t & ~15));
    }

    /** Elements of one worker's column tile where the tile is the GEMM's column count (4 MiB in FP32). */
    static final int WIDE_BUDGET = 1 << 20;

    /**
     * Positions per column tile when the tile becomes the GEMM's column count: the whole output if
     * it fits {@link #COL_BUDGET}, else the output split evenly into tiles of at most {@link #TILE_NC}, whole output rows where a row fits (the
     * column gather then starts every tile at a row), as few tiles as the budget allows. Measured
     * (plain GEMM, 128 rows, K 1152): 224 columns 46 GFLOP/s, 392 columns 65, 784 columns (a 512
     * block and a 272 block) 55.
     */
    static int columnTile(int rows, int os, int ow) {
        // A whole output within the L2 budget stays one tile (measured: P8's 784 columns of 144 rows
        // ran 15% slower as two tiles of 392, with either GEMM kernel).
        if (os <= COL_BUDGET / Math.max(1, rows)) return os;
        int cap = Math.max(16, (WIDE_BUDGET / Math.max(1, rows)) & ~15);
        return evenTile(os, ow, Math.min(cap, TILE_NC));
    }

    /** The widest column tile {@link #columnTile} gives (the plain GEMM's column block before issue 17's third round). */
    static final int TILE_NC = 512;

    /** The output split evenly into tiles of at most {@code widest} positions, whole output rows where a row fits. */
    private static int evenTile(int os, int ow, int widest) {
        if (os <= widest) return os;
        if (ow <= widest && os % ow == 0) {
            int lines = os / ow, per = widest / ow;
            int q = (lines + per - 1) / per;
            return (lines + q - 1) / q * ow;
        }
        int q = (os + widest - 1) / widest;
        return Math.min(widest, ((os + q - 1) / q + 15) & ~15);
    }

    /**
     * Positions per tile where the plain GEMM gathers the columns itself ({@link FloatGemm#gemmGathered}: no
     * column tile to bound): one column block of up to {@link FloatGemm#NC}, whole output rows where a row
     * fits, where the GEMM has at least 64 rows ({@code m}) or the whole output fits one block; else blocks of up
     * to {@link #TILE_NC}. Wider blocks leave less of the kernel's row loop to its scalar pre- and post-loops
     * (measured, one thread, thread CPU time: P2's forward GEMM 128 × 784 × 1152 53-56 GFLOP/s against 49-52 as
     * two tiles of 392; forward P1 38-40 ms against 42, P2 35 against 40-41, P8 7.6 against 8.9-9.4). P7 (32 rows,
     * 50176 positions) ran its forward and weight gradient slower with 616-, 784- and 1008-column tiles than with
     * 504 (forward 131-173 ms in 10 runs against 125-134 in 7), hence the row condition (docs/performance.md, "Out of
     * the box, third round").
     */
    static int gatheredTile(int os, int ow, int m) {
        return m >= 64 || os <= FloatGemm.NC ? evenTile(os, ow, FloatGemm.NC) : evenTile(os, ow, TILE_NC);
    }

    static void addBias(float[] b, int k0, int count, float[] y, int off, int ld, int len) {
        for (int i = 0; i < count; i++) {
            float bv = b[k0 + i];
            int o = off + i * ld;
            for (int j = 0; j < len; j++) y[o + j] += bv;
        }
    }

    /** Splits per group so that {@code units} × splits reaches the task target. */
    static int splitFor(int units) {
        return Math.max(1, (TASK_TARGET + units - 1) / units);
    }

    /**
     * Channel block starts over [0, c]: each group cut into about {@code split} blocks, never
     * crossing a group or an offset-group boundary (a function of the spec, not of the threads).
     */
    static int[] channelBlocks(Geometry g, int split) {
        int perOg = g.c / g.offsetGroups;
        int cb = Math.max(1, (g.cg + split - 1) / split);
        java.util.ArrayList<Integer> starts = new java.util.ArrayList<>();
        int c = 0;
        while (c < g.c) {
            starts.add(c);
            int groupEnd = (c / g.cg + 1) * g.cg;
            int ogEnd = (c / perOg + 1) * perOg;
            c = Math.min(Math.min(groupEnd, ogEnd), c + cb);
        }
        starts.add(g.c);
        int[] out = new int[starts.size()];
        for (int i = 0; i < out.length; i++) out[i] = starts.get(i);
        return out;
    }

    /** How many fixed batch chunks a weight gradient is split into (partials summed in chunk order). */
    static int batchChunks(Geometry g, int tasksPerChunk) {
        long weights = (long) g.k * g.rows;
        int byTasks = Math.max(1, TASK_TARGET / Math.max(1, tasksPerChunk));
        int byMemory = (int) Math.max(1, PARTIAL_BUDGET / Math.max(1, weights));
        return Math.max(1, Math.min(Math.min(g.batch, MAX_BATCH_CHUNKS), Math.min(byTasks, byMemory)));
    }

    static int chunkStart(int batch, int chunks, int ch) {
        return (int) ((long) batch * ch / chunks);
    }

    /** dw = sum of the chunk partials, in chunk order. */
    static void sumChunks(float[] partial, int chunks, float[] dw, WorkerPool pool) {
        int len = dw.length;
        int step = 4096;
        pool.forEach((len + step - 1) / step, (i, s) -> {
            int a = i * step, e = Math.min(len, a + step);
            System.arraycopy(partial, a, dw, a, e - a);
            for (int ch = 1; ch < chunks; ch++) {
                int o = ch * len;
                for (int j = a; j < e; j++) dw[j] += partial[o + j];
            }
        });
    }

    // ---- bias gradient ----

    /** db[c] = sum over batch and space of dy[n, c, ·]; one task per block of channels. */
    static void channelSum(int batch, int channels, int spatial, float[] dy, float[] db, WorkerPool pool) {
        int cb = 8;
        pool.forEach((channels + cb - 1) / cb, (i, s) -> {
            for (int c = i * cb, e = Math.min(channels, c + cb); c < e; c++) {
                double acc = 0;
                for (int n = 0; n < batch; n++) {
                    int o = (n * channels + c) * spatial;
                    float part = 0;
                    for (int p = 0; p < spatial; p++) part += dy[o + p];
                    acc += part;
                }
                db[c] = (float) acc;
            }
        });
    }
}
