package io.github.jconv.cpu;

/**
 * C (+)= A·B in FP32, single-threaded; callers split work into independent tasks. A and B are
 * addressed through row and column strides so that transposed operands need no copy of their own;
 * C is row-major with leading dimension {@code ldc}.
 *
 * <p>Without the Vector API ({@link #plain}), B is packed, KC rows × NC columns at a time, into
 * separate row arrays, and C is worked on three rows at a time (four where m is 8 or 16, {@link #threeRows})
 * in scratch rows. The multiply-add loops ({@link #kernel3}, {@link #kernel}) index every array by the column
 * alone, which is what C2's SuperWord (JDK 17) turns into 8-lane FMAs; each B element they load feeds three
 * or four multiply-adds. What C2 does with such a
 * loop and why it sometimes does not vectorise it is in docs/performance.md, "The scalar GEMM and
 * C2". NC is a constant so that C2 knows the row bound (measured: a computed width lost the
 * vectorisation); KC = 64 measured best on the P problems' shapes (KC = 16 with the one-row kernel
 * before); NC = 1024 lets the gathered forward take up to 1024 columns a block (512 before issue 17's
 * third round; {@link FloatPasses#gatheredTile}). Every element of C gets its multiply-adds in the same order (k ascending,
 * one fma each) whatever the rows, blocks and path, so results do not depend on how callers split
 * the work.
 */
final class FloatGemm {
    static final int KC = 64;
    static final int NC = 1024;

    /** The Vector API kernel runs when the JVM has the module (checked once, at class load). */
    static final boolean VECTOR = VectorSupport.available();
    /** Below this many multiply-adds, packing for the register-tiled kernel costs more than it saves. */
    static final long VECTOR_MIN_WORK = 4096;

    private FloatGemm() {
    }

    /**
     * A (m × kk, strides aRs/aCs) packed once for many GEMMs with the same A: {@code groups} such matrices,
     * {@code groupStride} apart in a, packed into the pool's shared scratch. Null where the plain kernel runs
     * (no Vector API, or GEMMs of fewer than {@link #VECTOR_MIN_WORK} multiply-adds per column: each call then
     * packs its own, as {@link #gemm} does). Read-only while the tasks run.
     */
    static float[] prepackA(int groups, int m, int kk, float[] a, int aOff, int groupStride, int aRs, int aCs, int minN, WorkerPool pool) {
        if (!VECTOR || m * (long) minN * kk < VECTOR_MIN_WORK) return null;
        int size = FloatVectorGemm.packedASize(m, kk);
        float[] ap = pool.shared().floats(Scratch.SHARED_PACKED_A, groups * size);
        pool.forEach(groups, (grp, s) -> FloatVectorGemm.prepackA(m, kk, a, aOff + grp * groupStride, aRs, aCs, ap, grp * size));
        return ap;
    }

    /** {@link #gemm} with A from {@link #prepackA} (group {@code grp}); ap null: A is read from a as usual. */
    static void gemmPrepackedA(int m, int n, int kk, float[] a, int aOff, int aRs, int aCs, float[] ap, int grp,
                               float[] b, int bOff, int bRs, int bCs,
                               float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        if (ap == null || m * (long) n * kk < VECTOR_MIN_WORK) {
            gemm(m, n, kk, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, s);
        } else {
            FloatVectorGemm.gemmPrepackedA(m, n, kk, ap, grp * FloatVectorGemm.packedASize(m, kk), b, bOff, bRs, bCs, c, cOff, ldc, accumulate, s);
        }
    }

    /**
     * The row stride to give a column tile of {@code len} positions that this GEMM reads as B: len itself for
     * the plain kernel; with the Vector API, len rounded up to whole 64-byte lines, plus one line where that
     * makes an even number of lines, so that {@link FloatVectorGemm#directStride} lets the kernel read the
     * tile in place instead of packing it (measured on P2's forward tile: 5 % less time for the pass).
     */
    static int columnStride(int len) {
        if (!VECTOR || len < FloatVectorGemm.NR) return len;
        int perLine = 64 / Float.BYTES;
        int ld = (len + perLine - 1) / perLine * perLine;
        return (ld / perLine) % 2 == 0 ? ld + perLine : ld;
    }

