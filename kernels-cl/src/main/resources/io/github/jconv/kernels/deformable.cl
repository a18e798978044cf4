// jconv deformable convolution v1 / v2 (2D, NCHW), forward and every backward pass.
//
// One source for OpenCL and CUDA: this file uses only __kernel, __global, __local (as fixed-size
// arrays declared inside kernels), get_global_id/get_local_id/get_group_id/get_local_size(0),
// barrier(CLK_LOCAL_MEM_FENCE), floor and plain arithmetic, so a shim header in the style of
// CLBlast's opencl_to_cuda.h compiles it with nvcc. Helper functions are declared DEVICE_FN (the shim
// defines it as __device__ __forceinline__). Launch shape: 1D, any work-group size for the
// grid-stride kernels (step = global size, passed in); exactly RED_WG items per group for the
// reduction kernels (one group per output value).
//
// Defines: those of common.cl, which comes first (REAL float | double, JCONV_FP64 1 with double, ACC,
// RED_WG a power of two <= the kernel's maximum work-group size, DEVICE_FN default static inline) and
// gives real, acc_t and GROUP_SUM. Tensors are real buffers (no 16-bit storage here).
//
// Semantics (shared by every jconv backend; the Java CPU backend's names are the same):
//   offset [N, 2*GOFF*KH*KW, OH, OW]: tap t = ky*KW + kx of offset group go has dy at channel
//   go*2*KH*KW + 2*t and dx at go*2*KH*KW + 2*t + 1; mask [N, GOFF*KH*KW, OH, OW], channel go*KH*KW + t.
//   Input channel ci belongs to offset group ci / (C/GOFF) and to weight group ci / (C/G).
//   Sample point py = oy*SH - PH + ky*DH + dy, px = ox*SW - PW + kx*DW + dx, kept as an integer cell
//   floor(py) = (oy*SH - PH + ky*DH) + floor(dy) and a fraction dy - floor(dy), so that FP32 loses no
//   bit of the offset to a large base coordinate. Bilinear value with zero when py <= -1 || py >= H
//   || px <= -1 || px >= W, and zero for each of the four integer neighbours outside the image; times
//   mask (v2), times the weight (the product is formed for every tap). Offset gradient: the slope of
//   the bilinear form on the cell with each in-image neighbour counted and no test on the point
//   itself (torchvision's coordinate weight: at py = -1 exactly the slope is x[0] - 0). A NaN offset
//   samples NaN (so its products are NaN) and touches no pixel of the input gradient.
//
// Kernels and their arguments (stable; the CUDA backend launches the same names):
//   DGEOM = N, C, K, G, GOFF, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW   (all int)
//   deform_forward(x, offset, mask, has_mask, w, b, has_bias, y, DGEOM, total, step)
//       total = N*K*OH*OW; one output value per iteration.
//   deform_col_grad(dy, w, col, DGEOM, n0, total, step)
//       col[n-n0, ci, t, oy, ox] = sum_{k<K/G} w[g*Kg+k, ci%Cg, t] * dy[n, g*Kg+k, oy, ox] (no mask);
//       batches n0 .. n0 + total/(C*KH*KW*OH*OW) - 1.
//   deform_input_grad(col, offset, mask, has_mask, dx, DGEOM, n0, total, step)
//       one (n, ci) image plane per iteration (total = batches*C): zeroes dx's plane, then adds
//       every sample's col*mask to its four bilinear neighbours in a fixed order (no atomics).
//   deform_offset_mask_grad(x, offset, mask, has_mask, col, doffset, dmask, DGEOM, n0, total, step)
//       one (n, go, t, oy, ox) per iteration (total = batches*GOFF*KH*KW*OH*OW); writes both offset
//       coordinates' gradients and, when has_mask, the mask's.
//   deform_weight_grad(x, offset, mask, has_mask, dy, dw, DGEOM)
//       one work-group of RED_WG items per weight element [K, C/G, KH, KW], reducing over N*OH*OW.
//   deform_bias_grad(dy, db, N, K, spatial)
//       one work-group of RED_WG items per output channel.
//   deform_input_grad_rows(col, offset, mask, has_mask, dx, DGEOM, n0, total, step)
//       the same sums with H times the parallelism for GPUs: one (n, ci, input row) per iteration
//       (total = batches*C*H); each walks every sample in the same order and keeps the contributions
//       to its row, so every pixel adds the same terms in the same order as deform_input_grad: the
//       two give identical bits.
//   deform_im2col(x, offset, mask, has_mask, col, DGEOM, n0, total, step)
//       col[((b*C + ci)*KH*KW + t)*OH*OW + pos] = mask * bilinear sample of batch item n0 + b
//       (total = items*C*KH*KW*OH*OW, the layout of deform_col_grad's col):
//       the sampled column matrix, so forward and weight gradient become GEMMs (and the column
//       gradient that deform_col_grad computes is W^T dy, a GEMM too).

