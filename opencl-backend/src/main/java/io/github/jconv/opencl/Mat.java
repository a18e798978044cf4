package io.github.jconv.opencl;

import org.jocl.cl_mem;

/**
 * One GEMM operand as gemm.cl addresses it: offset, group stride, then for rows and columns a
 * stride and an optional split (index i reads (i / ns) * outer + (i % ns) * stride; ns = 0: none).
 */
record Mat(cl_mem mem, long off, long sG, long sR, int nsR, long sRO, long sC, int nsC, long sCO) {
    static Mat of(cl_mem mem, long off, long sG, long sR, long sC) {
        return new Mat(mem, off, sG, sR, 0, 0, sC, 0, 0);
    }

    /** Columns j = item * ns + position, items {@code outer} apart: a batch of images as one matrix. */
    Mat splitCols(long ns, long outer) {
        return new Mat(mem, off, sG, sR, nsR, sRO, sC, Math.toIntExact(ns), outer);
    }

    /** Rows k = item * ns + position, items {@code outer} apart. */
    Mat splitRows(long ns, long outer) {
        return new Mat(mem, off, sG, sR, Math.toIntExact(ns), outer, sC, nsC, sCO);
    }

    /** The same addressing with another offset and group stride (split-K runs). */
    Mat at(long offset, long groupStride) {
        return new Mat(mem, offset, groupStride, sR, nsR, sRO, sC, nsC, sCO);
    }
}
