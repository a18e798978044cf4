// Generated from the Float twin by DoubleSourcesTest (retype float -> double); edit the Float file.
package io.github.jconv.cpu;

/**
 * C (+)= A·B in FP64, single-threaded; callers split work into independent tasks. A and B are
 * addressed through row and column strides so that transposed operands need no copy of their own;
 * C is row-major with leading dimension {@code ldc}. Blocked over K and N so the B panel stays in
 * L2, and register-tiled over four rows of C whose inner loop over contiguous columns C2 vectorises.
 */
final class DoubleGemm {
    static final int KC = 256;
    static final int NC = 768;

    private DoubleGemm() {
    }

    static void gemm(int m, int n, int kk,
                     double[] a, int aOff, int aRs, int aCs,
                     double[] b, int bOff, int bRs, int bCs,
                     double[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        if (!accumulate) {
            for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0);
        }
        if (kk == 0) return;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < kk; pc += KC) {
                int kc = Math.min(KC, kk - pc);
                double[] bp;
                int bpOff;
                int bpRs;
                if (bCs == 1) {
                    bp = b;
                    bpOff = bOff + pc * bRs + jc;
                    bpRs = bRs;
                } else {
                    bp = s.doubles(1, kc * nc);
                    for (int k = 0; k < kc; k++) {
                        int src = bOff + (pc + k) * bRs + jc * bCs;
                        int dst = k * nc;
                        for (int j = 0; j < nc; j++) bp[dst + j] = b[src + j * bCs];
                    }
                    bpOff = 0;
                    bpRs = nc;
                }
                double[] ap = s.doubles(0, 4 * kc);
                int i = 0;
                for (; i + 4 <= m; i += 4) {
                    int ar = aOff + i * aRs + pc * aCs;
                    for (int k = 0; k < kc; k++) {
                        int q = ar + k * aCs;
                        ap[4 * k] = a[q];
                        ap[4 * k + 1] = a[q + aRs];
                        ap[4 * k + 2] = a[q + 2 * aRs];
                        ap[4 * k + 3] = a[q + 3 * aRs];
                    }
                    kernel4(kc, nc, ap, bp, bpOff, bpRs, c, cOff + i * ldc + jc, ldc);
                }
                for (; i < m; i++) {
                    int ar = aOff + i * aRs + pc * aCs;
                    int co = cOff + i * ldc + jc;
                    for (int k = 0; k < kc; k++) {
                        double av = a[ar + k * aCs];
                        int bo = bpOff + k * bpRs;
                        for (int j = 0; j < nc; j++) c[co + j] = Math.fma(av, bp[bo + j], c[co + j]);
                    }
                }
            }
        }
    }

    private static void kernel4(int kc, int nc, double[] ap, double[] bp, int bOff, int bRs, double[] c, int co, int ldc) {
        int c0 = co, c1 = co + ldc, c2 = co + 2 * ldc, c3 = co + 3 * ldc;
        for (int k = 0; k < kc; k++) {
            double a0 = ap[4 * k], a1 = ap[4 * k + 1], a2 = ap[4 * k + 2], a3 = ap[4 * k + 3];
            int bo = bOff + k * bRs;
            for (int j = 0; j < nc; j++) {
                double bv = bp[bo + j];
                c[c0 + j] = Math.fma(a0, bv, c[c0 + j]);
                c[c1 + j] = Math.fma(a1, bv, c[c1 + j]);
                c[c2 + j] = Math.fma(a2, bv, c[c2 + j]);
                c[c3 + j] = Math.fma(a3, bv, c[c3 + j]);
            }
        }
    }
}