#define DGEOM_PARAMS const int N, const int C, const int K, const int G, const int GOFF, \
    const int H, const int W, const int OH, const int OW, const int KH, const int KW, \
    const int SH, const int SW, const int PH, const int PW, const int DH, const int DW

// |floor(offset)| is clamped to 2^40 (far beyond any image, exact in FP32) before it becomes an integer.
#define FAR_CELL ((real)1099511627776.0)

// The integer cell floor(base + off) = base + floor(off) of a finite offset, exact in any precision.
DEVICE_FN long coord_cell(const int base, const real off) {
    const real f = floor(off);
    return (long)base + (long)(f < -FAR_CELL ? -FAR_CELL : (f > FAR_CELL ? FAR_CELL : f));
}

// The fraction off - floor(off) in [0, 1]: the bilinear weight of the upper neighbour.
DEVICE_FN real coord_frac(const real off) {
    return off - floor(off);
}

// cell + frac inside the open interval (-1, size): where the sampled value may be non-zero.
DEVICE_FN int value_inside(const long cell, const real frac, const int size) {
    return (cell >= 0 || (cell == -1 && frac > 0)) && cell < size;
}

// Bilinear sample of one H x W plane at (by + oy, bx + ox) (by, bx the integer base coordinates,
// oy, ox the offsets) under the shared boundary rule.
DEVICE_FN real bilinear_interpolate(__global const real* plane, const int H, const int W,
                                    const int by, const real oy, const int bx, const real ox) {
    if (oy != oy || ox != ox) return oy + ox; // a NaN offset reads as NaN, and is never used as an index
    const long y0 = coord_cell(by, oy);
    const long x0 = coord_cell(bx, ox);
    const real ly = coord_frac(oy);
    const real lx = coord_frac(ox);
    if (!value_inside(y0, ly, H) || !value_inside(x0, lx, W)) return 0;
    const real hy = 1 - ly;
    const real hx = 1 - lx;
    real v = 0;
    if (y0 >= 0 && x0 >= 0) v += hy * hx * plane[(idx_t)y0 * W + (idx_t)x0];
    if (y0 >= 0 && x0 + 1 < W) v += hy * lx * plane[(idx_t)y0 * W + (idx_t)x0 + 1];
    if (y0 + 1 < H && x0 >= 0) v += ly * hx * plane[((idx_t)y0 + 1) * W + (idx_t)x0];
    if (y0 + 1 < H && x0 + 1 < W) v += ly * lx * plane[((idx_t)y0 + 1) * W + (idx_t)x0 + 1];
    return v;
}

// d bilinear / d py (is_y = 1) or d bilinear / d px (is_y = 0) at (by + oy, bx + ox): the slope on
// the cell, each in-image neighbour counted, no test on the point itself (zero when no neighbour
// row or column is in the image).
DEVICE_FN real coordinate_weight(__global const real* plane, const int H, const int W,
                                 const int by, const real oy, const int bx, const real ox, const int is_y) {
    if (oy != oy || ox != ox) return oy + ox; // a NaN offset reads as NaN, and is never used as an index
    const long y0 = coord_cell(by, oy);
    const long x0 = coord_cell(bx, ox);
    if (y0 < -1 || y0 >= H || x0 < -1 || x0 >= W) return 0;
    const real ly = coord_frac(oy);
    const real lx = coord_frac(ox);
    const real v00 = (y0 >= 0 && x0 >= 0) ? plane[(idx_t)y0 * W + (idx_t)x0] : 0;
    const real v01 = (y0 >= 0 && x0 + 1 < W) ? plane[(idx_t)y0 * W + (idx_t)x0 + 1] : 0;
    const real v10 = (y0 + 1 < H && x0 >= 0) ? plane[((idx_t)y0 + 1) * W + (idx_t)x0] : 0;
    const real v11 = (y0 + 1 < H && x0 + 1 < W) ? plane[((idx_t)y0 + 1) * W + (idx_t)x0 + 1] : 0;
    if (is_y) return (1 - lx) * (v10 - v00) + lx * (v11 - v01);
    return (1 - ly) * (v01 - v00) + ly * (v11 - v10);
}

