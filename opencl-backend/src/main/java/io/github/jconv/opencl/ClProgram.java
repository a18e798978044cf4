package io.github.jconv.opencl;

import org.jocl.cl_kernel;
import org.jocl.cl_program;

import java.util.List;
import java.util.Map;

/**
 * The kernels of one built .cl program: each kernel with its work-group size for grid launches and
 * its parameter kinds; {@code redWg} the reduction work-group size it was built for, {@code gemmTiles}
 * the GEMM parameter set (TSM, TSN, TSK, WPTM, WPTN, VW, DB) of a gemm.cl build, else null.
 */
record ClProgram(String family, cl_program program, Map<String, cl_kernel> kernels, Map<String, Long> groupSizes, int redWg,
                 int[] gemmTiles) {
    cl_kernel kernel(String name) {
        cl_kernel k = kernels.get(name);
        if (k == null) throw new IllegalStateException("kernel " + name + " is not in " + family + ".cl");
        return k;
    }

    List<KernelSignature.Kind> signature(String name) {
        return KernelSignature.of(family, name);
    }
}
