package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.plan.DeformablePlan.InputGradient;
import io.github.jconv.plan.DeformablePlan.Route;
import io.github.jconv.spi.ConvGeometry;

/**
 * Which kernels run a pass: a pure function of the spec, the pass and the mode (STYLE.md: selection
 * apart from execution). Transposed convolution is the adjoint of convolution, so its forward runs
 * the convolution's data-gradient path and its data gradient the convolution's forward path, on the
 * convolution view of core's {@link ConvGeometry}. Every choice that changes which kernels run is made
 * here, the session's tuning flags (implicit GEMM, deformable scatter) included. Deformable passes are planned
 * by core's {@link DeformablePlan}, the planner cuda uses too, with this device's facts as its
 * {@link DeformablePlan.Target} ({@link #deformableTarget}); {@link #deformable} names the kernels of the plan.
 */
final class Algorithms {
    /** How convolution passes are computed: chosen by size, or forced (tests, tuning). */
    enum Mode {
        AUTO, DIRECT, GEMM;

        /** From -Djconv.opencl.algorithm=auto|direct|gemm (default auto), as the system says now. */
        static Mode fromProperty() {
            return parse(io.github.jconv.EngineOptions.system(MODE_PROPERTY));
        }

        /** auto, direct or gemm (any case; null: auto). */
        static Mode parse(String value) {
            String v = (value == null ? "auto" : value).trim().toUpperCase(java.util.Locale.ROOT);
            for (Mode m : values()) if (m.name().equals(v)) return m;
            throw new IllegalArgumentException(MODE_PROPERTY + " = " + value
                    + ": must be auto, direct or gemm; e.g. -D" + MODE_PROPERTY + "=auto");
        }
    }

    static final String MODE_PROPERTY = "jconv.opencl.algorithm";
    /** Below this many multiply-adds a pass runs the direct kernels: im2col and GEMM launches cost more than they save. */
    static final long GEMM_MIN_MACS = 1L << 20;
    /** Below this many GEMM rows (a quarter of it on each side for the weight gradient) a pass runs direct. */
    static final long GEMM_MIN_SIDE = 32;

    /** The kernel path of a pass and the name {@code lastAlgorithm()} reports. */
    enum Path {
        /** conv.cl conv_forward on the convolution view. */
        VIEW_FORWARD_DIRECT("direct"),
        /** im2col + GEMM (a 1x1 stride-1 unpadded view skips im2col). */
        VIEW_FORWARD_GEMM("im2col+gemm"),
        /** gemm.cl gemm_conv: the GEMM reads the input in place of a column matrix (not for pointwise views, which need no columns). */
        VIEW_FORWARD_IMPLICIT("implicit-gemm"),
        VIEW_BACKWARD_DATA_DIRECT("direct-gather"),
        /** GEMM into columns, then a col2im gather. */
        VIEW_BACKWARD_DATA_GEMM("gemm+col2im"),
        VIEW_BACKWARD_WEIGHT_DIRECT("workgroup-reduce"),
        VIEW_BACKWARD_WEIGHT_GEMM("im2col+gemm"),
        BIAS_REDUCE("workgroup-reduce"),
        DEFORM_FORWARD("deformable-direct"),
        /** Sampled columns (deform_im2col), then GEMM. */
        DEFORM_FORWARD_GEMM("deformable-im2col+gemm"),
        DEFORM_DATA("deformable-colgrad+plane-scatter"),
        /** As DEFORM_DATA, one input row per work-item (GPUs: H times the parallelism). */
        DEFORM_DATA_ROWS("deformable-colgrad+row-scatter"),
        /** Column gradient W^T dy as a GEMM, then the per-plane scatter. */
        DEFORM_DATA_GEMM("deformable-gemm+plane-scatter"),
        DEFORM_DATA_GEMM_ROWS("deformable-gemm+row-scatter"),
        DEFORM_WEIGHT("deformable-workgroup-reduce"),
        DEFORM_WEIGHT_GEMM("deformable-im2col+gemm"),
        DEFORM_BIAS("workgroup-reduce"),
        DEFORM_OFFSET_MASK("deformable-colgrad+gather"),
        DEFORM_OFFSET_MASK_GEMM("deformable-gemm+gather");

        final String label;

        Path(String label) {
            this.label = label;
        }
    }

