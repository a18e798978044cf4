package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.Pass;
import io.github.jconv.Role;

/**
 * The passes in FP32 on a {@link Geometry}: tasks are cut from the spec alone (never from the
 * thread count), each task writes its own part of the output in a fixed order, and scratch is a
 * column tile bounded by {@link #COL_BUDGET} elements per worker, so results are bit-identical for
 * any thread count and memory does not grow with the batch.
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

    /** Runs {@code pass} of {@code spec}; a transposed pass runs as its adjoint convolution's pass. */
    static void execute(Pass pass, ConvSpec spec, CpuAlgorithm alg, ConvArgs a, WorkerPool pool) {
        Geometry g = Geometry.of(spec);
        if (pass == Pass.BACKWARD_BIAS) {
            channelSum(spec.batch(), spec.outChannels(), (int) spec.outputSpatial(), floats(a, Role.DY), floats(a, Role.DB), pool);
            return;
        }
        switch (spec.type()) {
            case CONVOLUTION -> {
                switch (pass) {
                    case FORWARD -> forward(g, alg, floats(a, Role.X), floats(a, Role.W), floats(a, Role.B), floats(a, Role.Y), pool);
                    case BACKWARD_DATA -> backwardData(g, alg, floats(a, Role.DY), floats(a, Role.W), null, floats(a, Role.DX), pool);
                    case BACKWARD_WEIGHT -> backwardWeight(g, alg, floats(a, Role.X), floats(a, Role.DY), floats(a, Role.DW), pool);
                    default -> throw unsupported(pass, spec);
                }
            }
            case TRANSPOSED -> {
                switch (pass) {
                    case FORWARD -> backwardData(g, alg, floats(a, Role.X), floats(a, Role.W), floats(a, Role.B), floats(a, Role.Y), pool);
                    case BACKWARD_DATA -> forward(g, alg, floats(a, Role.DY), floats(a, Role.W), null, floats(a, Role.DX), pool);
                    case BACKWARD_WEIGHT -> backwardWeight(g, alg, floats(a, Role.DY), floats(a, Role.X), floats(a, Role.DW), pool);
                    default -> throw unsupported(pass, spec);
                }
            }
            case DEFORMABLE -> {
                float[] off = floats(a, Role.OFFSET), mask = spec.modulated() ? floats(a, Role.MASK) : null;
                switch (pass) {
                    case FORWARD -> FloatDeformablePasses.deformableForward(g, floats(a, Role.X), off, mask, floats(a, Role.W), floats(a, Role.B), floats(a, Role.Y), pool);
                    case BACKWARD_DATA -> FloatDeformablePasses.deformableBackwardData(g, floats(a, Role.DY), off, mask, floats(a, Role.W), floats(a, Role.DX), pool);
                    case BACKWARD_WEIGHT -> FloatDeformablePasses.deformableBackwardWeight(g, floats(a, Role.X), off, mask, floats(a, Role.DY), floats(a, Role.DW), pool);
                    case BACKWARD_OFFSET_MASK -> FloatDeformablePasses.deformableBackwardOffsetMask(g, floats(a, Role.X), off, mask, floats(a, Role.W),
                            floats(a, Role.DY), floats(a, Role.DOFFSET), spec.modulated() ? floats(a, Role.DMASK) : null, pool);
                    default -> throw unsupported(pass, spec);
                }
            }
        }
    }

    private static UnsupportedOperationException unsupported(Pass pass, ConvSpec spec) {
        return new UnsupportedOperationException(pass + " does not apply to " + spec.type() + " (" + spec + ")");
    }

    /** The array behind {@code role}, or null when the call has no such buffer (no bias). */
    private static float[] floats(ConvArgs a, Role role) {
        CpuBuffer b = (CpuBuffer) a.get(role);
        if (b == null) return null;
        b.checkOpen();
        return b.floats;
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
     * it fits {@link #COL_BUDGET}, else the output split evenly into tiles of at most {@link FloatGemm#NC}, whole output rows where a row fits (the
     * column gather then starts every tile at a row), as few tiles as the budget allows. Measured
     * (plain GEMM, 128 rows, K 1152): 224 columns 46 GFLOP/s, 392 columns 65, 784 columns (a 512
     * block and a 272 block) 55.
     */
    static int columnTile(int rows, int os, int ow) {
        // A whole output within the L2 budget stays one tile (measured: P8's 784 columns of 144 rows
        // ran 15% slower as two tiles of 392, with either GEMM kernel).
        if (os <= COL_BUDGET / Math.max(1, rows)) return os;
        int cap = Math.max(16, (WIDE_BUDGET / Math.max(1, rows)) & ~15);
        int widest = Math.min(cap, FloatGemm.NC);
        if (os <= widest) return os;
        if (ow <= widest && os % ow == 0) {
            int lines = os / ow, per = widest / ow;
            int q = (lines + per - 1) / per;
            return (lines + q - 1) / q * ow;
        }
        int q = (os + widest - 1) / widest;
        return Math.min(widest, ((os + q - 1) / q + 15) & ~15);
    }

    // ---- forward (gather) ----

    static void forward(Geometry g, CpuAlgorithm alg, float[] x, float[] w, float[] b, float[] y, WorkerPool pool) {
        if (alg == CpuAlgorithm.DIRECT_DEPTHWISE) {
            if (FloatDepthwise.applies(g)) {
                pool.forEach(g.batch * g.c, (i, s) -> FloatDepthwise.forward(g, i / g.c, i % g.c, x, w, b, y, s));
            } else {
                pool.forEach(g.batch * g.c, (i, s) -> depthwiseForward(g, i / g.c, i % g.c, x, w, b, y));
            }
            return;
        }
        boolean pw = alg == CpuAlgorithm.POINTWISE_GEMM;
        int t = pw ? Math.min(g.os, 4096) : columnTile(g.rows, g.os, g.ow);
        int tiles = (g.os + t - 1) / t;
        // The plain GEMM gathers same-shape columns itself; the Vector API kernel packs its own layout.
        boolean gathered = !FloatGemm.VECTOR && FloatColumns.sameShape(g);
        pool.forEach(g.batch * g.g * tiles, (i, s) -> {
            int tl = i % tiles, rest = i / tiles, grp = rest % g.g, n = rest / g.g;
            int p0 = tl * t, p1 = Math.min(g.os, p0 + t), len = p1 - p0;
            int xBase = (n * g.c + grp * g.cg) * g.is;
            int yOff = (n * g.k + grp * g.kg) * g.os + p0;
            if (pw) {
                FloatGemm.gemm(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, 1,
                        x, xBase + p0, g.is, 1, y, yOff, g.os, false, s);
            } else if (gathered) {
                FloatGemm.gemmGathered(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, g, x, xBase, p0, y, yOff, g.os, s);
            } else {
                float[] col = s.floats(Scratch.COLUMNS, g.rows * len);
                FloatColumns.im2col(g, x, xBase, 0, g.rows, p0, p1, col, 0);
                FloatGemm.gemm(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, 1,
                        col, 0, len, 1, y, yOff, g.os, false, s);
            }
            if (b != null) addBias(b, grp * g.kg, g.kg, y, yOff, g.os, len);
        });
    }

    static void addBias(float[] b, int k0, int count, float[] y, int off, int ld, int len) {
        for (int i = 0; i < count; i++) {
            float bv = b[k0 + i];
            int o = off + i * ld;
            for (int j = 0; j < len; j++) y[o + j] += bv;
        }
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

    // ---- backward data (scatter); with bias, the forward pass of a transposed convolution ----

    static void backwardData(Geometry g, CpuAlgorithm alg, float[] dy, float[] w, float[] bias, float[] dx, WorkerPool pool) {
        // The gathers (depthwise, flipped-kernel im2col, phases) read dy through zero padding and would
        // multiply a NaN or infinite weight by those zeros, marking pixels that no real (output, tap)
        // pair reaches. The scatter (GEMM, then col2im) forms only the real pairs, as the op is defined.
        if (alg != CpuAlgorithm.POINTWISE_GEMM && alg != CpuAlgorithm.GEMM_COL2IM && !allFinite(w)) alg = CpuAlgorithm.GEMM_COL2IM;
        if (alg == CpuAlgorithm.DIRECT_DEPTHWISE) {
            if (FloatDepthwise.appliesToBackwardData(g)) {
                pool.forEach(g.batch * g.c, (i, s) -> FloatDepthwise.backwardData(g, i / g.c, i % g.c, dy, w, bias, dx, s));
            } else {
                pool.forEach(g.batch * g.c, (i, s) -> depthwiseBackwardData(g, i / g.c, i % g.c, dy, w, bias, dx));
            }
            return;
        }
        if (alg == CpuAlgorithm.IM2COL_GEMM) {
            forward(g.adjoint(), alg, dy, flippedWeights(g, w, pool), bias, dx, pool);
            return;
        }
        if (alg == CpuAlgorithm.PHASE_GEMM) {
            phaseBackwardData(g, dy, w, bias, dx, pool);
            return;
        }
        boolean pw = alg == CpuAlgorithm.POINTWISE_GEMM;
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

    private static boolean allFinite(float[] v) {
        for (float f : v) if (!Float.isFinite(f)) return false;
        return true;
    }

    /** Backward data by output phase ({@link Phases}): tasks (sample, group, phase, tile), each writing its own dx positions. */
    private static void phaseBackwardData(Geometry g, float[] dy, float[] w, float[] bias, float[] dx, WorkerPool pool) {
        Phases.Phase[] phases = Phases.of(g);
        int total = 1;
        for (Phases.Phase ph : phases) if (Phases.hasTaps(ph)) total += g.c * g.kg * ph.geo.kv;
        float[] ws = pool.shared().floats(Scratch.SHARED_WEIGHTS, total);
        for (Phases.Phase ph : phases) {
            if (!Phases.hasTaps(ph)) continue;
            int sv = ph.geo.kv;
            for (int m = 0; m < sv; m++) {
                int t = Phases.parentTap(ph, g, m);
                for (int grp = 0; grp < g.g; grp++) {
                    for (int c = 0; c < g.cg; c++) {
                        for (int kk = 0; kk < g.kg; kk++) {
                            ws[ph.weightOffset + ((grp * g.cg + c) * g.kg + kk) * sv + m] = w[((grp * g.kg + kk) * g.cg + c) * g.kv + t];
                        }
                    }
                }
            }
        }
        int[] tileOf = new int[phases.length];
        int perSample = 0;
        for (int q = 0; q < phases.length; q++) {
            tileOf[q] = columnTile(phases[q].geo.rows, phases[q].geo.os, phases[q].geo.ow);
            perSample += (phases[q].geo.os + tileOf[q] - 1) / tileOf[q];
        }
        int[] taskPhase = new int[perSample], taskStart = new int[perSample];
        for (int q = 0, at = 0; q < phases.length; q++) {
            for (int p0 = 0; p0 < phases[q].geo.os; p0 += tileOf[q], at++) {
                taskPhase[at] = q;
                taskStart[at] = p0;
            }
        }
        int per = perSample;
        pool.forEach(g.batch * g.g * per, (i, s) -> {
            int j = i % per, rest = i / per, grp = rest % g.g, n = rest / g.g;
            Phases.Phase ph = phases[taskPhase[j]];
            Geometry sg = ph.geo;
            int p0 = taskStart[j], p1 = Math.min(sg.os, p0 + tileOf[taskPhase[j]]), len = p1 - p0;
            float[] out = s.floats(Scratch.PHASE_OUT, g.cg * len);
            if (Phases.hasTaps(ph) && !FloatGemm.VECTOR && FloatColumns.sameShape(sg)) {
                FloatGemm.gemmGathered(g.cg, len, sg.rows, ws, ph.weightOffset + grp * g.cg * sg.rows, sg.rows,
                        sg, dy, (n * g.k + grp * g.kg) * g.os, p0, out, 0, len, s);
            } else if (Phases.hasTaps(ph)) {
                float[] col = s.floats(Scratch.COLUMNS, sg.rows * len);
                FloatColumns.im2col(sg, dy, (n * g.k + grp * g.kg) * g.os, 0, sg.rows, p0, p1, col, 0);
                FloatGemm.gemm(g.cg, len, sg.rows, ws, ph.weightOffset + grp * g.cg * sg.rows, sg.rows, 1,
                        col, 0, len, 1, out, 0, len, false, s);
            } else {
                java.util.Arrays.fill(out, 0, g.cg * len, 0);
            }
            // Place the tile row by row: one output row of the phase is every s-th element of a dx row.
            for (int u = 0; u < len; ) {
                int p = p0 + u;
                int x0 = p % sg.ow, run = Math.min(sg.ow - x0, len - u);
                int at = ph.target(g, p), sx = ph.step[2];
                for (int c = 0; c < g.cg; c++) {
                    float bv = bias == null ? 0 : bias[grp * g.cg + c];
                    int base = (n * g.c + grp * g.cg + c) * g.is + at, src = c * len + u;
                    for (int e = 0; e < run; e++) dx[base + e * sx] = out[src + e] + bv;
                }
                u += run;
            }
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

    // ---- backward weight (reduction over batch and space) ----

    /** How many fixed batch chunks a weight gradient is split into (partials summed in chunk order). */
    static int batchChunks(Geometry g, int tasksPerChunk) {
        long weights = (long) g.k * g.rows;
        int byTasks = Math.max(1, TASK_TARGET / Math.max(1, tasksPerChunk));
        int byMemory = (int) Math.max(1, PARTIAL_BUDGET / Math.max(1, weights));
        return Math.max(1, Math.min(Math.min(g.batch, MAX_BATCH_CHUNKS), Math.min(byTasks, byMemory)));
    }

    static void backwardWeight(Geometry g, CpuAlgorithm alg, float[] x, float[] dy, float[] dw, WorkerPool pool) {
        if (alg == CpuAlgorithm.DIRECT_DEPTHWISE) {
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
