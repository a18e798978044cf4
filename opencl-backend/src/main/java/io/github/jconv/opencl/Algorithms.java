package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;

/**
 * Which kernel runs a pass: a pure function of the spec and pass (STYLE.md: selection apart from
 * execution). Transposed convolution is the adjoint of convolution, so its forward runs the
 * convolution's data-gradient kernel and its data gradient runs the convolution's forward kernel.
 */
final class Algorithms {
    /** A kernel of a family, and the name {@code lastAlgorithm()} reports. */
    record Choice(String family, String kernel, String label) {
    }

    private Algorithms() {
    }

    static Choice choose(ConvSpec spec, Pass pass) {
        ConvType t = spec.type();
        if (t == ConvType.DEFORMABLE) {
            return switch (pass) {
                case FORWARD -> new Choice("deformable", "deform_forward", "deformable-direct");
                case BACKWARD_DATA -> new Choice("deformable", "deform_input_grad", "deformable-colgrad+plane-scatter");
                case BACKWARD_WEIGHT -> new Choice("deformable", "deform_weight_grad", "deformable-workgroup-reduce");
                case BACKWARD_BIAS -> new Choice("deformable", "deform_bias_grad", "workgroup-reduce");
                case BACKWARD_OFFSET_MASK -> new Choice("deformable", "deform_offset_mask_grad", "deformable-colgrad+gather");
            };
        }
        boolean transposed = t == ConvType.TRANSPOSED;
        return switch (pass) {
            case FORWARD -> transposed
                    ? new Choice("conv", "conv_backward_data", "direct-gather (adjoint of convolution)")
                    : new Choice("conv", "conv_forward", "direct");
            case BACKWARD_DATA -> transposed
                    ? new Choice("conv", "conv_forward", "direct (adjoint of convolution)")
                    : new Choice("conv", "conv_backward_data", "direct-gather");
            case BACKWARD_WEIGHT -> new Choice("conv", "conv_backward_weight", "workgroup-reduce");
            case BACKWARD_BIAS -> new Choice("conv", "bias_backward", "workgroup-reduce");
            case BACKWARD_OFFSET_MASK -> throw new IllegalArgumentException("pass = BACKWARD_OFFSET_MASK: only deformable "
                    + "convolution has offsets; this spec is " + t + ", use Pass.BACKWARD_DATA / BACKWARD_WEIGHT / BACKWARD_BIAS");
        };
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