__kernel void deform_forward(__global const real* x, __global const real* offset, __global const real* mask,
                             const int has_mask, __global const real* w, __global const real* b,
                             const int has_bias, __global real* y, DGEOM_PARAMS,
                             const long total, const long step) {
    const int Cg = C / G;
    const int Kg = K / G;
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const int ox = (int)(r % OW); r /= OW;
        const int oy = (int)(r % OH); r /= OH;
        const int k = (int)(r % K);
        const int n = (int)(r / K);
        const int g = k / Kg;
        const idx_t pos = (idx_t)oy * OW + ox;
        acc_t acc = 0;
        for (int c = 0; c < Cg; c++) {
            const int ci = g * Cg + c;
            const int go = ci / Cpo;
            __global const real* plane = x + ((idx_t)n * C + ci) * H * W;
            __global const real* off = offset + ((idx_t)n * 2 * GOFF * T + (idx_t)go * 2 * T) * out_sp + pos;
            __global const real* wk = w + ((idx_t)k * Cg + c) * T;
            for (int ky = 0; ky < KH; ky++) {
                for (int kx = 0; kx < KW; kx++) {
                    const int t = ky * KW + kx;
                    real v = bilinear_interpolate(plane, H, W, oy * SH - PH + ky * DH, off[(idx_t)(2 * t) * out_sp],
                                                  ox * SW - PW + kx * DW, off[(idx_t)(2 * t + 1) * out_sp]);
                    if (has_mask) v *= mask[((idx_t)n * GOFF * T + (idx_t)go * T + t) * out_sp + pos];
                    acc += wk[t] * v;
                }
            }
        }
        if (has_bias) acc += b[k];
        y[idx] = acc;
    }
}

__kernel void deform_col_grad(__global const real* dy, __global const real* w, __global real* col,
                              DGEOM_PARAMS, const int n0, const long total, const long step) {
    const int Cg = C / G;
    const int Kg = K / G;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const idx_t pos = r % out_sp; r /= out_sp;
        const int t = (int)(r % T); r /= T;
        const int ci = (int)(r % C);
        const int n = n0 + (int)(r / C);
        const int g = ci / Cg;
        const int c = ci - g * Cg;
        acc_t acc = 0;
        for (int k = 0; k < Kg; k++) {
            const int ko = g * Kg + k;
            acc += w[((idx_t)ko * Cg + c) * T + t] * dy[((idx_t)n * K + ko) * out_sp + pos];
        }
        col[idx] = acc;
    }
}

__kernel void deform_input_grad(__global const real* col, __global const real* offset, __global const real* mask,
                                const int has_mask, __global real* dx, DGEOM_PARAMS,
                                const int n0, const long total, const long step) {
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        const idx_t pi = (idx_t)idx;
        const int ci = (int)(pi % C);
        const int n = n0 + (int)(pi / C);
        const int go = ci / Cpo;
        __global real* plane = dx + ((idx_t)n * C + ci) * H * W;
        for (idx_t p = 0; p < (idx_t)H * W; p++) plane[p] = 0;
        __global const real* colc = col + pi * T * out_sp;
        __global const real* off = offset + ((idx_t)n * 2 * GOFF * T + (idx_t)go * 2 * T) * out_sp;
        __global const real* msk = mask + ((idx_t)n * GOFF * T + (idx_t)go * T) * out_sp;
        for (int t = 0; t < T; t++) {
            const int ky = t / KW;
            const int kx = t - ky * KW;
            for (int oy = 0; oy < OH; oy++) {
                for (int ox = 0; ox < OW; ox++) {
                    const idx_t pos = (idx_t)oy * OW + ox;
                    const real oyv = off[(idx_t)(2 * t) * out_sp + pos];
                    const real oxv = off[(idx_t)(2 * t + 1) * out_sp + pos];
                    // a NaN position has no neighbour: it must never become an index
                    if (oyv != oyv || oxv != oxv) continue;
                    const long y0 = coord_cell(oy * SH - PH + ky * DH, oyv);
                    const long x0 = coord_cell(ox * SW - PW + kx * DW, oxv);
                    const real ly = coord_frac(oyv);
                    const real lx = coord_frac(oxv);
                    if (!value_inside(y0, ly, H) || !value_inside(x0, lx, W)) continue;
                    real v = colc[(idx_t)t * out_sp + pos];
                    if (has_mask) v *= msk[(idx_t)t * out_sp + pos];
                    const real hy = 1 - ly;
                    const real hx = 1 - lx;
                    if (y0 >= 0 && x0 >= 0) plane[(idx_t)y0 * W + (idx_t)x0] += hy * hx * v;
                    if (y0 >= 0 && x0 + 1 < W) plane[(idx_t)y0 * W + (idx_t)x0 + 1] += hy * lx * v;
                    if (y0 + 1 < H && x0 >= 0) plane[((idx_t)y0 + 1) * W + (idx_t)x0] += ly * hx * v;
                    if (y0 + 1 < H && x0 + 1 < W) plane[((idx_t)y0 + 1) * W + (idx_t)x0 + 1] += ly * lx * v;
                }
            }
        }
    }
}