    /**
     * A path and the label reported for it (transposed passes say which convolution pass they are the adjoint of);
     * for a deformable pass, the {@link DeformablePlan} it runs (null otherwise).
     */
    record Choice(Path path, String label, DeformablePlan deformable) {
        Choice(Path path, String label) {
            this(path, label, null);
        }
    }

    private Algorithms() {
    }

    static final String SCATTER_PROPERTY = "jconv.opencl.deformScatter";

    /**
     * The deformable input-gradient scatter a session forces: {@code override} is
     * -Djconv.opencl.deformScatter=auto|plane|rows; null (auto) lets the plan choose by the device (planes on
     * CPUs, rows elsewhere). Both give the same sums in the same order; deformable.cl has no atomic scatter.
     */
    static InputGradient scatterOverride(String override) {
        String v = override == null ? "auto" : override.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "rows" -> InputGradient.ROWS;
            case "plane" -> InputGradient.PLANES;
            case "auto", "" -> null;
            default -> throw new IllegalArgumentException(SCATTER_PROPERTY + " = " + override
                    + ": must be auto, plane or rows; e.g. -D" + SCATTER_PROPERTY + "=auto");
        };
    }

    /**
     * What an OpenCL device and session offer the deformable plan, each fact a value: the device type (CPU:
     * plane scatter, else rows), every kernel deterministic, gemm.cl as the GEMM unless {@code mode} is DIRECT,
     * worth it above {@link #GEMM_MIN_MACS} and {@link #GEMM_MIN_SIDE} rows unless {@code mode} is GEMM, int-indexed
     * (its M, N and K are ints), the column budget and CL_DEVICE_MAX_MEM_ALLOC_SIZE, no atomic scatter kernel,
     * and the scatter the session forces ({@link #scatterOverride}; null: the plan's choice).
     */
    static DeformablePlan.Target deformableTarget(Mode mode, String deviceType, InputGradient scatter, long columnBudgetBytes,
                                                  long maxAllocBytes) {
        DeformablePlan.GemmThreshold threshold = mode == Mode.GEMM ? DeformablePlan.GemmThreshold.ALWAYS
                : new DeformablePlan.GemmThreshold(GEMM_MIN_MACS, GEMM_MIN_SIDE);
        return new DeformablePlan.Target("CPU".equals(deviceType) ? DeformablePlan.DeviceKind.CPU : DeformablePlan.DeviceKind.GPU,
                true, mode != Mode.DIRECT, columnBudgetBytes, Integer.MAX_VALUE, maxAllocBytes, threshold, false, scatter);
    }

    /** The kernels of the deformable plan of {@code pass} on {@code target}, and the label that says what the plan chose. */
    static Choice deformable(ConvSpec spec, Pass pass, DType dtype, DeformablePlan.Target target) {
        DeformablePlan plan = DeformablePlan.of(spec, pass, dtype, target);
        boolean gemm = plan.route() == Route.COLUMNS_GEMM;
        Path p = switch (pass) {
            case FORWARD -> gemm ? Path.DEFORM_FORWARD_GEMM : Path.DEFORM_FORWARD;
            case BACKWARD_DATA -> switch (plan.inputGradient()) {
                case PLANES -> gemm ? Path.DEFORM_DATA_GEMM : Path.DEFORM_DATA;
                case ROWS -> gemm ? Path.DEFORM_DATA_GEMM_ROWS : Path.DEFORM_DATA_ROWS;
                default -> throw new IllegalStateException("the OpenCL backend has no " + plan.inputGradient()
                        + " input-gradient scatter; its target offers planes and rows only: " + plan);
            };
            case BACKWARD_WEIGHT -> gemm ? Path.DEFORM_WEIGHT_GEMM : Path.DEFORM_WEIGHT;
            case BACKWARD_BIAS -> Path.DEFORM_BIAS;
            case BACKWARD_OFFSET_MASK -> gemm ? Path.DEFORM_OFFSET_MASK_GEMM : Path.DEFORM_OFFSET_MASK;
        };
        StringBuilder label = new StringBuilder(p.label);
        if (plan.columnElements() > 0) {
            label.append(", ").append(plan.chunks(spec.batch())).append(" chunk(s) of up to ").append(plan.chunkItems()).append(" item(s)");
        }
        if (!gemm && pass != Pass.BACKWARD_BIAS) label.append(" [").append(plan.reason()).append(']');
        return new Choice(p, label.toString(), plan);
    }

    static Choice choose(ConvSpec spec, Pass pass, Mode mode) {
        return choose(spec, pass, mode, Long.MAX_VALUE);
    }

    static Choice choose(ConvSpec spec, Pass pass, Mode mode, long maxColumnElements) {
        return choose(spec, pass, mode, maxColumnElements, false);
    }

    /**
     * {@code maxColumnElements}: the largest column matrix (one batch item) the device can allocate;
     * a problem whose columns exceed it, or whose GEMM sizes exceed an int, runs the direct kernels.
     * {@code implicitGemm}: GEMM forwards of the view read the input in place (except pointwise views).
     * Convolution and transposed convolution only: deformable passes are planned by {@link #deformable}.
     */
    static Choice choose(ConvSpec spec, Pass pass, Mode mode, long maxColumnElements, boolean implicitGemm) {
        ConvType t = spec.type();
        if (t == ConvType.DEFORMABLE) {
            throw new IllegalArgumentException("spec = " + spec + ": deformable passes are planned by DeformablePlan; use "
                    + "Algorithms.deformable(spec, pass, dtype, Algorithms.deformableTarget(...))");
        }
        boolean tr = t == ConvType.TRANSPOSED;
        ConvGeometry geo = ConvGeometry.of(spec);
        long viewOut = geo.outSpatial();
        long viewIn = geo.inSpatial();
        // -1 when the product overflows a long: such columns fit nowhere.
        long columns = ConvGeometry.productOrMinusOne(geo.inChannels(), geo.kernelVolume(), viewOut);
        boolean fits = columns >= 0 && columns <= maxColumnElements && viewOut <= Integer.MAX_VALUE && viewIn <= Integer.MAX_VALUE
                && columns / viewOut <= Integer.MAX_VALUE;
        long kg = geo.outChannelsPerGroup();
        long cgt = geo.columnRows();
        // Depthwise and narrow groups make GEMMs of a few rows, where a 64-row tile idles: direct kernels win
        // there (measured on PoCL). The GEMM's rows are Kg (view forward), Cg*T (view data), Kg x Cg*T (weight).
        boolean viewForward = (pass == Pass.FORWARD) != tr;
        boolean wide = switch (pass) {
            case BACKWARD_WEIGHT -> kg >= GEMM_MIN_SIDE / 4 && cgt >= GEMM_MIN_SIDE / 4;
            case FORWARD, BACKWARD_DATA -> (viewForward ? kg : cgt) >= GEMM_MIN_SIDE;
            default -> kg >= GEMM_MIN_SIDE && cgt >= GEMM_MIN_SIDE;
        };
        boolean gemm = fits && (mode == Mode.GEMM || (mode == Mode.AUTO && wide && spec.forwardFlops() / 2 >= GEMM_MIN_MACS));
        if (pass == Pass.BACKWARD_BIAS) return new Choice(Path.BIAS_REDUCE, Path.BIAS_REDUCE.label);
        if (pass == Pass.BACKWARD_OFFSET_MASK) {
            throw new IllegalArgumentException("pass = BACKWARD_OFFSET_MASK: only deformable convolution has offsets; this spec is "
                    + t + ", use Pass.BACKWARD_DATA / BACKWARD_WEIGHT / BACKWARD_BIAS");
        }
        // Transposed convolution is the adjoint: its forward is the convolution's data gradient and vice versa.
        Path viewForwardGemm = implicitGemm && !geo.pointwise() ? Path.VIEW_FORWARD_IMPLICIT : Path.VIEW_FORWARD_GEMM;
        Path p = switch (pass) {
            case FORWARD -> tr ? (gemm ? Path.VIEW_BACKWARD_DATA_GEMM : Path.VIEW_BACKWARD_DATA_DIRECT)
                    : (gemm ? viewForwardGemm : Path.VIEW_FORWARD_DIRECT);
            case BACKWARD_DATA -> tr ? (gemm ? viewForwardGemm : Path.VIEW_FORWARD_DIRECT)
                    : (gemm ? Path.VIEW_BACKWARD_DATA_GEMM : Path.VIEW_BACKWARD_DATA_DIRECT);
            default -> gemm ? Path.VIEW_BACKWARD_WEIGHT_GEMM : Path.VIEW_BACKWARD_WEIGHT_DIRECT;
        };
        return new Choice(p, tr && pass != Pass.BACKWARD_WEIGHT ? p.label + " (adjoint of convolution)" : p.label);
    }
}
