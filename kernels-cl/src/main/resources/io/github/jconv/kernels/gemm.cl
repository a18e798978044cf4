// jconv tiled GEMM with local memory: C = A * B (+ C when accumulate) (+ bias[g*M + m] when has_bias),
// batched over get_group_id(2) = g. Every matrix is addressed through strides, so a transposed
// operand is only a different stride pair:
//   A(m, k) = A[offA + g*sAg + m*sAm + k*sAk],  B(k, j) = B[offB + g*sBg + k*sBk + j*sBn],
//   C(m, j) = C[offC + g*sCg + m*sCm + j*sCn].
// Each work-group computes a TSM x TSN tile with (TSM/WPTM) x (TSN/WPTN) work-items, each owning
// WPTM x WPTN results; the K dimension advances TSK at a time through local memory. Sums run in a
// fixed order: results are deterministic.
//
// Defines (the host derives them from the device's limits): REAL, JCONV_FP64, TSM, TSN, TSK, WPTM, WPTN.
// Kernel: gemm(M, N, K, A, offA, sAm, sAk, sAg, B, offB, sBk, sBn, sBg, C, offC, sCm, sCn, sCg,
//              bias, has_bias, accumulate)   local size (TSM/WPTM, TSN/WPTN, 1),
//              global (ceil(M/TSM)*TSM/WPTM, ceil(N/TSN)*TSN/WPTN, batches).

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

__kernel void gemm(const int M, const int N, const int K,
                   __global const real* A, const long offA, const long sAm, const long sAk, const long sAg,
                   __global const real* B, const long offB, const long sBk, const long sBn, const long sBg,
                   __global real* C, const long offC, const long sCm, const long sCn, const long sCg,
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
        if (sAm == 1) {
            for (int l = tid; l < TSK * TSM; l += RTSM * RTSN) {
                const int kk = l / TSM, mm = l - kk * TSM;
                const int m = m0 + mm, k = k0 + kk;
                As[kk][mm] = (m < M && k < K) ? Ag[m * sAm + k * sAk] : 0;
            }
        } else {
            for (int l = tid; l < TSK * TSM; l += RTSM * RTSN) {
                const int mm = l / TSK, kk = l - mm * TSK;
                const int m = m0 + mm, k = k0 + kk;
                As[kk][mm] = (m < M && k < K) ? Ag[m * sAm + k * sAk] : 0;
            }
        }
        if (sBn == 1) {
            for (int l = tid; l < TSK * TSN; l += RTSM * RTSN) {
                const int kk = l / TSN, nn = l - kk * TSN;
                const int j = n0 + nn, k = k0 + kk;
                Bs[kk][nn] = (j < N && k < K) ? Bg[k * sBk + j * sBn] : 0;
            }
        } else {
            for (int l = tid; l < TSK * TSN; l += RTSM * RTSN) {
                const int nn = l / TSK, kk = l - nn * TSK;
                const int j = n0 + nn, k = k0 + kk;
                Bs[kk][nn] = (j < N && k < K) ? Bg[k * sBk + j * sBn] : 0;
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
            const long at = m * sCm + n * sCn;
            real v = acc[i][j];
            if (accumulate) v += Cg[at];
            if (has_bias) v += bias[g * M + m];
            Cg[at] = v;
        }
    }
}
