package io.github.jconv.cpu;

/**
 * C (+)= A·B in FP32, single-threaded; callers split work into independent tasks. A and B are
 * addressed through row and column strides so that transposed operands need no copy of their own;
 * C is row-major with leading dimension {@code ldc}.
 *
 * <p>B is packed, KC rows × NC columns at a time, into separate row arrays, and each row of C is
 * worked on in a scratch row: C2 (JDK 17) vectorises a loop whose loads and store all use one index
 * into distinct arrays, but not one that reads and writes arrays at different unknown offsets (it
 * cannot rule out aliasing). Each pass over a C row does eight multiply-adds per element load and
 * store. NC is a constant so that C2 knows the row bound (measured: a computed width lost the
 * vectorisation); KC = 16, NC = 512 measured best on the P problems.
 */
final class FloatGemm {
    static final int KC = 16;
    static final int NC = 512;

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
        if (kk == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0);
            return;
        }
        float[][] bp = s.floatRows(Scratch.GEMM_A, KC, Math.min(NC, n));
        float[] acc = s.floats(Scratch.GEMM_A, Math.min(NC, n));
        float[] ar = s.floats(Scratch.GEMM_B, KC);
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < kk; pc += KC) {
                int kc = Math.min(KC, kk - pc);
                // K is padded to a multiple of 8 with zero rows and zero coefficients, so the row loop
                // has one shape for every problem and C2 never recompiles it for a new remainder.
                int kp = (kc + 7) & ~7;
                packB(kc, nc, b, bOff + pc * bRs + jc * bCs, bRs, bCs, bp);
                for (int k = kc; k < kp; k++) java.util.Arrays.fill(bp[k], 0, nc, 0);
                boolean load = accumulate || pc > 0;
                for (int i = 0; i < m; i++) {
                    row(a, aOff + i * aRs + pc * aCs, aCs, kc, kp, ar, bp, acc, c, cOff + i * ldc + jc, nc, load);
                }
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
        float[][] bp = s.floatRows(Scratch.GEMM_A, KC, Math.min(NC, n));
        float[] acc = s.floats(Scratch.GEMM_A, Math.min(NC, n));
        float[] ar = s.floats(Scratch.GEMM_B, KC);
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < kk; pc += KC) {
                int kc = Math.min(KC, kk - pc);
                int kp = (kc + 7) & ~7;
                for (int k = 0; k < kc; k++) FloatColumns.im2col(g, x, xBase, pc + k, pc + k + 1, p0 + jc, p0 + jc + nc, bp[k], 0);
                for (int k = kc; k < kp; k++) java.util.Arrays.fill(bp[k], 0, nc, 0);
                boolean load = pc > 0;
                for (int i = 0; i < m; i++) {
                    row(a, aOff + i * aRs + pc, 1, kc, kp, ar, bp, acc, c, cOff + i * ldc + jc, nc, load);
                }
            }
        }
    }

    /**
     * One row of C over one K block: copy in, multiply-add eight B rows at a time, copy out. Kept as
     * one method above C2's inlining size (FreqInlineSize, 325 bytecodes), so it is compiled on its
     * own: measured on JDK 17, when it was inlined, a recompilation of the caller (a new branch
     * taken in packing) could leave the multiply-add loop unvectorised, 3× slower.
     */
    private static void row(float[] a, int ao, int aCs, int kc, int kp, float[] ar, float[][] bp,
                            float[] acc, float[] c, int co, int nc, boolean load) {
        for (int k = 0; k < kc; k++) ar[k] = a[ao + k * aCs];
        for (int k = kc; k < kp; k++) ar[k] = 0;
        // The row is worked on in a scratch array so that every access in the loop has index j.
        if (load) System.arraycopy(c, co, acc, 0, nc);
        else java.util.Arrays.fill(acc, 0, nc, 0);
        // nc never exceeds NC; saying so gives C2 the loop bound it needs to vectorise (measured).
        int n = Math.min(nc, NC);
        for (int k = 0; k < kp; k += 8) {
            float a0 = ar[k], a1 = ar[k + 1], a2 = ar[k + 2], a3 = ar[k + 3];
            float a4 = ar[k + 4], a5 = ar[k + 5], a6 = ar[k + 6], a7 = ar[k + 7];
            float[] b0 = bp[k], b1 = bp[k + 1], b2 = bp[k + 2], b3 = bp[k + 3];
            float[] b4 = bp[k + 4], b5 = bp[k + 5], b6 = bp[k + 6], b7 = bp[k + 7];
            for (int j = 0; j < n; j++) {
                float t = Math.fma(a3, b3[j], Math.fma(a2, b2[j], Math.fma(a1, b1[j], Math.fma(a0, b0[j], acc[j]))));
                acc[j] = Math.fma(a7, b7[j], Math.fma(a6, b6[j], Math.fma(a5, b5[j], Math.fma(a4, b4[j], t))));
            }
        }
        System.arraycopy(acc, 0, c, co, nc);
    }

    private static void packB(int kc, int nc, float[] b, int off, int rs, int cs, float[][] bp) {
        if (cs == 1) {
            for (int k = 0; k < kc; k++) System.arraycopy(b, off + k * rs, bp[k], 0, nc);
        } else {
            for (int k = 0; k < kc; k++) {
                float[] row = bp[k];
                for (int j = 0; j < nc; j++) row[j] = b[off + k * rs + j * cs];
            }
        }
    }
}
