// jconv: CUDA-only additions to deformable.cl, compiled into the same PTX modules (deformable_f32.ptx,
// deformable_f64.ptx). build-ptx.sh passes -include opencl_to_cuda.h -include deformable.cl, so this file
// reuses the .cl file's helpers (coord_cell, coord_frac, value_inside), its REAL and its DGEOM_PARAMS:
// one definition of the sampling rule for every kernel.
//
//   deform_col2im_atomic(col, offset, mask, has_mask, dx, DGEOM, n0, total, step)
//       the input gradient by scatter, one column-gradient element per iteration
//       (total = items*C*KH*KW*OH*OW, col in deform_im2col's layout for items n0 ..): adds
//       col*mask times each bilinear weight to the in-image neighbours of the sample point with atomicAdd.
//       dx's planes of those items must be zero before the launch. Same terms as deform_input_grad_rows,
//       but the order of the additions into one pixel depends on the scheduling: the last bits may vary
//       from run to run (the non-deterministic mode only). A NaN offset touches no pixel.

__kernel void deform_col2im_atomic(__global const real* col, __global const real* offset, __global const real* mask,
                                   const int has_mask, __global real* dx, DGEOM_PARAMS,
                                   const int n0, const long total, const long step) {
    const int Cpo = C / GOFF;
    const int T = KH * KW;
    const long out_sp = (long)OH * OW;
    for (long idx = get_global_id(0); idx < total; idx += step) {
        long r = idx;
        const long pos = r % out_sp; r /= out_sp;
        const int t = (int)(r % T); r /= T;
        const int ci = (int)(r % C);
        const int n = n0 + (int)(r / C);
        const int go = ci / Cpo;
        const int oy = (int)(pos / OW);
        const int ox = (int)(pos - (long)oy * OW);
        const int ky = t / KW;
        const int kx = t - ky * KW;
        const long off_y = ((long)n * 2 * GOFF * T + (long)go * 2 * T + 2 * t) * out_sp + pos;
        const real oyv = offset[off_y];
        const real oxv = offset[off_y + out_sp];
        if (oyv != oyv || oxv != oxv) continue; // a NaN position has no neighbour
        const long y0 = coord_cell(oy * SH - PH + ky * DH, oyv);
        const long x0 = coord_cell(ox * SW - PW + kx * DW, oxv);
        const real ly = coord_frac(oyv);
        const real lx = coord_frac(oxv);
        if (!value_inside(y0, ly, H) || !value_inside(x0, lx, W)) continue;
        real v = col[idx];
        if (has_mask) v *= mask[((long)n * GOFF * T + (long)go * T + t) * out_sp + pos];
        const real hy = 1 - ly;
        const real hx = 1 - lx;
        real* plane = dx + ((long)n * C + ci) * H * W;
        if (y0 >= 0 && x0 >= 0) atomicAdd(plane + y0 * W + x0, hy * hx * v);
        if (y0 >= 0 && x0 + 1 < W) atomicAdd(plane + y0 * W + x0 + 1, hy * lx * v);
        if (y0 + 1 < H && x0 >= 0) atomicAdd(plane + (y0 + 1) * W + x0, ly * hx * v);
        if (y0 + 1 < H && x0 + 1 < W) atomicAdd(plane + (y0 + 1) * W + x0 + 1, ly * lx * v);
    }
}
