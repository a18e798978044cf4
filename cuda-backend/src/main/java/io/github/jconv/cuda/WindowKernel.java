package io.github.jconv.cuda;

import io.github.jconv.DType;

/**
 * window.cu's copy kernels: which one a dtype uses, how many elements a launch covers and its argument list, as
 * the kernel declares it (checked against the PTX by {@code PtxBuildTest}). The session launches them for staged
 * operands (asymmetric padding, output padding) and for the parts of a spatial split.
 */
final class WindowKernel {
    private WindowKernel() {
    }

    static String name(DType dtype) {
        return switch (dtype.bytes()) {
            case 2 -> "window_copy_b16";
            case 4 -> "window_copy_b32";
            default -> "window_copy_b64";
        };
    }

    static long total(int[] dstDims) {
        long n = 1;
        for (int d : dstDims) n *= d;
        return n;
    }

    /** window_copy_*(src, dst, planes, sd, sh, sw, dd, dh, dw, oz, oy, ox), as window.cu declares it. */
    static Object[] args(Object src, int[] srcDims, Object dst, int[] dstDims, int[] offset) {
        long planes = (long) dstDims[0] * dstDims[1];
        return KernelLaunch.flat(src, dst, planes, spatial3(srcDims), spatial3(dstDims), offset3(offset));
    }

    /** Spatial sizes of [N, C, H, W] or [N, C, D, H, W] as (D, H, W). */
    static int[] spatial3(int[] dims) {
        return dims.length == 5 ? new int[]{dims[2], dims[3], dims[4]} : new int[]{1, dims[2], dims[3]};
    }

    /** Spatial offsets (2 or 3 of them) as (D, H, W). */
    static int[] offset3(int[] off) {
        return off.length == 3 ? off.clone() : new int[]{0, off[0], off[1]};
    }
}
