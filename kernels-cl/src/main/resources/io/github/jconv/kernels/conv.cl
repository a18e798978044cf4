// jconv direct convolution kernels (convolution and, through the adjoint, transposed convolution).
//
// Every rank is computed as 3D: a 1D problem has D = H = 1, a 2D problem D = 1 (same for the kernel,
// stride, padding, dilation), so one kernel serves 1D, 2D and 3D. Layout NC[D]HW, weight
// [K, C/G, KD, KH, KW]. Gather formulations only: each work-item owns one output value and sums in a
// fixed order, so there are no atomics and results are bit-reproducible.
//
// Build options: those of common.cl (REAL, JCONV_FP64, ACC, STORE_HALF, RED_WG, ...), which comes first and
// gives real, acc_t, store_t, LOAD/STORE, GEOM_PARAMS, source_pos and GROUP_SUM. Every tensor argument is a
// store_t buffer read and written through LOAD/STORE; all arithmetic is in real, sums in acc_t.
//
// Kernels (argument lists are stable; the host sets them in this order):
//   conv_forward(x, w, b, has_bias, y, GEOM, total, step)
//       y[n,k,o] = b[k] + sum_{c<Cg,t} x[n, g*Cg+c, o*s - p + t*d] * w[k, c, t]
//   conv_backward_data(dy, w, b, has_bias, dx, GEOM, total, step)
//       dx[n, g*Cg+c, i] = b[..] + sum_{k<Kg,t : i+p-t*d = o*s, 0<=o<O} dy[n, g*Kg+k, o] * w[g*Kg+k, c, t]
//       (b is the transposed convolution's bias over the C channels; has_bias = 0 for a plain backward)
//   conv_backward_weight(x, dy, dw, GEOM)    one work-group of RED_WG items per weight element
//   bias_backward(dy, db, N, K, spatial)     one work-group of RED_WG items per channel
// GEOM = N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW (all int):
// C input channels, K output channels of the convolution, D/H/W input and OD/OH/OW output sizes.

__kernel void conv_forward(__global const store_t* x, __global const store_t* w, __global const store_t* b,
                           const int has_bias, __global store_t* y, GEOM_PARAMS,
                           const long total, const long step) {
    const int Cg = C / G;
    const int Kg = K / G;
    const idx_t in_sp = (idx_t)D * H * W;
    const idx_t taps = (idx_t)KD * KH * KW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const int ox = (int)(r % OW); r /= OW;
        const int oy = (int)(r % OH); r /= OH;
        const int oz = (int)(r % OD); r /= OD;
        const int k = (int)(r % K);
        const int n = (int)(r / K);
        const int g = k / Kg;
        acc_t acc = 0;
        for (int c = 0; c < Cg; c++) {
            __global const store_t* xc = x + ((idx_t)n * C + (idx_t)g * Cg + c) * in_sp;
            __global const store_t* wc = w + ((idx_t)k * Cg + c) * taps;
            // the op is defined on the zero-padded input: a tap on padding still forms its product
            // (0 * w), so a NaN or infinite weight makes the output NaN wherever its window covers it
            for (int tz = 0; tz < KD; tz++) {
                const int iz = oz * SD - PD + tz * DD;
                const int in_z = iz >= 0 && iz < D;
                for (int ty = 0; ty < KH; ty++) {
                    const int iy = oy * SH - PH + ty * DH;
                    const int in_y = in_z && iy >= 0 && iy < H;
                    for (int tx = 0; tx < KW; tx++) {
                        const int ix = ox * SW - PW + tx * DW;
                        const real xv = (in_y && ix >= 0 && ix < W) ? LOAD(xc, ((idx_t)iz * H + iy) * W + ix) : (real)0;
                        acc += xv * LOAD(wc, ((idx_t)tz * KH + ty) * KW + tx);
                    }
                }
            }
        }
        if (has_bias) acc += LOAD(b, k);
        STORE(y, idx, acc);
    }
}

