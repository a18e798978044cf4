package io.github.jconv.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The FP32 GEMM of {@link FloatGemm} written with the Vector API: a 4 × (3 vectors) tile of C is
 * kept in registers across the whole K block, which C2's auto-vectoriser cannot do. Loaded only
 * when the JVM has {@code jdk.incubator.vector} ({@link VectorSupport}); same contract as FloatGemm.
 */
final class FloatVectorGemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    static final int MR = 4;
    static final int NR = 3 * VL;
    static final int KC = 256;
    static final int NC = 1024;

    private FloatVectorGemm() {
    }

    static void gemm(int m, int n, int kk,
                     float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int bRs, int bCs,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        if (m == 0 || n == 0) return;
        if (!accumulate) {
            for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0);
        }
        if (kk == 0) return;
        int mp = (m + MR - 1) / MR * MR;
        float[] ap = s.floats(0, mp * Math.min(KC, kk));
        float[] bp = s.floats(1, Math.min(KC, kk) * ((Math.min(NC, n) + NR - 1) / NR * NR));
        float[] tile = s.floats(4, MR * NR);
        for (int pc = 0; pc < kk; pc += KC) {
            int kc = Math.min(KC, kk - pc);
            packA(m, kc, a, aOff + pc * aCs, aRs, aCs, ap);
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                // Row-major B is read in place, full strips only; strided B and the last partial strip are packed.
                boolean direct = bCs == 1;
                int full = direct ? nc / NR * NR : 0;
                if (full < nc) packB(kc, nc - full, b, bOff + pc * bRs + (jc + full) * bCs, bRs, bCs, bp);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = Math.min(NR, nc - jr);
                    float[] bArr = jr < full ? b : bp;
                    int bo = jr < full ? bOff + pc * bRs + jc + jr : (jr - full) * kc;
                    int bStride = jr < full ? bRs : NR;
                    for (int ir = 0; ir < m; ir += MR) {
                        int mr = Math.min(MR, m - ir);
                        kernel(kc, ap, ir * kc, bArr, bo, bStride, c, cOff + ir * ldc + jc + jr, ldc, mr, nr, tile);
                    }
                }
            }
        }
    }

    /** ap[(i / MR) * kc * MR + k * MR + i % MR] = A[i][k], zero rows past m. */
    private static void packA(int m, int kc, float[] a, int off, int rs, int cs, float[] ap) {
        for (int ib = 0; ib < m; ib += MR) {
            int base = ib * kc;
            for (int r = 0; r < MR; r++) {
                int i = ib + r;
                if (i < m) {
                    int src = off + i * rs;
                    for (int k = 0; k < kc; k++) ap[base + k * MR + r] = a[src + k * cs];
                } else {
                    for (int k = 0; k < kc; k++) ap[base + k * MR + r] = 0;
                }
            }
        }
    }

    /** bp[(j / NR) * kc * NR + k * NR + j % NR] = B[k][j], zero columns past nc. */
    private static void packB(int kc, int nc, float[] b, int off, int rs, int cs, float[] bp) {
        for (int jb = 0; jb < nc; jb += NR) {
            int base = jb * kc;
            int w = Math.min(NR, nc - jb);
            if (rs == 1) {
                // B is A-like (k contiguous): read each column along k, write it down the strip.
                for (int j = 0; j < w; j++) {
                    int src = off + (jb + j) * cs;
                    for (int k = 0; k < kc; k++) bp[base + k * NR + j] = b[src + k];
                }
                for (int k = 0; k < kc; k++) {
                    for (int j = w; j < NR; j++) bp[base + k * NR + j] = 0;
                }
                continue;
            }
            for (int k = 0; k < kc; k++) {
                int dst = base + k * NR;
                int src = off + k * rs + jb * cs;
                if (cs == 1) {
                    System.arraycopy(b, src, bp, dst, w);
                } else {
                    for (int j = 0; j < w; j++) bp[dst + j] = b[src + j * cs];
                }
                for (int j = w; j < NR; j++) bp[dst + j] = 0;
            }
        }
    }

    static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, int bStride, float[] c, int co, int ldc,
                       int mr, int nr, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S);
        for (int k = 0; k < kc; k++) {
            int bq = bo + k * bStride, aq = ao + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bq);
            FloatVector b1 = FloatVector.fromArray(S, bp, bq + VL);
            FloatVector b2 = FloatVector.fromArray(S, bp, bq + 2 * VL);
            FloatVector a = FloatVector.broadcast(S, ap[aq]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            a = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            a = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            a = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
        }
        if (mr == MR && nr == NR) {
            add(c00, c01, c02, c, co);
            add(c10, c11, c12, c, co + ldc);
            add(c20, c21, c22, c, co + 2 * ldc);
            add(c30, c31, c32, c, co + 3 * ldc);
            return;
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, VL); c02.intoArray(tile, 2 * VL);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + VL); c12.intoArray(tile, NR + 2 * VL);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + VL); c22.intoArray(tile, 2 * NR + 2 * VL);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + VL); c32.intoArray(tile, 3 * NR + 2 * VL);
        for (int r = 0; r < mr; r++) {
            for (int j = 0; j < nr; j++) c[co + r * ldc + j] += tile[r * NR + j];
        }
    }

    private static void add(FloatVector v0, FloatVector v1, FloatVector v2, float[] c, int o) {
        FloatVector.fromArray(S, c, o).add(v0).intoArray(c, o);
        FloatVector.fromArray(S, c, o + VL).add(v1).intoArray(c, o + VL);
        FloatVector.fromArray(S, c, o + 2 * VL).add(v2).intoArray(c, o + 2 * VL);
    }
}
