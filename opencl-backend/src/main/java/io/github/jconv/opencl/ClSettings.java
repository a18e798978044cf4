package io.github.jconv.opencl;

import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.opencl.tune.TuningDatabase;

/**
 * The OpenCL tuning settings of a session, resolved once when it opens from its {@link OpenClOptions}
 * (the one reader of the properties) and this device's tuning database, passed to its parts as values: the kernel mode, the column budget, the
 * deformable scatter the options force (null: the deformable plan chooses), the implicit GEMM, a forced GEMM parameter set (null: none), and the split-K
 * cap ({@code splitK}, 0: by occupancy only; {@code splitKForce}: always split that many).
 */
record ClSettings(Algorithms.Mode mode, long columnBudgetBytes, DeformablePlan.InputGradient deformScatter, boolean implicitGemm, GemmParams gemmOverride,
                  int splitK, boolean splitKForce) {
    /** Overrides {@link OpenClOptions#DEFAULT_COLUMN_BUDGET} (tuning; tests set it tiny to run one item per chunk). */
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

    /**
     * The session's typed options resolved for this device: the mode and the forced deformable scatter parsed (the
     * deformable plan weighs the device type), the implicit GEMM from the options when set, else the tuner's
     * choice, else off.
     */
    static ClSettings of(OpenClOptions o, TuningDatabase tuning) {
        boolean implicitOn = o.implicitGemm() != null ? o.implicitGemm() : Boolean.TRUE.equals(tuning.flag(IMPLICIT_GEMM_KEY));
        return new ClSettings(Algorithms.Mode.parse(o.algorithm()), o.columnBudgetBytes(),
                Algorithms.scatterOverride(o.deformScatter()), implicitOn, o.gemm(), o.splitK(), o.splitKForce());
    }
}