__kernel void conv_backward_data(__global const store_t* dy, __global const store_t* w, __global const store_t* b,
                                 const int has_bias, __global store_t* dx, GEOM_PARAMS,
                                 const long total, const long step) {
    const int Cg = C / G;
    const int Kg = K / G;
    const idx_t out_sp = (idx_t)OD * OH * OW;
    const idx_t taps = (idx_t)KD * KH * KW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const int ix = (int)(r % W); r /= W;
        const int iy = (int)(r % H); r /= H;
        const int iz = (int)(r % D); r /= D;
        const int ci = (int)(r % C);
        const int n = (int)(r / C);
        const int g = ci / Cg;
        const int c = ci - g * Cg;
        acc_t acc = 0;
        for (int k = 0; k < Kg; k++) {
            const int ko = g * Kg + k;
            __global const store_t* dyk = dy + ((idx_t)n * K + ko) * out_sp;
            __global const store_t* wk = w + ((idx_t)ko * Cg + c) * taps;
            for (int tz = 0; tz < KD; tz++) {
                const int oz = source_pos(iz, PD, tz, DD, SD, OD);
                if (oz < 0) continue;
                for (int ty = 0; ty < KH; ty++) {
                    const int oy = source_pos(iy, PH, ty, DH, SH, OH);
                    if (oy < 0) continue;
                    for (int tx = 0; tx < KW; tx++) {
                        const int ox = source_pos(ix, PW, tx, DW, SW, OW);
                        if (ox < 0) continue;
                        acc += LOAD(dyk, ((idx_t)oz * OH + oy) * OW + ox) * LOAD(wk, ((idx_t)tz * KH + ty) * KW + tx);
                    }
                }
            }
        }
        if (has_bias) acc += LOAD(b, ci);
        STORE(dx, idx, acc);
    }
}

__kernel void conv_backward_weight(__global const store_t* x, __global const store_t* dy, __global store_t* dw,
                                   GEOM_PARAMS) {
    __local acc_t part[RED_WG];
    const int Cg = C / G;
    const int Kg = K / G;
    const idx_t in_sp = (idx_t)D * H * W;
    const idx_t out_sp = (idx_t)OD * OH * OW;
    const idx_t widx = (idx_t)get_group_id(0);
    const int lid = get_local_id(0);
    idx_t r = widx;
    const int tx = (int)(r % KW); r /= KW;
    const int ty = (int)(r % KH); r /= KH;
    const int tz = (int)(r % KD); r /= KD;
    const int c = (int)(r % Cg);
    const int k = (int)(r / Cg);
    const int g = k / Kg;
    const idx_t reduce = (idx_t)N * out_sp;
    acc_t acc = 0;
    // the counter stays long: j + RED_WG may pass 2^31 - 1 even where every index fits an int
    for (long j = lid; j < reduce; j += RED_WG) {
        idx_t q = (idx_t)j;
        const int ox = (int)(q % OW); q /= OW;
        const int oy = (int)(q % OH); q /= OH;
        const int oz = (int)(q % OD);
        const int n = (int)(q / OD);
        const int iz = oz * SD - PD + tz * DD;
        const int iy = oy * SH - PH + ty * DH;
        const int ix = ox * SW - PW + tx * DW;
        // a tap on padding reads 0 and still forms its product (0 * dy is NaN for a NaN dy)
        const int inside = iz >= 0 && iz < D && iy >= 0 && iy < H && ix >= 0 && ix < W;
        const real xv = inside ? LOAD(x, ((idx_t)n * C + (idx_t)g * Cg + c) * in_sp + ((idx_t)iz * H + iy) * W + ix) : (real)0;
        acc += xv * LOAD(dy, ((idx_t)n * K + k) * out_sp + ((idx_t)oz * OH + oy) * OW + ox);
    }
    GROUP_SUM(part, lid, acc)
    if (lid == 0) STORE(dw, widx, part[0]);
}

__kernel void bias_backward(__global const store_t* dy, __global store_t* db, const int N, const int K,
                            const long spatial) {
    __local acc_t part[RED_WG];
    const int k = get_group_id(0);
    const int lid = get_local_id(0);
    const idx_t sp = (idx_t)spatial;
    const idx_t reduce = (idx_t)N * sp;
    acc_t acc = 0;
    for (long j = lid; j < reduce; j += RED_WG) {
        const idx_t jj = (idx_t)j;
        const idx_t n = jj / sp;
        acc += LOAD(dy, (n * K + k) * sp + (jj - n * sp));
    }
    GROUP_SUM(part, lid, acc)
    if (lid == 0) STORE(db, k, part[0]);
}
