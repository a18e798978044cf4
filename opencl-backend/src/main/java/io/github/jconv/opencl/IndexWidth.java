package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Shape;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The index type ({@code -DIDX=int} or {@code -DIDX=long}, common.cl's {@code idx_t}) a program of conv.cl, im2col.cl
 * or deformable.cl is built with for a pass: {@link #INT} when every buffer the pass's launches address has at most
 * {@link Integer#MAX_VALUE} elements, else {@link #LONG}. The kernels form with {@code idx_t} only values below the
 * largest buffer (element indices, plane and row offsets, spatial sizes), so int cannot overflow there; their loop
 * counters stay long. A pure function of the sizes; the programs of the two widths are built and cached apart
 * ({@link ClPrograms#program}). gemm.cl takes no IDX: its divisions are already int (M, N, K, tile coordinates and
 * index splits are ints by design) and it forms addresses with 64-bit multiply-adds from long strides.
 */
enum IndexWidth {
    INT("int"), LONG("long");

    /** The OpenCL C type. */
    final String type;

    IndexWidth(String type) {
        this.type = type;
    }

    /** The build option that selects it. */
    String define() {
        return "-DIDX=" + type;
    }

    /**
     * INT when every count of {@code bufferElements} (buffer name to elements) is at most 2^31 - 1, else LONG; a
     * negative count (an overflowed product) is LONG.
     */
    static IndexWidth of(Map<String, Long> bufferElements) {
        for (long n : bufferElements.values()) {
            if (n < 0 || n > Integer.MAX_VALUE) return LONG;
        }
        return INT;
    }

    /**
     * The element counts of the buffers a pass of {@code spec} can address: input, weight, output, bias, for a
     * deformable spec offset and mask, and {@code columnElements} of column scratch (0: none). Each tensor counts
     * its dimensions as at least 1 ({@link #extent}), since kernels form sub-products such as one item's plane size
     * even where the batch is empty.
     */
    static Map<String, Long> buffers(ConvSpec spec, long columnElements) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("input", extent(spec.inputShape()));
        m.put("weight", extent(spec.weightShape()));
        m.put("output", extent(spec.outputShape()));
        m.put("bias", extent(spec.biasShape()));
        if (spec.type() == ConvType.DEFORMABLE) {
            m.put("offset", extent(spec.offsetShape()));
            m.put("mask", extent(spec.maskShape()));
        }
        m.put("column", columnElements);
        return m;
    }

    /** The index width of a pass of {@code spec} with {@code columnElements} of column scratch. */
    static IndexWidth of(ConvSpec spec, long columnElements) {
        return of(buffers(spec, columnElements));
    }

    /** The product of the dimensions of {@code s}, each at least 1; -1 when it overflows a long. */
    static long extent(Shape s) {
        long p = 1;
        for (int d : s.dims()) {
            try {
                p = Math.multiplyExact(p, Math.max(1, d));
            } catch (ArithmeticException e) {
                return -1;
            }
        }
        return p;
    }
}
