package io.github.jconv.cpu;

/**
 * When the unit-stride implicit GEMM ({@link FloatImplicitGemm} and its FP64 twin) runs a pass, and its
 * scratch budgets: a pure rule on the geometry, kept apart from the Vector API kernels so that the selector
 * ({@link CpuAlgorithms}) can ask it on a JVM without {@code jdk.incubator.vector}.
 */
final class ImplicitGemm {
    /** Elements of one worker's staged input block (1 MiB in FP32). */
    static final int STAGE_BUDGET = 1 << 18;
    /** Elements of one worker's output tile or staged output gradient (1 MiB in FP32). */
    static final int OUT_BUDGET = 1 << 18;
    /** The widest register tile any species gives (8 rows, 32 columns with 512-bit FP32 vectors). */
    private static final int MAX_MR = 8, MAX_NR = 32;

    private ImplicitGemm() {
    }

    /**
     * Unit stride, no negative padding, and one staged output row of every step within the budgets: the input
     * rows a row reads (channels × depth taps × (kh − 1)·dh + 1 rows of ow + (kw − 1)·dw), the output tile or
     * the staged output gradient of one row, and the packed weights of one group.
     */
    static boolean applies(Geometry g) {
        if (g.sd != 1 || g.sh != 1 || g.sw != 1 || g.pd < 0 || g.ph < 0 || g.pw < 0) return false;
        long pw = g.ow + (long) (g.kw - 1) * g.dw, perRow = (long) g.cg * g.kd * pw;
        return perRow * (1 + (long) (g.kh - 1) * g.dh) <= STAGE_BUDGET && (g.kg + MAX_NR) * (pw + MAX_NR) <= OUT_BUDGET
                && (long) g.rows * (g.kg + MAX_MR) <= STAGE_BUDGET;
    }
}
