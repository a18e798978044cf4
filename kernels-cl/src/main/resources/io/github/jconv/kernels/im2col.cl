// jconv im2col / col2im for the im2col + GEMM convolution path (all ranks as 3D, like conv.cl).
//
// For batch item n0 + b, the column matrix of the convolution is col[((b*C + ci)*T + t)*O + o] with
// ci < C input channels, T = KD*KH*KW taps, O = OD*OH*OW output positions: the input value tap t
// of output position o reads (zero outside the input). Channel ci = g*Cg + c puts group g's rows at
// [g*Cg*T, (g+1)*Cg*T), so each group of each item is one contiguous Cg*T x O matrix.
//
// Defines: REAL (float | double), JCONV_FP64.
// STORE_HALF = 1 (OpenCL only; REAL must be float): every tensor argument is stored as IEEE half, read with
// vload_half and written with vstore_half (round to nearest even), both core OpenCL (no cl_khr_fp16 needed);
// all arithmetic stays in REAL. Without it LOAD(p, i) is p[i] and STORE(p, i, v) is p[i] = v.
// Kernels:
//   im2col(x, col, n0, GEOM, total, step)                total = items*C*T*O
//   col2im(col, b, has_bias, dx, n0, GEOM, total, step)  total = items*C*D*H*W; a gather (each input
//       value sums the column entries that read it, in tap order), so no atomics; b[ci] is added when has_bias.
// GEOM is conv.cl's: N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW.

#ifndef REAL
#define REAL float
#endif
#if defined(JCONV_FP64) && JCONV_FP64 && defined(__OPENCL_VERSION__)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef DEVICE_FN
#define DEVICE_FN static inline
#endif

typedef REAL real;

#if defined(STORE_HALF) && STORE_HALF && defined(__OPENCL_VERSION__)
typedef half store_t;
#define LOAD(p, i) ((real) vload_half((i), (p)))
#define STORE(p, i, v) vstore_half((v), (i), (p))
#else
typedef real store_t;
#define LOAD(p, i) ((p)[i])
#define STORE(p, i, v) ((p)[i] = (v))
#endif

#define GEOM_PARAMS const int N, const int C, const int K, const int G, \
    const int D, const int H, const int W, const int OD, const int OH, const int OW, \
    const int KD, const int KH, const int KW, const int SD, const int SH, const int SW, \
    const int PD, const int PH, const int PW, const int DD, const int DH, const int DW

__kernel void im2col(__global const store_t* x, __global store_t* col, const int n0, GEOM_PARAMS,
                     const long total, const long step) {
    const int T = KD * KH * KW;
    const long in_sp = (long)D * H * W;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        long r = idx;
        const int ox = (int)(r % OW); r /= OW;
        const int oy = (int)(r % OH); r /= OH;
        const int oz = (int)(r % OD); r /= OD;
        const int t = (int)(r % T); r /= T;
        const int ci = (int)(r % C);
        const long n = n0 + r / C;
        const int tx = t % KW;
        const int ty = (t / KW) % KH;
        const int tz = t / (KW * KH);
        const int iz = oz * SD - PD + tz * DD;
        const int iy = oy * SH - PH + ty * DH;
        const int ix = ox * SW - PW + tx * DW;
        real v = 0;
        if (iz >= 0 && iz < D && iy >= 0 && iy < H && ix >= 0 && ix < W) {
            v = LOAD(x, (n * C + ci) * in_sp + ((long)iz * H + iy) * W + ix);
        }
        STORE(col, idx, v);
    }
}

// The output position o that tap t of input position i comes from along one axis, or -1.
DEVICE_FN int col_source(const int i, const int p, const int t, const int d, const int s, const int O) {
    const int q = i + p - t * d;
    if (q < 0 || q % s != 0) return -1;
    const int o = q / s;
    return o < O ? o : -1;
}

__kernel void col2im(__global const store_t* col, __global const store_t* b, const int has_bias, __global store_t* dx,
                     const int n0, GEOM_PARAMS, const long total, const long step) {
    const long O = (long)OD * OH * OW;
    const int T = KD * KH * KW;
    const long in_sp = (long)D * H * W;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        long r = idx;
        const int ix = (int)(r % W); r /= W;
        const int iy = (int)(r % H); r /= H;
        const int iz = (int)(r % D); r /= D;
        const int ci = (int)(r % C);
        const long b_item = r / C;
        __global const store_t* colb = col + b_item * C * T * O;
        real acc = 0;
        for (int tz = 0; tz < KD; tz++) {
            const int oz = col_source(iz, PD, tz, DD, SD, OD);
            if (oz < 0) continue;
            for (int ty = 0; ty < KH; ty++) {
                const int oy = col_source(iy, PH, ty, DH, SH, OH);
                if (oy < 0) continue;
                for (int tx = 0; tx < KW; tx++) {
                    const int ox = col_source(ix, PW, tx, DW, SW, OW);
                    if (ox < 0) continue;
                    const int t = (tz * KH + ty) * KW + tx;
                    acc += LOAD(colb, ((long)ci * T + t) * O + ((long)oz * OH + oy) * OW + ox);
                }
            }
        }
        if (has_bias) acc += LOAD(b, ci);
        STORE(dx, (long)n0 * C * in_sp + idx, acc);
    }
}
