package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;

/**
 * Which kernels run a pass: a pure function of the spec, the pass and the mode (STYLE.md: selection
 * apart from execution). Transposed convolution is the adjoint of convolution, so its forward runs
 * the convolution's data-gradient path and its data gradient the convolution's forward path, on the
 * "convolution view" of {@link #convGeometry}.
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
        /** Column gradient W^T dy as a GEMM, then the per-plane scatter. */
        DEFORM_DATA_GEMM("deformable-gemm+plane-scatter"),
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

    /**
     * {@code maxColumnElements}: the largest column matrix (one batch item) the device can allocate;
     * a problem whose columns exceed it, or whose GEMM sizes exceed an int, runs the direct kernels.
     */
    static Choice choose(ConvSpec spec, Pass pass, Mode mode, long maxColumnElements) {
        ConvType t = spec.type();
        boolean tr = t == ConvType.TRANSPOSED;
        long viewOut = tr ? spec.inputSpatial() : spec.outputSpatial();
        long viewIn = tr ? spec.outputSpatial() : spec.inputSpatial();
        // -1 when the product overflows a long: such columns fit nowhere.
        long columns = OpenClSession.product(tr ? spec.outChannels() : spec.inChannels(), spec.kernelVolume(), viewOut);
        boolean fits = columns >= 0 && columns <= maxColumnElements && viewOut <= Integer.MAX_VALUE && viewIn <= Integer.MAX_VALUE
                && columns / viewOut <= Integer.MAX_VALUE;
        long viewC = tr ? spec.outChannels() : spec.inChannels();
        long viewK = tr ? spec.inChannels() : spec.outChannels();
        long kg = viewK / spec.groups();
        long cgt = viewC / spec.groups() * spec.kernelVolume();
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
                case BACKWARD_DATA -> gemm ? Path.DEFORM_DATA_GEMM : Path.DEFORM_DATA;
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
        Path p = switch (pass) {
            case FORWARD -> tr ? (gemm ? Path.VIEW_BACKWARD_DATA_GEMM : Path.VIEW_BACKWARD_DATA_DIRECT)
                    : (gemm ? Path.VIEW_FORWARD_GEMM : Path.VIEW_FORWARD_DIRECT);
            case BACKWARD_DATA -> tr ? (gemm ? Path.VIEW_FORWARD_GEMM : Path.VIEW_FORWARD_DIRECT)
                    : (gemm ? Path.VIEW_BACKWARD_DATA_GEMM : Path.VIEW_BACKWARD_DATA_DIRECT);
            default -> gemm ? Path.VIEW_BACKWARD_WEIGHT_GEMM : Path.VIEW_BACKWARD_WEIGHT_DIRECT;
        };
        return new Choice(p, tr && pass != Pass.BACKWARD_WEIGHT ? p.label + " (adjoint of convolution)" : p.label);
    }

    /**
     * The 22 geometry ints (N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW)
     * of the convolution that runs {@code spec}: 1D and 2D get leading unit axes; a transposed spec
     * becomes the convolution it is the adjoint of (its output is that convolution's input).
     */
    static int[] convGeometry(ConvSpec spec) {
        boolean tr = spec.type() == ConvType.TRANSPOSED;
        int r = spec.rank();
        int[] g = new int[22];
        g[0] = spec.batch();
        g[1] = tr ? spec.outChannels() : spec.inChannels();
        g[2] = tr ? spec.inChannels() : spec.outChannels();
        g[3] = spec.groups();
        for (int a = 0; a < 3; a++) {
            int src = a - (3 - r);
            boolean real = src >= 0;
            g[4 + a] = real ? (tr ? spec.output(src) : spec.input(src)) : 1;
            g[7 + a] = real ? (tr ? spec.input(src) : spec.output(src)) : 1;
            g[10 + a] = real ? spec.kernel(src) : 1;
            g[13 + a] = real ? spec.stride(src) : 1;
            g[16 + a] = real ? spec.paddingLo(src) : 0;
            g[19 + a] = real ? spec.dilation(src) : 1;
        }
        return g;
    }

    /** The 17 geometry ints of deformable.cl (N, C, K, G, GOFF, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW). */
    static int[] deformGeometry(ConvSpec s) {
        return new int[] {s.batch(), s.inChannels(), s.outChannels(), s.groups(), s.offsetGroups(), s.input(0), s.input(1),
                s.output(0), s.output(1), s.kernel(0), s.kernel(1), s.stride(0), s.stride(1), s.paddingLo(0), s.paddingLo(1),
                s.dilation(0), s.dilation(1)};
    }
}
