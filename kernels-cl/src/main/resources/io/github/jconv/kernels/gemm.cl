// jconv register-tiled GEMM with local memory: C = A * B (+ C when accumulate) (+ bias[g*M + m] when has_bias),
// batched over get_group_id(2) = g (groups of a grouped convolution, or any batch of equal GEMMs). Every
// operand is addressed through strides, so a transposed operand is only a different stride pair, and either
// index of an operand may be split in two so that a batch of NCHW images reads as one matrix
// (column j = image * ns + position):
//   X(r, c) = X[offX + g*sXg + AT(r, nsXr, sXr, sXrO) + AT(c, nsXc, sXc, sXcO)]
//   AT(i, ns, s, so) = ns ? (i / ns) * so + (i % ns) * s : i * s
// Each work-group computes a TSM x TSN tile of C with (TSM/WPTM) x (TSN/WPTN) work-items, each owning
// WPTM x WPTN results in registers (rows tm + i*TSM/WPTM, columns tn + j*TSN/WPTN: neighbouring work-items
// read neighbouring local words). K advances TSK at a time through local memory tiles.
// Loading a tile walks the operand's unit-stride side, VW elements per work-item (vector loads in OpenCL)
// when that side's split keeps VW neighbours together; with DB = 1 two tiles alternate, the next one loads
// while the current one is multiplied, and one barrier per step suffices. Sums run in a fixed order for a
// given parameter set: results are deterministic.
//
// Parameters (#defines; the host picks them from the tuning database or its defaults table):
//   those of common.cl (REAL, JCONV_FP64, ACC, STORE_HALF, ...; it comes first and gives real, acc_t, store_t,
//   LOAD/STORE, STORE_IS_REAL, LOCAL_PTR, JCONV_CAT); TSM, TSN, TSK (tile), WPTM, WPTN (results per work-item),
//   VW (1, 2, 4 or 8: load width, dividing TSM, TSN and TSK), DB (0 or 1: double-buffered local tiles).
//   Operands, C and bias are store_t buffers (half with STORE_HALF = 1); local tiles hold real, sums acc_t.
// Kernel: gemm(M, N, K, OPERAND(A), OPERAND(B), OPERAND(C), bias, has_bias, accumulate) with
//   OPERAND(X) = X, offX, sXg, sXr, nsXr, sXrO, sXc, nsXc, sXcO   (rows of A and C are m, of B k;
//   columns of A are k, of B and C n); local size (TSM/WPTM, TSN/WPTN, 1),
//   global (ceil(M/TSM)*TSM/WPTM, ceil(N/TSN)*TSN/WPTN, batches).

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
#ifndef VW
#define VW 1
#endif
#ifndef DB
#define DB 0
#endif
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)
#define NTHREADS (RTSM * RTSN)

#define AT(i, ns, s, so) ((ns) ? (long)((i) / (ns)) * (so) + (long)((i) % (ns)) * (s) : (long)(i) * (s))
#define OPERAND(X, Q) __global Q store_t* X, const long off##X, const long s##X##g, \
    const long s##X##r, const int ns##X##r, const long s##X##rO, const long s##X##c, const int ns##X##c, const long s##X##cO

// VW neighbours X[at .. at+VW-1] into T[t0], T[t0 + step], ...: one vector load in OpenCL, scalars elsewhere.
DEVICE_FN void load_run(LOCAL_PTR real* T, const int t0, const int step, __global const store_t* X, const long at) {
#if defined(__OPENCL_VERSION__) && STORE_IS_REAL && VW == 2
    const JCONV_CAT(REAL, 2) v = vload2(0, X + at);
    T[t0] = v.s0; T[t0 + step] = v.s1;
#elif defined(__OPENCL_VERSION__) && STORE_IS_REAL && VW == 4
    const JCONV_CAT(REAL, 4) v = vload4(0, X + at);
    T[t0] = v.s0; T[t0 + step] = v.s1; T[t0 + 2 * step] = v.s2; T[t0 + 3 * step] = v.s3;
#elif defined(__OPENCL_VERSION__) && STORE_IS_REAL && VW == 8
    const JCONV_CAT(REAL, 8) v = vload8(0, X + at);
    T[t0] = v.s0; T[t0 + step] = v.s1; T[t0 + 2 * step] = v.s2; T[t0 + 3 * step] = v.s3;
    T[t0 + 4 * step] = v.s4; T[t0 + 5 * step] = v.s5; T[t0 + 6 * step] = v.s6; T[t0 + 7 * step] = v.s7;
#else
    for (int e = 0; e < VW; e++) T[t0 + e * step] = LOAD(X, at + e);
#endif
}