__kernel void deform_input_grad_rows(__global const real* col, __global const real* offset, __global const real* mask,
                                     const int has_mask, __global real* dx, DGEOM_PARAMS,
                                     const int n0, const long total, const long step) {
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        const idx_t ri = (idx_t)idx;
        const int row = (int)(ri % H);
        const idx_t plane_idx = ri / H;
        const int ci = (int)(plane_idx % C);
        const int n = n0 + (int)(plane_idx / C);
        const int go = ci / Cpo;
        __global real* line = dx + (((idx_t)n * C + ci) * H + row) * W;
        for (int p = 0; p < W; p++) line[p] = 0;
        __global const real* colc = col + plane_idx * T * out_sp;
        __global const real* off = offset + ((idx_t)n * 2 * GOFF * T + (idx_t)go * 2 * T) * out_sp;
        __global const real* msk = mask + ((idx_t)n * GOFF * T + (idx_t)go * T) * out_sp;
        for (int t = 0; t < T; t++) {
            const int ky = t / KW;
            const int kx = t - ky * KW;
            for (int oy = 0; oy < OH; oy++) {
                for (int ox = 0; ox < OW; ox++) {
                    const idx_t pos = (idx_t)oy * OW + ox;
                    const real oyv = off[(idx_t)(2 * t) * out_sp + pos];
                    if (oyv != oyv) continue; // a NaN position has no neighbour
                    const long y0 = coord_cell(oy * SH - PH + ky * DH, oyv);
                    const real ly = coord_frac(oyv);
                    if (!value_inside(y0, ly, H)) continue;
                    if (y0 != row && y0 + 1 != row) continue;
                    const real oxv = off[(idx_t)(2 * t + 1) * out_sp + pos];
                    if (oxv != oxv) continue;
                    const long x0 = coord_cell(ox * SW - PW + kx * DW, oxv);
                    const real lx = coord_frac(oxv);
                    if (!value_inside(x0, lx, W)) continue;
                    real v = colc[(idx_t)t * out_sp + pos];
                    if (has_mask) v *= msk[(idx_t)t * out_sp + pos];
                    const real wy = y0 == row ? 1 - ly : ly;
                    if (x0 >= 0) line[x0] += wy * (1 - lx) * v;
                    if (x0 + 1 < W) line[x0 + 1] += wy * lx * v;
                }
            }
        }
    }
}

__kernel void deform_offset_mask_grad(__global const real* x, __global const real* offset,
                                      __global const real* mask, const int has_mask, __global const real* col,
                                      __global real* doffset, __global real* dmask, DGEOM_PARAMS,
                                      const int n0, const long total, const long step) {
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const idx_t pos = r % out_sp; r /= out_sp;
        const int t = (int)(r % T); r /= T;
        const int go = (int)(r % GOFF);
        const int n = n0 + (int)(r / GOFF);
        const int oy = (int)(pos / OW);
        const int ox = (int)(pos - (idx_t)oy * OW);
        const int ky = t / KW;
        const int kx = t - ky * KW;
        const idx_t off_y = ((idx_t)n * 2 * GOFF * T + (idx_t)go * 2 * T + 2 * t) * out_sp + pos;
        const idx_t off_x = off_y + out_sp;
        const idx_t mi = ((idx_t)n * GOFF * T + (idx_t)go * T + t) * out_sp + pos;
        const int by = oy * SH - PH + ky * DH;
        const int bx = ox * SW - PW + kx * DW;
        const real oyv = offset[off_y];
        const real oxv = offset[off_x];
        const real m = has_mask ? mask[mi] : (real)1;
        real gy = 0;
        real gx = 0;
        real gm = 0;
        for (int ci = go * Cpo; ci < (go + 1) * Cpo; ci++) {
            __global const real* plane = x + ((idx_t)n * C + ci) * H * W;
            const real v = col[(((idx_t)(n - n0) * C + ci) * T + t) * out_sp + pos];
            gy += v * coordinate_weight(plane, H, W, by, oyv, bx, oxv, 1);
            gx += v * coordinate_weight(plane, H, W, by, oyv, bx, oxv, 0);
            if (has_mask) gm += v * bilinear_interpolate(plane, H, W, by, oyv, bx, oxv);
        }
        doffset[off_y] = gy * m;
        doffset[off_x] = gx * m;
        if (has_mask) dmask[mi] = gm;
    }
}

