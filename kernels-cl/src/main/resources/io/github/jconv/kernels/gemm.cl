// jconv tiled GEMM with local memory: C = A * B (+ C when accumulate) (+ bias[g*M + m] when has_bias),
// batched over get_group_id(2) = g. Every operand is addressed through strides, so a transposed
// operand is only a different stride pair, and either index of an operand may be split in two so
// that a batch of NCHW images reads as one matrix (column j = image * ns + position):
//   X(r, c) = X[offX + g*sXg + IDX(r, nsXr, sXr, sXrO) + IDX(c, nsXc, sXc, sXcO)]
//   IDX(i, ns, s, so) = ns ? (i / ns) * so + (i % ns) * s : i * s
// Each work-group computes a TSM x TSN tile with (TSM/WPTM) x (TSN/WPTN) work-items, each owning
// WPTM x WPTN results; the K dimension advances TSK at a time through local memory. Sums run in a
// fixed order: results are deterministic.
//
// Defines (the host derives them from the device's limits): REAL, JCONV_FP64, TSM, TSN, TSK, WPTM, WPTN.
// Kernel: gemm(M, N, K, OPERAND(A), OPERAND(B), OPERAND(C), bias, has_bias, accumulate) with
//   OPERAND(X) = X, offX, sXg, sXr, nsXr, sXrO, sXc, nsXc, sXcO   (rows of A and C are m, of B k;
//   columns of A are k, of B and C n); local size (TSM/WPTM, TSN/WPTN, 1),
//   global (ceil(M/TSM)*TSM/WPTM, ceil(N/TSN)*TSN/WPTN, batches).

#ifndef REAL
#define REAL float
#endif
#if defined(JCONV_FP64) && JCONV_FP64 && defined(__OPENCL_VERSION__)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)

typedef REAL real;

#define IDX(i, ns, s, so) ((ns) ? (long)((i) / (ns)) * (so) + (long)((i) % (ns)) * (s) : (long)(i) * (s))
#define OPERAND(X, Q) __global Q real* X, const long off##X, const long s##X##g, \
    const long s##X##r, const int ns##X##r, const long s##X##rO, const long s##X##c, const int ns##X##c, const long s##X##cO

__kernel void gemm(const int M, const int N, const int K, OPERAND(A, const), OPERAND(B, const), OPERAND(C, ),
                   __global const real* bias, const int has_bias, const int accumulate) {
    __local real As[TSK][TSM];
    __local real Bs[TSK][TSN];
    const int tm = get_local_id(0);
    const int tn = get_local_id(1);
    const int tid = tn * RTSM + tm;
    const int m0 = get_group_id(0) * TSM;
    const int n0 = get_group_id(1) * TSN;
    const long g = get_group_id(2);
    __global const real* Ag = A + offA + g * sAg;
    __global const real* Bg = B + offB + g * sBg;
    real acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++) acc[i][j] = 0;

    for (int k0 = 0; k0 < K; k0 += TSK) {
        // Neighbouring work-items load neighbouring addresses: walk the operand's unit-stride side first.
        if (sAr == 1) {
            for (int l = tid; l < TSK * TSM; l += RTSM * RTSN) {
                const int kk = l / TSM, mm = l - kk * TSM;
                const int m = m0 + mm, k = k0 + kk;
                As[kk][mm] = (m < M && k < K) ? Ag[IDX(m, nsAr, sAr, sArO) + IDX(k, nsAc, sAc, sAcO)] : 0;
            }
        } else {
            for (int l = tid; l < TSK * TSM; l += RTSM * RTSN) {
                const int mm = l / TSK, kk = l - mm * TSK;
                const int m = m0 + mm, k = k0 + kk;
                As[kk][mm] = (m < M && k < K) ? Ag[IDX(m, nsAr, sAr, sArO) + IDX(k, nsAc, sAc, sAcO)] : 0;
            }
        }
        if (sBc == 1) {
            for (int l = tid; l < TSK * TSN; l += RTSM * RTSN) {
                const int kk = l / TSN, nn = l - kk * TSN;
                const int j = n0 + nn, k = k0 + kk;
                Bs[kk][nn] = (j < N && k < K) ? Bg[IDX(k, nsBr, sBr, sBrO) + IDX(j, nsBc, sBc, sBcO)] : 0;
            }
        } else {
            for (int l = tid; l < TSK * TSN; l += RTSM * RTSN) {
                const int nn = l / TSK, kk = l - nn * TSK;
                const int j = n0 + nn, k = k0 + kk;
                Bs[kk][nn] = (j < N && k < K) ? Bg[IDX(k, nsBr, sBr, sBrO) + IDX(j, nsBc, sBc, sBcO)] : 0;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TSK; kk++) {
            real a[WPTM];
            for (int i = 0; i < WPTM; i++) a[i] = As[kk][tm + i * RTSM];
            for (int j = 0; j < WPTN; j++) {
                const real bv = Bs[kk][tn + j * RTSN];
                for (int i = 0; i < WPTM; i++) acc[i][j] += a[i] * bv;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global real* Cg = C + offC + g * sCg;
    for (int i = 0; i < WPTM; i++) {
        const int m = m0 + tm + i * RTSM;
        if (m >= M) continue;
        for (int j = 0; j < WPTN; j++) {
            const int n = n0 + tn + j * RTSN;
            if (n >= N) continue;
            const long at = IDX(m, nsCr, sCr, sCrO) + IDX(n, nsCc, sCc, sCcO);
            real v = acc[i][j];
            if (accumulate) v += Cg[at];
            if (has_bias) v += bias[g * M + m];
            Cg[at] = v;
        }
    }
}