// One TSK x TS tile of an operand into T[kk * TS + p]: element (p, k) of the operand (p the M or N side,
// k the K side) sits at X[AT(p, nsP, sP, sPO) + AT(k, nsK, sK, sKO)]; outside P x K it reads 0.
DEVICE_FN void load_tile(LOCAL_PTR real* T, const int TS, __global const store_t* X, const int P, const int K,
                         const int p0, const int k0, const int nsP, const long sP, const long sPO,
                         const int nsK, const long sK, const long sKO, const int tid) {
    if (sP == 1 && (VW == 1 || nsP % VW == 0)) {
        // Unit stride along p: work-item runs of VW along p (p0 and the split are multiples of VW, so a run
        // never crosses an item boundary).
        const int runs = TS / VW;
        for (int l = tid; l < TSK * runs; l += NTHREADS) {
            const int kk = l / runs, pp = (l - kk * runs) * VW;
            const int p = p0 + pp, k = k0 + kk;
            if (k < K && p + VW <= P) {
                load_run(T, kk * TS + pp, 1, X, AT(p, nsP, 1, sPO) + AT(k, nsK, sK, sKO));
            } else {
                for (int e = 0; e < VW; e++) {
                    T[kk * TS + pp + e] = (k < K && p + e < P) ? (real) LOAD(X, AT(p + e, nsP, 1, sPO) + AT(k, nsK, sK, sKO)) : (real) 0;
                }
            }
        }
    } else if (sK == 1 && (VW == 1 || nsK % VW == 0)) {
        // Unit stride along k: runs of VW along k.
        const int runs = TSK / VW;
        for (int l = tid; l < TS * runs; l += NTHREADS) {
            const int pp = l / runs, kk = (l - pp * runs) * VW;
            const int p = p0 + pp, k = k0 + kk;
            if (p < P && k + VW <= K) {
                load_run(T, kk * TS + pp, TS, X, AT(p, nsP, sP, sPO) + AT(k, nsK, 1, sKO));
            } else {
                for (int e = 0; e < VW; e++) {
                    T[(kk + e) * TS + pp] = (p < P && k + e < K) ? (real) LOAD(X, AT(p, nsP, sP, sPO) + AT(k + e, nsK, 1, sKO)) : (real) 0;
                }
            }
        }
    } else {
        for (int l = tid; l < TSK * TS; l += NTHREADS) {
            const int kk = l / TS, pp = l - kk * TS;
            const int p = p0 + pp, k = k0 + kk;
            T[kk * TS + pp] = (p < P && k < K) ? (real) LOAD(X, AT(p, nsP, sP, sPO) + AT(k, nsK, sK, sKO)) : (real) 0;
        }
    }
}

__kernel void gemm(const int M, const int N, const int K, OPERAND(A, const), OPERAND(B, const), OPERAND(C, ),
                   __global const store_t* bias, const int has_bias, const int accumulate) {
    __local real As[(1 + DB) * TSK * TSM];
    __local real Bs[(1 + DB) * TSK * TSN];
    const int tm = get_local_id(0);
    const int tn = get_local_id(1);
    const int tid = tn * RTSM + tm;
    const int m0 = get_group_id(0) * TSM;
    const int n0 = get_group_id(1) * TSN;
    const long g = get_group_id(2);
    __global const store_t* Ag = A + offA + g * sAg;
    __global const store_t* Bg = B + offB + g * sBg;
    acc_t acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++) acc[i][j] = 0;

    const int steps = (K + TSK - 1) / TSK;