__kernel void deform_weight_grad(__global const real* x, __global const real* offset, __global const real* mask,
                                 const int has_mask, __global const real* dy, __global real* dw, DGEOM_PARAMS) {
    __local acc_t part[RED_WG];
    const int Cg = C / G;
    const int Kg = K / G;
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    const idx_t widx = (idx_t)get_group_id(0);
    const int lid = get_local_id(0);
    idx_t r = widx;
    const int t = (int)(r % T); r /= T;
    const int c = (int)(r % Cg);
    const int k = (int)(r / Cg);
    const int ky = t / KW;
    const int kx = t - ky * KW;
    const int ci = (k / Kg) * Cg + c;
    const int go = ci / Cpo;
    acc_t acc = 0;
    // the counter stays long: j + RED_WG may pass 2^31 - 1 even where every index fits an int
    for (long j = lid; j < (long)N * out_sp; j += RED_WG) {
        const idx_t jj = (idx_t)j;
        const int n = (int)(jj / out_sp);
        const idx_t pos = jj - (idx_t)n * out_sp;
        const int oy = (int)(pos / OW);
        const int ox = (int)(pos - (idx_t)oy * OW);
        const idx_t off_y = ((idx_t)n * 2 * GOFF * T + (idx_t)go * 2 * T + 2 * t) * out_sp + pos;
        real v = bilinear_interpolate(x + ((idx_t)n * C + ci) * H * W, H, W, oy * SH - PH + ky * DH, offset[off_y],
                                      ox * SW - PW + kx * DW, offset[off_y + out_sp]);
        if (has_mask) v *= mask[((idx_t)n * GOFF * T + (idx_t)go * T + t) * out_sp + pos];
        acc += v * dy[((idx_t)n * K + k) * out_sp + pos];
    }
    GROUP_SUM(part, lid, acc)
    if (lid == 0) dw[widx] = part[0];
}

__kernel void deform_bias_grad(__global const real* dy, __global real* db, const int N, const int K,
                               const long spatial) {
    __local acc_t part[RED_WG];
    const int k = get_group_id(0);
    const int lid = get_local_id(0);
    acc_t acc = 0;
    const idx_t sp = (idx_t)spatial;
    for (long j = lid; j < (long)N * spatial; j += RED_WG) {
        const idx_t jj = (idx_t)j;
        const idx_t n = jj / sp;
        acc += dy[(n * K + k) * sp + (jj - n * sp)];
    }
    GROUP_SUM(part, lid, acc)
    if (lid == 0) db[k] = part[0];
}

__kernel void deform_im2col(__global const real* x, __global const real* offset, __global const real* mask,
                            const int has_mask, __global real* col, DGEOM_PARAMS,
                            const int n0, const long total, const long step) {
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const idx_t out_sp = (idx_t)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        idx_t r = (idx_t)idx;
        const idx_t pos = r % out_sp; r /= out_sp;
        const int t = (int)(r % T); r /= T;
        const int ci = (int)(r % C);
        const int n = n0 + (int)(r / C);
        const int go = ci / Cpo;
        const int oy = (int)(pos / OW);
        const int ox = (int)(pos - (idx_t)oy * OW);
        const int ky = t / KW;
        const int kx = t - ky * KW;
        const idx_t off_y = ((idx_t)n * 2 * GOFF * T + (idx_t)go * 2 * T + 2 * t) * out_sp + pos;
        real v = bilinear_interpolate(x + ((idx_t)n * C + ci) * H * W, H, W, oy * SH - PH + ky * DH, offset[off_y],
                                      ox * SW - PW + kx * DW, offset[off_y + out_sp]);
        if (has_mask) v *= mask[((idx_t)n * GOFF * T + (idx_t)go * T + t) * out_sp + pos];
        col[idx] = v;
    }
}
