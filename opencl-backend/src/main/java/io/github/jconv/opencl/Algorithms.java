package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;
import io.github.jconv.spi.ConvGeometry;

/**
 * Which kernels run a pass: a pure function of the spec, the pass and the mode (STYLE.md: selection
 * apart from execution). Transposed convolution is the adjoint of convolution, so its forward runs
 * the convolution's data-gradient path and its data gradient the convolution's forward path, on the
 * convolution view of core's {@link ConvGeometry}. Every choice that changes which kernels run is made
 * here, the session's tuning flags (implicit GEMM, deformable row scatter) included.
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

    /** A path and the label reported for it (transposed passes say which convolution pass they are the adjoint of). */
    record Choice(Path path, String label) {
    }

    private Algorithms() {
    }

    static final String SCATTER_PROPERTY = "jconv.opencl.deformScatter";

    /**
     * Whether the deformable data gradient scatters one input row per work-item (GPUs: H times the
     * parallelism) rather than one image plane (CPUs: H times less work); both give the same sums in
     * the same order. {@code override} is -Djconv.opencl.deformScatter=auto|plane|rows.
     */
    static boolean rowScatter(String deviceType, String override) {
        String v = override == null ? "auto" : override.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "rows" -> true;
            case "plane" -> false;
            case "auto", "" -> !"CPU".equals(deviceType);
            default -> throw new IllegalArgumentException(SCATTER_PROPERTY + " = " + override
                    + ": must be auto, plane or rows; e.g. -D" + SCATTER_PROPERTY + "=auto");
        };
    }

    static Choice choose(ConvSpec spec, Pass pass, Mode mode) {
        return choose(spec, pass, mode, Long.MAX_VALUE);
    }

    static Choice choose(ConvSpec spec, Pass pass, Mode mode, long maxColumnElements) {
        return choose(spec, pass, mode, maxColumnElements, false, false);
    }

    /**
     * {@code maxColumnElements}: the largest column matrix (one batch item) the device can allocate;
     * a problem whose columns exceed it, or whose GEMM sizes exceed an int, runs the direct kernels.
     * {@code implicitGemm}: GEMM forwards of the view read the input in place (except pointwise views);
     * {@code rowScatter}: the deformable data gradient scatters by rows ({@link #rowScatter}).
     */
    static Choice choose(ConvSpec spec, Pass pass, Mode mode, long maxColumnElements, boolean implicitGemm, boolean rowScatter) {
        ConvType t = spec.type();
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
            case FORWARD, BACKWARD_DATA -> t == ConvType.DEFORMABLE
                    ? kg >= GEMM_MIN_SIDE && cgt >= GEMM_MIN_SIDE
                    : (viewForward ? kg : cgt) >= GEMM_MIN_SIDE;
            default -> kg >= GEMM_MIN_SIDE && cgt >= GEMM_MIN_SIDE;
        };
        boolean gemm = fits && (mode == Mode.GEMM || (mode == Mode.AUTO && wide && spec.forwardFlops() / 2 >= GEMM_MIN_MACS));
        if (t == ConvType.DEFORMABLE) {
            Path p = switch (pass) {
                case FORWARD -> gemm ? Path.DEFORM_FORWARD_GEMM : Path.DEFORM_FORWARD;
                case BACKWARD_DATA -> gemm ? (rowScatter ? Path.DEFORM_DATA_GEMM_ROWS : Path.DEFORM_DATA_GEMM)
                        : (rowScatter ? Path.DEFORM_DATA_ROWS : Path.DEFORM_DATA);
                case BACKWARD_WEIGHT -> gemm ? Path.DEFORM_WEIGHT_GEMM : Path.DEFORM_WEIGHT;
                case BACKWARD_BIAS -> Path.DEFORM_BIAS;
                case BACKWARD_OFFSET_MASK -> gemm ? Path.DEFORM_OFFSET_MASK_GEMM : Path.DEFORM_OFFSET_MASK;
            };
            return new Choice(p, p.label);
        }
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
