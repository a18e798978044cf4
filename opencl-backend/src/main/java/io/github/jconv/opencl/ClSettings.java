package io.github.jconv.opencl;

import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.opencl.tune.TuningDatabase;

/**
 * The OpenCL tuning settings a session reads once when it opens (system properties, then this
 * device's tuning database), passed to its parts as values: the kernel mode, the column budget, the
 * deformable row scatter, the implicit GEMM, a forced GEMM parameter set (null: none), and the split-K
 * cap ({@code splitK}, 0: by occupancy only; {@code splitKForce}: always split that many).
 */
record ClSettings(Algorithms.Mode mode, long columnBudgetBytes, boolean rowScatter, boolean implicitGemm, GemmParams gemmOverride,
                  int splitK, boolean splitKForce) {
    /** Default byte budget of the column scratch; the batch is processed in chunks of items that fit. */
    static final long COL_BUDGET = 256L << 20;
    /** Overrides {@link #COL_BUDGET} (tuning; tests set it tiny to run one item per chunk). */
    static final String COL_BUDGET_PROPERTY = "jconv.opencl.columnBudgetBytes";
    /** The GEMM parameter set every GEMM of a session uses when set: "TSM,TSN,TSK,WPTM,WPTN[,VW[,DB]]" (tests, tuning). */
    static final String GEMM_PROPERTY = "jconv.opencl.gemm";
    /** The older spelling of {@link #GEMM_PROPERTY} (five integers). */
    static final String GEMM_TILES_PROPERTY = "jconv.opencl.gemmTiles";
    /** true: GEMM forwards (other than 1x1 stride-1 unpadded) read the input in place (implicit GEMM, no column matrix). */
    static final String IMPLICIT_GEMM_PROPERTY = "jconv.opencl.implicitGemm";
    /** The most K slices of a weight-gradient GEMM (1: no split-K); with {@code .force=true}, exactly that many (tests). */
    static final String SPLIT_K_PROPERTY = "jconv.opencl.splitK";
    /** The tuning database's key for the tuner's implicit-GEMM choice. */
    static final String IMPLICIT_GEMM_KEY = "conv.implicit";

    /** From the system properties; implicit GEMM from the property when set, else the tuner's choice for this device, else false. */
    static ClSettings read(String deviceType, TuningDatabase tuning) {
        Algorithms.Mode mode = Algorithms.Mode.fromProperty();
        long budget = Math.max(1, Long.getLong(COL_BUDGET_PROPERTY, COL_BUDGET));
        boolean rows = Algorithms.rowScatter(deviceType, System.getProperty(Algorithms.SCATTER_PROPERTY));
        String implicit = System.getProperty(IMPLICIT_GEMM_PROPERTY);
        boolean implicitOn = implicit != null && !implicit.isBlank() ? Boolean.parseBoolean(implicit.trim())
                : Boolean.TRUE.equals(tuning.flag(IMPLICIT_GEMM_KEY));
        int splitK = 0;
        boolean force = false;
        String cap = System.getProperty(SPLIT_K_PROPERTY);
        if (cap != null && !cap.isBlank()) {
            try {
                splitK = Math.max(1, Integer.parseInt(cap.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(SPLIT_K_PROPERTY + " = " + cap + ": the most slices, a positive integer; e.g. 8");
            }
            force = Boolean.getBoolean(SPLIT_K_PROPERTY + ".force");
        }
        return new ClSettings(mode, budget, rows, implicitOn, gemmOverrideProperty(), splitK, force);
    }

    private static GemmParams gemmOverrideProperty() {
        String v = System.getProperty(GEMM_PROPERTY);
        if (v != null && !v.isBlank()) return GemmParams.parse(v, GEMM_PROPERTY);
        v = System.getProperty(GEMM_TILES_PROPERTY);
        if (v != null && !v.isBlank()) return GemmParams.parse(v, GEMM_TILES_PROPERTY);
        return null;
    }
}
