package io.github.jconv.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Forward convolution of unit stride as an implicit GEMM on the Vector API: no column matrix and no packed
 * B. A task stages the rows of the input it reads, zero-padded, into one block whose rows are
 * {@code PW = ow + (kw − 1)·dw} wide (the padded input row); an output position is then numbered q = row·PW + column in the same raster,
 * and the input that kernel tap t of channel c multiplies at q is the staged value at q + off[c, t], one
 * constant shift per column-matrix row. The micro-kernel keeps a tile of MR output channels × NR positions
 * in registers and reads its B vectors straight from the staged block at those shifts; where a group's output
 * channels are a multiple of 2 vectors (P7, P8, and most layers) the tile is turned: 2 vectors of output
 * channels × PR positions, the weights loaded as vectors and each staged value broadcast, which leaves no
 * partial panel of channels and no vector load straddling cache lines at the odd shifts (P7 one thread
 * about 100 → 78 ms). The PW − ow positions at the end of each raster row are computed and dropped (3–7% of the
 * work on the P problems).
 *
 * <p>Tasks are (sample, group, output plane, block of output rows), cut from the spec alone; every output
 * element is one sum over the column-matrix rows in order, so results do not depend on the thread count.
 * Scratch per worker: the staged block (at most about {@link ImplicitGemm#STAGE_BUDGET} elements), the packed weights
 * of one group (the channel-vector tile: of all groups, once per call, shared) and the output tile. When it runs: {@link ImplicitGemm#applies}. Loaded only when the JVM has
 * {@code jdk.incubator.vector}.
 */
final class FloatImplicitGemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /** Register tile: 6 output channels × 2 vectors of positions (12 accumulators of 16 AVX2 registers). */
    static final int MR = 6, NR = 2 * VL;
    /**
     * The other orientation, for groups of a multiple of 2 vectors of output channels: 2 vectors of channels
     * × PR positions (the same 12 accumulators), weights loaded as vectors and staged inputs broadcast.
     */
    static final int CR = 2 * VL, PR = 6;
    /** Positions per block when the position-major output tile is turned back. */
    private static final int TB = 16;
    /**
     * Output channels per group up to which the position-major tile is turned back by vector gathers (every kg-th
     * value) instead of the blocked scalar copy: measured one thread, forward, P8 (16) 4.10–4.23 → 3.87–3.90 ms,
     * but P7 (32) 73.7–74.0 → 74.9–77.6 and P1 (64) 24.5–25.1 → 25.4–25.5.
     */
    private static final int GATHER_OUT_KG = 16;
    private FloatImplicitGemm() {
    }

    /** Output rows per task: as many as the stage budget allows, the plane's rows split evenly. */
    static int rowsPerTask(Geometry g) {
        int pw = g.ow + (g.kw - 1) * g.dw, halo = (g.kh - 1) * g.dh;
        long perRow = (long) g.cg * g.kd * pw;
        long outRow = (long) (g.kg + MR - 1) / MR * MR * pw;
        int fit = (int) Math.max(1, Math.min(ImplicitGemm.STAGE_BUDGET / perRow - halo, (ImplicitGemm.OUT_BUDGET - NR * (g.kg + MR)) / outRow));
        int blocks = (g.oh + fit - 1) / fit;
        return (g.oh + blocks - 1) / blocks;
    }

    static void forward(Geometry g, float[] x, float[] w, float[] b, float[] y, WorkerPool pool) {
        forward(g, x, w, b, y, pool, g.kg % CR == 0);
    }

    /** The forward in the tile orientation asked for ({@code byChannels} needs kg a multiple of {@link #CR}); tests compare the two. */
    static void forward(Geometry g, float[] x, float[] w, float[] b, float[] y, WorkerPool pool, boolean byChannels) {
        if (byChannels && g.kg % CR != 0) throw new IllegalArgumentException("byChannels needs kg a multiple of " + CR + ", got kg = " + g.kg);
        int rt = rowsPerTask(g);
        int rowBlocks = (g.oh + rt - 1) / rt;
        int perImage = g.g * g.od * rowBlocks;
        // The channel-vector tile's weight panels never straddle groups (kg is a multiple of CR): all groups are
        // packed once per call, into the call's shared scratch, instead of once per task.
        float[] packed = byChannels ? pool.shared().floats(Scratch.SHARED_PACKED_A, g.k * g.rows) : null;
        if (byChannels) FloatVectorGemm.packA(CR, g.k, g.rows, w, 0, g.rows, 1, packed);
        pool.forEach(g.batch * perImage, (i, s) -> {
            int n = i / perImage, rest = i % perImage;
            int grp = rest / (g.od * rowBlocks), plane = rest % (g.od * rowBlocks);
            int oz = plane / rowBlocks, oy0 = (plane % rowBlocks) * rt, oy1 = Math.min(g.oh, oy0 + rt);
            if (byChannels) {
                taskByChannels(g, n, grp, oz, oy0, oy1, x, packed, b, y, s);
            } else {
                task(g, n, grp, oz, oy0, oy1, x, w, b, y, s);
            }
        });
    }

    private static void task(Geometry g, int n, int grp, int oz, int oy0, int oy1, float[] x, float[] w, float[] b, float[] y, Scratch s) {
        int pw = g.ow + (g.kw - 1) * g.dw, rows = oy1 - oy0, sr = rows + (g.kh - 1) * g.dh;
        int len = rows * pw, lenR = (len + NR - 1) / NR * NR;
        int block = sr * pw, stageLen = g.cg * g.kd * block + (lenR - len) + (g.kw - 1) * g.dw + NR;
        float[] st = s.floats(Scratch.STAGED, stageLen);
        stage(g, g.cg, x, (n * g.c + grp * g.cg) * g.is, oz, oy0, sr, pw, st);
        java.util.Arrays.fill(st, g.cg * g.kd * block, stageLen, 0);
        int kgR = (g.kg + MR - 1) / MR * MR;
        // Packed weights (MR-row panels over all rows, zero rows past kg) and the shift of every column-matrix row.
        float[] ap = s.floats(Scratch.GEMM_A, kgR * g.rows);
        FloatVectorGemm.packA(MR, g.kg, g.rows, w, grp * g.kg * g.rows, g.rows, 1, ap);
        int[] off = offsets(g, pw, block, s);
        float[] out = s.floats(Scratch.COLUMNS, kgR * lenR);
        // Whole 6-row panels, then a last panel of 1-2 or 3-4 rows by a 2- or 4-row kernel (5 rows: the 6-row one).
        int full = g.kg / MR * MR, rest = g.kg - full;
        for (int jr = 0; jr < lenR; jr += NR) {
            for (int ir = 0; ir < full; ir += MR) {
                kernel(g.rows, ap, ir * g.rows, st, jr, off, out, ir * lenR + jr, lenR);
            }
            if (rest > 4) {
                kernel(g.rows, ap, full * g.rows, st, jr, off, out, full * lenR + jr, lenR);
            } else if (rest > 2) {
                kernel4(g.rows, ap, full * g.rows, st, jr, off, out, full * lenR + jr, lenR);
            } else if (rest > 0) {
                kernel2(g.rows, ap, full * g.rows, st, jr, off, out, full * lenR + jr, lenR);
            }
        }
        for (int kk = 0; kk < g.kg; kk++) {
            float bv = b == null ? 0 : b[grp * g.kg + kk];
            int yo = (n * g.k + grp * g.kg + kk) * g.os + (oz * g.oh + oy0) * g.ow;
            for (int r = 0; r < rows; r++) {
                int src = kk * lenR + r * pw, dst = yo + r * g.ow;
                if (b == null) {
                    System.arraycopy(out, src, y, dst, g.ow);
                } else {
                    for (int j = 0; j < g.ow; j++) y[dst + j] = out[src + j] + bv;
                }
            }
        }
    }

    /** off[r] = the shift of column-matrix row r in the staged block: its channel's and depth tap's rows, then its row and column tap. */
    private static int[] offsets(Geometry g, int pw, int block, Scratch s) {
        int[] off = s.ints(Scratch.SAMPLE_INDEX, g.rows);
        for (int r = 0; r < g.rows; r++) {
            int c = r / g.kv, t = r % g.kv;
            int tz = t / (g.kh * g.kw), ty = (t / g.kw) % g.kh, tx = t % g.kw;
            off[r] = (c * g.kd + tz) * block + ty * g.dh * pw + tx * g.dw;
        }
        return off;
    }

    /**
     * {@link #task} with the tile turned: kg a multiple of {@link #CR}, so the weights of 2 vectors of output channels
     * are one vector load each per column-matrix row (no partial panel), and every position of the tile is one
     * broadcast of a staged value (no vector load straddling cache lines at the odd shifts). The output tile is
     * position-major (out[q][kk]) and is turned back while it is copied out. Each element is the same fused
     * multiply-add chain over k in order as in the other orientation, so the two give the same bits.
     */
    private static void taskByChannels(Geometry g, int n, int grp, int oz, int oy0, int oy1, float[] x, float[] ap, float[] b, float[] y, Scratch s) {
        int pw = g.ow + (g.kw - 1) * g.dw, rows = oy1 - oy0, sr = rows + (g.kh - 1) * g.dh;
        int len = rows * pw, lenR = (len + PR - 1) / PR * PR;
        int block = sr * pw, stageLen = g.cg * g.kd * block + (lenR - len) + (g.kw - 1) * g.dw + PR;
        float[] st = s.floats(Scratch.STAGED, stageLen);
        stage(g, g.cg, x, (n * g.c + grp * g.cg) * g.is, oz, oy0, sr, pw, st);
        java.util.Arrays.fill(st, g.cg * g.kd * block, stageLen, 0);
        int[] off = offsets(g, pw, block, s);
        float[] out = s.floats(Scratch.COLUMNS, lenR * g.kg);
        for (int q = 0; q < lenR; q += PR) {
            for (int ic = 0; ic < g.kg; ic += CR) {
                kernelByChannels(g.rows, ap, (grp * g.kg + ic) * g.rows, st, q, off, out, q * g.kg + ic, g.kg);
            }
        }
        // Turned back in blocks of TB positions of a row (TB × kg values, within L1) so that neither side is walked
        // across the whole tile per channel. Without a bias the values are copied as they are (x + 0 would turn −0 into +0).
        int yo = (n * g.k + grp * g.kg) * g.os + (oz * g.oh + oy0) * g.ow;
        if (g.kg <= GATHER_OUT_KG) {
            // VL positions of one channel at a time: a gather of every kg-th value of the tile, stored as one vector
            int[] map = s.ints(Scratch.PLAN_INDEX, VL);
            for (int l = 0; l < VL; l++) map[l] = l * g.kg;
            int full = g.ow - g.ow % VL;
            for (int r = 0; r < rows; r++) {
                for (int kk = 0; kk < g.kg; kk++) {
                    int src = r * pw * g.kg + kk, dst = yo + kk * g.os + r * g.ow;
                    float bv = b == null ? 0 : b[grp * g.kg + kk];
                    int j = 0;
                    for (; j < full; j += VL) {
                        FloatVector v = FloatVector.fromArray(S, out, src + j * g.kg, map, 0);
                        (b == null ? v : v.add(bv)).intoArray(y, dst + j);
                    }
                    for (; j < g.ow; j++) y[dst + j] = b == null ? out[src + j * g.kg] : out[src + j * g.kg] + bv;
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int j0 = 0; j0 < g.ow; j0 += TB) {
                int j1 = Math.min(g.ow, j0 + TB);
                for (int kk = 0; kk < g.kg; kk++) {
                    int src = r * pw * g.kg + kk, dst = yo + kk * g.os + r * g.ow;
                    if (b == null) {
                        for (int j = j0; j < j1; j++) y[dst + j] = out[src + j * g.kg];
                    } else {
                        float bv = b[grp * g.kg + kk];
                        for (int j = j0; j < j1; j++) y[dst + j] = out[src + j * g.kg] + bv;
                    }
                }
            }
        }
    }

    /**
     * out[q0 + j][0..CR) for j < PR (rows ldo apart from oo) = the packed weights of CR output channels (CR wide, kk deep)
     * times the staged values st[q0 + j + off[k]]; one sum per element, over k in order.
     */
    private static void kernelByChannels(int kk, float[] ap, int ao, float[] st, int q0, int[] off, float[] out, int oo, int ldo) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c04 = z, c05 = z;
        FloatVector c10 = z, c11 = z, c12 = z, c13 = z, c14 = z, c15 = z;
        for (int k = 0; k < kk; k++) {
            int aq = ao + CR * k, bq = q0 + off[k];
            FloatVector a0 = FloatVector.fromArray(S, ap, aq);
            FloatVector a1 = FloatVector.fromArray(S, ap, aq + VL);
            FloatVector b0 = FloatVector.broadcast(S, st[bq]);
            c00 = a0.fma(b0, c00); c10 = a1.fma(b0, c10);
            FloatVector b1 = FloatVector.broadcast(S, st[bq + 1]);
            c01 = a0.fma(b1, c01); c11 = a1.fma(b1, c11);
            FloatVector b2 = FloatVector.broadcast(S, st[bq + 2]);
            c02 = a0.fma(b2, c02); c12 = a1.fma(b2, c12);
            FloatVector b3 = FloatVector.broadcast(S, st[bq + 3]);
            c03 = a0.fma(b3, c03); c13 = a1.fma(b3, c13);
            FloatVector b4 = FloatVector.broadcast(S, st[bq + 4]);
            c04 = a0.fma(b4, c04); c14 = a1.fma(b4, c14);
            FloatVector b5 = FloatVector.broadcast(S, st[bq + 5]);
            c05 = a0.fma(b5, c05); c15 = a1.fma(b5, c15);
        }
        c00.intoArray(out, oo); c10.intoArray(out, oo + VL);
        c01.intoArray(out, oo + ldo); c11.intoArray(out, oo + ldo + VL);
        c02.intoArray(out, oo + 2 * ldo); c12.intoArray(out, oo + 2 * ldo + VL);
        c03.intoArray(out, oo + 3 * ldo); c13.intoArray(out, oo + 3 * ldo + VL);
        c04.intoArray(out, oo + 4 * ldo); c14.intoArray(out, oo + 4 * ldo + VL);
        c05.intoArray(out, oo + 5 * ldo); c15.intoArray(out, oo + 5 * ldo + VL);
    }

    /** st[c][tz][r][col] = x[c][oz − pd + tz·dd][oy0 − ph + r][col − pw] for col < ow + (kw − 1)·dw, zero outside the input. */
    static void stage(Geometry g, int channels, float[] x, int xBase, int oz, int oy0, int sr, int pw, float[] st) {
        // Staged columns [c0, c1) hold input columns [c0 − pw, c1 − pw); the rest is padding (either side may be uneven).
        int c0 = Math.min(pw, g.pw), c1 = Math.max(c0, Math.min(pw, g.pw + g.iw));
        int at = 0;
        for (int c = 0; c < channels; c++) {
            for (int tz = 0; tz < g.kd; tz++) {
                int iz = oz - g.pd + tz * g.dd;
                for (int r = 0; r < sr; r++, at += pw) {
                    int iy = oy0 - g.ph + r;
                    if (iz < 0 || iz >= g.id || iy < 0 || iy >= g.ih) {
                        java.util.Arrays.fill(st, at, at + pw, 0);
                        continue;
                    }
                    // The side pads are a few columns: plain loops (a fill call per pad cost more than the copy on 28-column rows).
                    for (int j = at; j < at + c0; j++) st[j] = 0;
                    System.arraycopy(x, xBase + c * g.is + (iz * g.ih + iy) * g.iw + c0 - g.pw, st, at + c0, c1 - c0);
                    for (int j = at + c1; j < at + pw; j++) st[j] = 0;
                }
            }
        }
    }

    /**
     * out[0..MR)[q0 .. q0 + NR) = the packed weight panel (MR rows × kk) times the staged columns: column-matrix
     * row k of position q is st[q + off[k]]. One sum per element, over k in order.
     */
    private static void kernel(int kk, float[] ap, int ao, float[] st, int q0, int[] off, float[] out, int oo, int ldo) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z;
        FloatVector c50 = z, c51 = z;
        for (int k = 0; k < kk; k++) {
            int aq = ao + MR * k, bq = q0 + off[k];
            FloatVector b0 = FloatVector.fromArray(S, st, bq);
            FloatVector b1 = FloatVector.fromArray(S, st, bq + VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[aq + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[aq + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
        }
        c00.intoArray(out, oo); c01.intoArray(out, oo + VL);
        c10.intoArray(out, oo + ldo); c11.intoArray(out, oo + ldo + VL);
        c20.intoArray(out, oo + 2 * ldo); c21.intoArray(out, oo + 2 * ldo + VL);
        c30.intoArray(out, oo + 3 * ldo); c31.intoArray(out, oo + 3 * ldo + VL);
        c40.intoArray(out, oo + 4 * ldo); c41.intoArray(out, oo + 4 * ldo + VL);
        c50.intoArray(out, oo + 5 * ldo); c51.intoArray(out, oo + 5 * ldo + VL);
    }

    /** The first 4 rows of {@link #kernel}'s tile, for a last panel of 3 or 4 rows (a third or fourth row past kg is a zero row). */
    private static void kernel4(int kk, float[] ap, int ao, float[] st, int q0, int[] off, float[] out, int oo, int ldo) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        for (int k = 0; k < kk; k++) {
            int aq = ao + MR * k, bq = q0 + off[k];
            FloatVector b0 = FloatVector.fromArray(S, st, bq);
            FloatVector b1 = FloatVector.fromArray(S, st, bq + VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
        }
        c00.intoArray(out, oo); c01.intoArray(out, oo + VL);
        c10.intoArray(out, oo + ldo); c11.intoArray(out, oo + ldo + VL);
        c20.intoArray(out, oo + 2 * ldo); c21.intoArray(out, oo + 2 * ldo + VL);
        c30.intoArray(out, oo + 3 * ldo); c31.intoArray(out, oo + 3 * ldo + VL);
    }

    /** The first 2 rows of {@link #kernel}'s tile, for a last panel of 1 or 2 rows. */
    private static void kernel2(int kk, float[] ap, int ao, float[] st, int q0, int[] off, float[] out, int oo, int ldo) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        for (int k = 0; k < kk; k++) {
            int aq = ao + MR * k, bq = q0 + off[k];
            FloatVector b0 = FloatVector.fromArray(S, st, bq);
            FloatVector b1 = FloatVector.fromArray(S, st, bq + VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
        }
        c00.intoArray(out, oo); c01.intoArray(out, oo + VL);
        c10.intoArray(out, oo + ldo); c11.intoArray(out, oo + ldo + VL);
    }
}