    static void gemm(int m, int n, int kk,
                     float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int bRs, int bCs,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        if (m == 0 || n == 0) return;
        if (VECTOR && m * (long) n * kk >= VECTOR_MIN_WORK) {
            FloatVectorGemm.gemm(m, n, kk, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, s);
            return;
        }
        plain(m, n, kk, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, s);
    }

    /** The GEMM without the Vector API (what {@link #gemm} runs without the module, and tests call directly). */
    static void plain(int m, int n, int kk,
                      float[] a, int aOff, int aRs, int aCs,
                      float[] b, int bOff, int bRs, int bCs,
                      float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        if (m == 0 || n == 0) return;
        if (kk == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0);
            return;
        }
        float[][] bp = s.floatRows(Scratch.GEMM_A, KC, rowWidth(n));
        float[][] acc = s.floatRows(Scratch.GEMM_B, MR, rowWidth(n));
        float[] ar = s.floats(Scratch.GEMM_B, MR * KC);
        int nb = block(n, NC, 8), kb = block(kk, KC, 4);
        for (int jc = 0; jc < n; jc += nb) {
            int nc = Math.min(nb, n - jc);
            for (int pc = 0; pc < kk; pc += kb) {
                int kc = Math.min(kb, kk - pc);
                // K is padded to a multiple of 4 with zero rows and zero coefficients, so the row loop
                // has one shape for every problem and C2 never recompiles it for a new remainder.
                int kp = (kc + 3) & ~3;
                packB(kc, nc, b, bOff + pc * bRs + jc * bCs, bRs, bCs, bp);
                for (int k = kc; k < kp; k++) java.util.Arrays.fill(bp[k], 0, nc, 0);
                boolean load = accumulate || pc > 0;
                if (nc < SMALL_N) narrow(m, a, aOff + pc * aCs, aRs, aCs, kc, kp, bp, c, cOff + jc, ldc, nc, load);
                else rows(m, a, aOff + pc * aCs, aRs, aCs, kc, kp, ar, bp, acc, c, cOff + jc, ldc, nc, load, false);
            }
        }
    }

    /**
     * C = A·B where B is the column matrix of an image (rows of {@code g}, positions from p0), never
     * stored whole: each K block's rows are gathered straight into the packed B rows. Same-shape
     * geometries only ({@link FloatColumns#sameShape}), where a row gather is a shifted copy. Measured
     * about as fast as gathering the tile first; it needs no column tile (1.8 MiB per worker on P2).
     */
    static void gemmGathered(int m, int n, int kk, float[] a, int aOff, int aRs,
                             Geometry g, float[] x, int xBase, int p0,
                             float[] c, int cOff, int ldc, Scratch s) {
        if (m == 0 || n == 0) return;
        float[][] bp = s.floatRows(Scratch.GEMM_A, KC, rowWidth(n));
        float[][] acc = s.floatRows(Scratch.GEMM_B, MR, rowWidth(n));
        float[] ar = s.floats(Scratch.GEMM_B, MR * KC);
        int nb = block(n, NC, 8), kb = block(kk, KC, 4);
        for (int jc = 0; jc < n; jc += nb) {
            int nc = Math.min(nb, n - jc);
            for (int pc = 0; pc < kk; pc += kb) {
                int kc = Math.min(kb, kk - pc);
                int kp = (kc + 3) & ~3;
                for (int k = 0; k < kc; k++) FloatColumns.im2col(g, x, xBase, pc + k, pc + k + 1, p0 + jc, p0 + jc + nc, bp[k], 0);
                for (int k = kc; k < kp; k++) java.util.Arrays.fill(bp[k], 0, nc, 0);
                boolean load = pc > 0;
                if (nc < SMALL_N) narrow(m, a, aOff + pc, aRs, 1, kc, kp, bp, c, cOff + jc, ldc, nc, load);
                else rows(m, a, aOff + pc, aRs, 1, kc, kp, ar, bp, acc, c, cOff + jc, ldc, nc, load, true);
            }
        }
    }

    /**
     * Width of the scratch rows for n columns: a block's width plus one 64-byte line, so that rows allocated one
     * after the other are not 4 KiB apart (1024-column rows were: the eight rows the transposed packing writes
     * together then fell into one L1 set, measured P7's weight gradient 176-198 ms against 168-175).
     */
    private static int rowWidth(int n) {
        return Math.min(NC, n) + 16;
    }

    /**
     * The block size for {@code total} elements in blocks of at most {@code max}: as many blocks as
     * needed, of equal size rounded up to a multiple of {@code unit} (at most max, a multiple of unit),
     * so that no block is a thin remainder (measured: N = 576 as 512 + 64 columns ran slower than
     * 2 × 288).
     */
    static int block(int total, int max, int unit) {
        int blocks = (total + max - 1) / max;
        int size = (total + blocks - 1) / blocks;
        return Math.min(max, (size + unit - 1) / unit * unit);
    }

    /** Most rows of C a kernel call works on together ({@link #kernel}; {@link #kernel3} takes three). */
    static final int MR = 4;

    /**
     * Whether the m rows of C go three at a time ({@link #kernel3}) rather than four ({@link #kernel}). The
     * three-row kernel's 12 coefficients stay in AVX2's 16 registers beside the B and C vectors (the four-row
     * one reloads 6 of its 16 from the stack every 8 lanes) and measured 5-15 % faster per multiply-add on the
     * P problems' shapes; it is used unless padding m to a multiple of 3 costs more than that against padding to 4
     * (m = 8, 16: four rows). A pure function of m, so no element's sum depends on the thread count.
     */
    static boolean threeRows(int m) {
        int p3 = (m + 2) / 3 * 3, p4 = (m + 3) / 4 * 4;
        return p3 * 25 <= p4 * 27;
    }
    /**
     * Column blocks narrower than this skip {@link #kernel}: C2 compiles a loop from the trip counts
     * it has seen, and a kernel that first ran on a few narrow blocks stayed unvectorised for the wide
     * ones that followed (measured: 7 and 29 instead of 38 GFLOP/s on P1's shape after 2000 calls with 4 columns).
     */
    static final int SMALL_N = 16;

    /**
     * The narrow-block path: plain loops over the packed block, with the same multiply-adds in the
     * same order as {@link #kernel}, so that a C element does not depend on the width of its block.
     * The kernel's zero padding terms, fma(0, 0, v), are v + 0 (which turns -0 into +0); they are
     * added as such where the block has them.
     */
    private static void narrow(int m, float[] a, int ao, int aRs, int aCs, int kc, int kp, float[][] bp,
                               float[] c, int co, int ldc, int nc, boolean load) {
        for (int i = 0; i < m; i++) {
            int aRow = ao + i * aRs, cRow = co + i * ldc;
            if (!load) java.util.Arrays.fill(c, cRow, cRow + nc, 0);
            for (int k = 0; k < kc; k++) {
                float av = a[aRow + k * aCs];
                float[] br = bp[k];
                for (int j = 0; j < nc; j++) c[cRow + j] = Math.fma(av, br[j], c[cRow + j]);
            }
            if (kp > kc) for (int j = 0; j < nc; j++) c[cRow + j] += 0f;
        }
    }

    /**
     * All m rows of C over one K block (kc × nc of packed B), three rows a pass ({@link #threeRows}; else
     * {@link #MR}): the rows' coefficients and current values are copied into scratch rows, the kernel
     * multiply-adds ({@link #kernel3g} for {@link #gemmGathered}, {@link #kernel3} otherwise, {@link #kernel}
     * for four rows), and the rows are copied back. A last group of fewer rows goes through the same kernel
     * with zero coefficients in the missing rows, which are never stored, so that a GEMM uses one compiled
     * kernel only.
     */
    private static void rows(int m, float[] a, int ao, int aRs, int aCs, int kc, int kp, float[] ar, float[][] bp,
                             float[][] acc, float[] c, int co, int ldc, int nc, boolean load, boolean gathered) {
        boolean three = threeRows(m);
        int mr = three ? 3 : MR;
        for (int i = 0; i < m; i += mr) {
            int live = Math.min(mr, m - i);
            for (int r = 0; r < mr; r++) {
                int at = r * KC;
                if (r < live) {
                    int aRow = ao + (i + r) * aRs;
                    for (int k = 0; k < kc; k++) ar[at + k] = a[aRow + k * aCs];
                    java.util.Arrays.fill(ar, at + kc, at + kp, 0);
                    if (load) System.arraycopy(c, co + (i + r) * ldc, acc[r], 0, nc);
                    else java.util.Arrays.fill(acc[r], 0, nc, 0);
                } else {
                    java.util.Arrays.fill(ar, at, at + kp, 0);
                    java.util.Arrays.fill(acc[r], 0, nc, 0);
                }
            }
            if (three && gathered) kernel3g(ar, kp, bp, acc[0], acc[1], acc[2], nc);
            else if (three) kernel3(ar, kp, bp, acc[0], acc[1], acc[2], nc);
            else kernel(ar, kp, bp, acc[0], acc[1], acc[2], acc[3], nc);
            for (int r = 0; r < live; r++) System.arraycopy(acc[r], 0, c, co + (i + r) * ldc, nc);
        }
    }

    /**
     * c_r[j] += Σ_k ar[r·KC + k]·bp[k][j] for the four rows r, k ascending, one fma per term: each pass
     * over j multiply-adds four B rows into four C rows, so each B element loaded feeds four
     * multiply-adds and each C element loaded and stored takes four. Every array in the loop is
     * indexed by j alone, the shape C2's SuperWord vectorises. Every element of C gets the same
     * multiply-adds in the same order whichever rows it is grouped with.
     *
     * <p>The method holds the loops only and is kept above C2's inlining size (FreqInlineSize, 325
     * bytecodes), so it is compiled on its own. Measured on JDK 17 (see docs/performance.md, "The scalar
     * GEMM and C2"): when such a kernel was inlined into its caller, or shared its method with the
     * copying in and out, its multiply-add loop was unrolled but left unvectorised in most JVM runs,
     * about 10 instead of 40 GFLOP/s.
     */
    private static void kernel(float[] ar, int kp, float[][] bp, float[] c0, float[] c1, float[] c2, float[] c3, int nc) {
        // nc never exceeds NC; the bound is stated so that the loop's limit is known to be small.
        int n = Math.min(nc, NC);
        for (int k = 0; k < kp; k += 4) {
            float a00 = ar[k], a01 = ar[k + 1], a02 = ar[k + 2], a03 = ar[k + 3];
            float a10 = ar[KC + k], a11 = ar[KC + k + 1], a12 = ar[KC + k + 2], a13 = ar[KC + k + 3];
            float a20 = ar[2 * KC + k], a21 = ar[2 * KC + k + 1], a22 = ar[2 * KC + k + 2], a23 = ar[2 * KC + k + 3];
            float a30 = ar[3 * KC + k], a31 = ar[3 * KC + k + 1], a32 = ar[3 * KC + k + 2], a33 = ar[3 * KC + k + 3];
            float[] b0 = bp[k], b1 = bp[k + 1], b2 = bp[k + 2], b3 = bp[k + 3];
            for (int j = 0; j < n; j++) {
                float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                c0[j] = Math.fma(a03, x3, Math.fma(a02, x2, Math.fma(a01, x1, Math.fma(a00, x0, c0[j]))));
                c1[j] = Math.fma(a13, x3, Math.fma(a12, x2, Math.fma(a11, x1, Math.fma(a10, x0, c1[j]))));
                c2[j] = Math.fma(a23, x3, Math.fma(a22, x2, Math.fma(a21, x1, Math.fma(a20, x0, c2[j]))));
                c3[j] = Math.fma(a33, x3, Math.fma(a32, x2, Math.fma(a31, x1, Math.fma(a30, x0, c3[j]))));
            }
        }
    }

    /**
     * {@link #kernel} for three rows of C: c_r[j] += Σ_k ar[r·KC + k]·bp[k][j], r < 3, k ascending, one fma per term,
     * the same multiply-adds in the same order as the four-row kernel gives each element. Its own method, like
     * {@link #kernel}, and above C2's inlining size too (330 bytecodes against FreqInlineSize 325, a small margin): keep it so.
     */
    private static void kernel3(float[] ar, int kp, float[][] bp, float[] c0, float[] c1, float[] c2, int nc) {
        // nc never exceeds NC; the bound is stated so that the loop's limit is known to be small.
        int n = Math.min(nc, NC);
        for (int k = 0; k < kp; k += 4) {
            float a00 = ar[k], a01 = ar[k + 1], a02 = ar[k + 2], a03 = ar[k + 3];
            float a10 = ar[KC + k], a11 = ar[KC + k + 1], a12 = ar[KC + k + 2], a13 = ar[KC + k + 3];
            float a20 = ar[2 * KC + k], a21 = ar[2 * KC + k + 1], a22 = ar[2 * KC + k + 2], a23 = ar[2 * KC + k + 3];
            float[] b0 = bp[k], b1 = bp[k + 1], b2 = bp[k + 2], b3 = bp[k + 3];
            for (int j = 0; j < n; j++) {
                float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                c0[j] = Math.fma(a03, x3, Math.fma(a02, x2, Math.fma(a01, x1, Math.fma(a00, x0, c0[j]))));
                c1[j] = Math.fma(a13, x3, Math.fma(a12, x2, Math.fma(a11, x1, Math.fma(a10, x0, c1[j]))));
                c2[j] = Math.fma(a23, x3, Math.fma(a22, x2, Math.fma(a21, x1, Math.fma(a20, x0, c2[j]))));
            }
        }
    }

    /**
     * {@link #kernel3} again, for {@link #gemmGathered} alone: C2 compiles a loop from the trip counts it has seen,
     * and the gathered forward's blocks (up to 1024 columns) and the weight gradient's (a few hundred) ran
     * slower through one compiled kernel than each through its own (measured: P7's weight gradient 169-176 ms
     * one thread after a forward of 504-column blocks, 179-211 after 1008-column blocks, one kernel).
     */
    private static void kernel3g(float[] ar, int kp, float[][] bp, float[] c0, float[] c1, float[] c2, int nc) {
        // nc never exceeds NC; the bound is stated so that the loop's limit is known to be small.
        int n = Math.min(nc, NC);
        for (int k = 0; k < kp; k += 4) {
            float a00 = ar[k], a01 = ar[k + 1], a02 = ar[k + 2], a03 = ar[k + 3];
            float a10 = ar[KC + k], a11 = ar[KC + k + 1], a12 = ar[KC + k + 2], a13 = ar[KC + k + 3];
            float a20 = ar[2 * KC + k], a21 = ar[2 * KC + k + 1], a22 = ar[2 * KC + k + 2], a23 = ar[2 * KC + k + 3];
            float[] b0 = bp[k], b1 = bp[k + 1], b2 = bp[k + 2], b3 = bp[k + 3];
            for (int j = 0; j < n; j++) {
                float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                c0[j] = Math.fma(a03, x3, Math.fma(a02, x2, Math.fma(a01, x1, Math.fma(a00, x0, c0[j]))));
                c1[j] = Math.fma(a13, x3, Math.fma(a12, x2, Math.fma(a11, x1, Math.fma(a10, x0, c1[j]))));
                c2[j] = Math.fma(a23, x3, Math.fma(a22, x2, Math.fma(a21, x1, Math.fma(a20, x0, c2[j]))));
            }
        }
    }

    private static void packB(int kc, int nc, float[] b, int off, int rs, int cs, float[][] bp) {
        if (cs == 1) {
            for (int k = 0; k < kc; k++) System.arraycopy(b, off + k * rs, bp[k], 0, nc);
        } else if (rs == 1) {
            // B read transposed (the weight gradient's columns): K runs along memory. Eight rows at a
            // time: each column's eight consecutive values go to eight rows held in locals (measured on
            // P7's weight-gradient GEMM, 32 × 432 × 592: 30 → 38-40 GFLOP/s against one column at a time
            // into all kc rows, 36 with four rows at a time).
            int k = 0;
            for (; k + 8 <= kc; k += 8) {
                float[] r0 = bp[k], r1 = bp[k + 1], r2 = bp[k + 2], r3 = bp[k + 3];
                float[] r4 = bp[k + 4], r5 = bp[k + 5], r6 = bp[k + 6], r7 = bp[k + 7];
                int at = off + k;
                for (int j = 0; j < nc; j++, at += cs) {
                    r0[j] = b[at];
                    r1[j] = b[at + 1];
                    r2[j] = b[at + 2];
                    r3[j] = b[at + 3];
                    r4[j] = b[at + 4];
                    r5[j] = b[at + 5];
                    r6[j] = b[at + 6];
                    r7[j] = b[at + 7];
                }
            }
            for (; k < kc; k++) {
                float[] row = bp[k];
                for (int j = 0; j < nc; j++) row[j] = b[off + k + j * cs];
            }
        } else {
            for (int k = 0; k < kc; k++) {
                float[] row = bp[k];
                for (int j = 0; j < nc; j++) row[j] = b[off + k * rs + j * cs];
            }
        }
    }
}
