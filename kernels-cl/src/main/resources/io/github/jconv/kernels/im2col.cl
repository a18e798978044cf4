// jconv im2col / col2im for the im2col + GEMM convolution path (all ranks as 3D, like conv.cl).
//
// For batch item n0 + b, the column matrix of the convolution is col[((b*C + ci)*T + t)*O + o] with
// ci < C input channels, T = KD*KH*KW taps, O = OD*OH*OW output positions: the input value tap t
// of output position o reads (zero outside the input). Channel ci = g*Cg + c puts group g's rows at
// [g*Cg*T, (g+1)*Cg*T), so each group of each item is one contiguous Cg*T x O matrix.
//
// Defines: those of common.cl (REAL, JCONV_FP64, ACC, STORE_HALF, ...), which comes first and gives real,
// acc_t, store_t, LOAD/STORE, GEOM_PARAMS and source_pos; tensors are store_t buffers read and written
// through LOAD/STORE, arithmetic is in real.
// Kernels:
//   im2col(x, col, n0, GEOM, total, step)                total = items*C*T*O
//   col2im(col, b, has_bias, dx, n0, GEOM, total, step)  total = items*C*D*H*W; a gather (each input
//       value sums the column entries that read it, in tap order), so no atomics; b[ci] is added when has_bias.
// GEOM is common.cl's GEOM_PARAMS: N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW.

__kernel void im2col(__global const store_t* x, __global store_t* col, const int n0, GEOM_PARAMS,
                     const long total, const long step) {
    const int T = KD * KH * KW;
    const idx_t in_sp = (idx_t)D * H * W;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const int ox = (int)(r % OW); r /= OW;
        const int oy = (int)(r % OH); r /= OH;
        const int oz = (int)(r % OD); r /= OD;
        const int t = (int)(r % T); r /= T;
        const int ci = (int)(r % C);
        const idx_t n = n0 + r / C;
        const int tx = t % KW;
        const int ty = (t / KW) % KH;
        const int tz = t / (KW * KH);
        const int iz = oz * SD - PD + tz * DD;
        const int iy = oy * SH - PH + ty * DH;
        const int ix = ox * SW - PW + tx * DW;
        real v = 0;
        if (iz >= 0 && iz < D && iy >= 0 && iy < H && ix >= 0 && ix < W) {
            v = LOAD(x, (n * C + ci) * in_sp + ((idx_t)iz * H + iy) * W + ix);
        }
        STORE(col, idx, v);
    }
}

__kernel void col2im(__global const store_t* col, __global const store_t* b, const int has_bias, __global store_t* dx,
                     const int n0, GEOM_PARAMS, const long total, const long step) {
    const idx_t O = (idx_t)OD * OH * OW;
    const int T = KD * KH * KW;
    const idx_t in_sp = (idx_t)D * H * W;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const int ix = (int)(r % W); r /= W;
        const int iy = (int)(r % H); r /= H;
        const int iz = (int)(r % D); r /= D;
        const int ci = (int)(r % C);
        const idx_t b_item = r / C;
        __global const store_t* colb = col + b_item * C * T * O;
        acc_t acc = 0;
        for (int tz = 0; tz < KD; tz++) {
            const int oz = source_pos(iz, PD, tz, DD, SD, OD);
            if (oz < 0) continue;
            for (int ty = 0; ty < KH; ty++) {
                const int oy = source_pos(iy, PH, ty, DH, SH, OH);
                if (oy < 0) continue;
                for (int tx = 0; tx < KW; tx++) {
                    const int ox = source_pos(ix, PW, tx, DW, SW, OW);
                    if (ox < 0) continue;
                    const int t = (tz * KH + ty) * KW + tx;
                    acc += LOAD(colb, ((idx_t)ci * T + t) * O + ((idx_t)oz * OH + oy) * OW + ox);
                }
            }
        }
        if (has_bias) acc += LOAD(b, ci);
        STORE(dx, (idx_t)n0 * C * in_sp + (idx_t)idx, acc);
    }
}