#if DB
    load_tile(As, TSM, Ag, M, K, m0, 0, nsAr, sAr, sArO, nsAc, sAc, sAcO, tid);
    load_tile(Bs, TSN, Bg, N, K, n0, 0, nsBc, sBc, sBcO, nsBr, sBr, sBrO, tid);
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    for (int s = 0; s < steps; s++) {
#if DB
        // The other buffer was last read in step s - 1, which ended with a barrier: fill it for step s + 1.
        const int cur = s & 1;
        if (s + 1 < steps) {
            load_tile(As + (1 - cur) * TSK * TSM, TSM, Ag, M, K, m0, (s + 1) * TSK, nsAr, sAr, sArO, nsAc, sAc, sAcO, tid);
            load_tile(Bs + (1 - cur) * TSK * TSN, TSN, Bg, N, K, n0, (s + 1) * TSK, nsBc, sBc, sBcO, nsBr, sBr, sBrO, tid);
        }
#else
        const int cur = 0;
        load_tile(As, TSM, Ag, M, K, m0, s * TSK, nsAr, sAr, sArO, nsAc, sAc, sAcO, tid);
        load_tile(Bs, TSN, Bg, N, K, n0, s * TSK, nsBc, sBc, sBcO, nsBr, sBr, sBrO, tid);
        barrier(CLK_LOCAL_MEM_FENCE);
#endif
        LOCAL_PTR const real* a_t = As + cur * TSK * TSM;
        LOCAL_PTR const real* b_t = Bs + cur * TSK * TSN;
        for (int kk = 0; kk < TSK; kk++) {
            real a[WPTM];
            real b[WPTN];
            for (int i = 0; i < WPTM; i++) a[i] = a_t[kk * TSM + tm + i * RTSM];
            for (int j = 0; j < WPTN; j++) b[j] = b_t[kk * TSN + tn + j * RTSN];
            for (int i = 0; i < WPTM; i++)
                for (int j = 0; j < WPTN; j++) acc[i][j] += a[i] * b[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global store_t* Cg = C + offC + g * sCg;
    for (int i = 0; i < WPTM; i++) {
        const int m = m0 + tm + i * RTSM;
        if (m >= M) continue;
        for (int j = 0; j < WPTN; j++) {
            const int n = n0 + tn + j * RTSN;
            if (n >= N) continue;
            const long at = AT(m, nsCr, sCr, sCrO) + AT(n, nsCc, sCc, sCcO);
            acc_t v = acc[i][j];
            if (accumulate) v += (real) LOAD(Cg, at);
            if (has_bias) v += (real) LOAD(bias, g * M + m);
            STORE(Cg, at, v);
        }
    }
}

// ---- implicit GEMM convolution (no column matrix) ----
// gemm_conv is gemm with B the im2col column matrix of a convolution, read straight from the input:
// B(k, j) with k = c*T + t (channel c of group g, tap t of T = KD*KH*KW) and j = b*O + o (item n0 + b,
// output position o of O = OD*OH*OW) is x[((n0 + b)*C + g*Cg + c)*D*H*W + input position of (o, t)], 0
// outside the input. Kernel: gemm_conv(M, N, K, OPERAND(A), x, n0, C, Cg (as CH, CHG), D, H, W, OD, OH, OW, KD, KH, KW,
// SD, SH, SW, PD, PH, PW, DD, DH, DW, OPERAND(C), bias, has_bias, accumulate); launched like gemm.

typedef struct {
    int C, Cg, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW;
} conv_geom;

// One TSK x TSN tile of the column matrix into T[kk * TSN + p]; neighbouring work-items take neighbouring
// output positions, which read neighbouring inputs at unit stride.
DEVICE_FN void load_tile_conv(LOCAL_PTR real* T, __global const store_t* xg, const int P, const int K, const int p0,
                              const int k0, const conv_geom q, const int tid) {
    const int Tn = q.KD * q.KH * q.KW;
    const int O = q.OD * q.OH * q.OW;
    const long in_sp = (long)q.D * q.H * q.W;
    for (int l = tid; l < TSK * TSN; l += NTHREADS) {
        const int kk = l / TSN, pp = l - kk * TSN;
        const int j = p0 + pp, k = k0 + kk;
        real v = 0;
        if (j < P && k < K) {
            const int b = j / O, o = j - b * O;
            const int ox = o % q.OW, oy = (o / q.OW) % q.OH, oz = o / (q.OW * q.OH);
            const int c = k / Tn, t = k - c * Tn;
            const int tx = t % q.KW, ty = (t / q.KW) % q.KH, tz = t / (q.KW * q.KH);
            const int iz = oz * q.SD - q.PD + tz * q.DD;
            const int iy = oy * q.SH - q.PH + ty * q.DH;
            const int ix = ox * q.SW - q.PW + tx * q.DW;
            if (iz >= 0 && iz < q.D && iy >= 0 && iy < q.H && ix >= 0 && ix < q.W) {
                v = (real) LOAD(xg, ((long) b * q.C + c) * in_sp + ((long) iz * q.H + iy) * q.W + ix);
            }
        }
        T[kk * TSN + pp] = v;
    }
}

__kernel void gemm_conv(const int M, const int N, const int K, OPERAND(A, const), __global const store_t* x, const int n0,
                        const int CH, const int CHG, const int D, const int H, const int W, const int OD, const int OH, const int OW,
                        const int KD, const int KH, const int KW, const int SD, const int SH, const int SW,
                        const int PD, const int PH, const int PW, const int DD, const int DH, const int DW,
                        OPERAND(C, ), __global const store_t* bias, const int has_bias, const int accumulate) {
    __local real As[(1 + DB) * TSK * TSM];
    __local real Bs[(1 + DB) * TSK * TSN];
    conv_geom q;
    q.C = CH; q.Cg = CHG; q.D = D; q.H = H; q.W = W; q.OD = OD; q.OH = OH; q.OW = OW; q.KD = KD; q.KH = KH; q.KW = KW;
    q.SD = SD; q.SH = SH; q.SW = SW; q.PD = PD; q.PH = PH; q.PW = PW; q.DD = DD; q.DH = DH; q.DW = DW;
    const int tm = get_local_id(0);
    const int tn = get_local_id(1);
    const int tid = tn * RTSM + tm;
    const int m0 = get_group_id(0) * TSM;
    const int j0 = get_group_id(1) * TSN;
    const long g = get_group_id(2);
    __global const store_t* Ag = A + offA + g * sAg;
    __global const store_t* xg = x + ((long) n0 * CH + g * CHG) * ((long) D * H * W);
    acc_t acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++) acc[i][j] = 0;

    const int steps = (K + TSK - 1) / TSK;
#if DB
    load_tile(As, TSM, Ag, M, K, m0, 0, nsAr, sAr, sArO, nsAc, sAc, sAcO, tid);
    load_tile_conv(Bs, xg, N, K, j0, 0, q, tid);
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    for (int s = 0; s < steps; s++) {
#if DB
        const int cur = s & 1;
        if (s + 1 < steps) {
            load_tile(As + (1 - cur) * TSK * TSM, TSM, Ag, M, K, m0, (s + 1) * TSK, nsAr, sAr, sArO, nsAc, sAc, sAcO, tid);
            load_tile_conv(Bs + (1 - cur) * TSK * TSN, xg, N, K, j0, (s + 1) * TSK, q, tid);
        }
#else
        const int cur = 0;
        load_tile(As, TSM, Ag, M, K, m0, s * TSK, nsAr, sAr, sArO, nsAc, sAc, sAcO, tid);
        load_tile_conv(Bs, xg, N, K, j0, s * TSK, q, tid);
        barrier(CLK_LOCAL_MEM_FENCE);
#endif
        LOCAL_PTR const real* a_t = As + cur * TSK * TSM;
        LOCAL_PTR const real* b_t = Bs + cur * TSK * TSN;
        for (int kk = 0; kk < TSK; kk++) {
            real a[WPTM];
            real b[WPTN];
            for (int i = 0; i < WPTM; i++) a[i] = a_t[kk * TSM + tm + i * RTSM];
            for (int j = 0; j < WPTN; j++) b[j] = b_t[kk * TSN + tn + j * RTSN];
            for (int i = 0; i < WPTM; i++)
                for (int j = 0; j < WPTN; j++) acc[i][j] += a[i] * b[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global store_t* Cg_ = C + offC + g * sCg;
    for (int i = 0; i < WPTM; i++) {
        const int m = m0 + tm + i * RTSM;
        if (m >= M) continue;
        for (int j = 0; j < WPTN; j++) {
            const int n = j0 + tn + j * RTSN;
            if (n >= N) continue;
            const long at = AT(m, nsCr, sCr, sCrO) + AT(n, nsCc, sCc, sCcO);
            acc_t v = acc[i][j];
            if (accumulate) v += (real) LOAD(Cg_, at);
            if (has_bias) v += (real) LOAD(bias, g * M + m);
            STORE(Cg_, at, v);
        }
    }
}

// ---- split-K reduction ----
// gemm_sum(S, part, out, accumulate, total, step): out[i] (+)= part[i] + part[total + i] + ... + part[(S-1)*total + i]
// for i < total, summed in slice order (deterministic): the second half of a GEMM whose K range was split into S
// slices computed as S batches of partial products (weight gradients, where M x N is small and K is long).
// Launched as a grid whose global size is step.
__kernel void gemm_sum(const int S, __global const store_t* part, __global store_t* out, const int accumulate,
                       const long total, const long step) {
    for (long i = get_global_id(0); i < total; i += step) {
        acc_t v = accumulate ? (acc_t) LOAD(out, i) : (acc_t) 0;
        for (int s = 0; s < S; s++) v += (real) LOAD(part, s * total + i);
        STORE(out, i, v);
    }
}
