package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.Support;

/**
 * A pass of a convolution or transposed convolution as the convolution view ({@link Geometry}) runs
 * it, with the buffers it reads and writes. A transposed spec's forward pass is the view's backward
 * data pass and its backward data pass the view's forward pass; its weight gradient swaps the roles of
 * the two activations. Every standard-convolution family (GEMM, depthwise, phases) reads its arrays
 * through this mapping, so the mapping exists once.
 */
final class ViewPass {
    /** What the view computes. */
    enum Kind { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHT }

    final Kind kind;
    /** The activation read: the view's input (forward, weight gradient) or its output gradient (backward data). */
    final Role data;
    /** The weights (forward, backward data), or the view's output gradient (weight gradient). */
    final Role operand;
    /** The bias added to the result, or null where the pass adds none. */
    final Role bias;
    /** The tensor written. */
    final Role result;

    private ViewPass(Kind kind, Role data, Role operand, Role bias, Role result) {
        this.kind = kind;
        this.data = data;
        this.operand = operand;
        this.bias = bias;
        this.result = result;
    }

    /** The view's pass for {@code pass} of a convolution or transposed spec. */
    static ViewPass of(ConvSpec spec, Pass pass) {
        boolean tr = spec.type() == ConvType.TRANSPOSED;
        if (spec.type() == ConvType.DEFORMABLE) throw unsupported(pass, spec);
        return switch (pass) {
            case FORWARD -> tr ? new ViewPass(Kind.BACKWARD_DATA, Role.X, Role.W, Role.B, Role.Y)
                    : new ViewPass(Kind.FORWARD, Role.X, Role.W, Role.B, Role.Y);
            case BACKWARD_DATA -> tr ? new ViewPass(Kind.FORWARD, Role.DY, Role.W, null, Role.DX)
                    : new ViewPass(Kind.BACKWARD_DATA, Role.DY, Role.W, null, Role.DX);
            case BACKWARD_WEIGHT -> tr ? new ViewPass(Kind.BACKWARD_WEIGHT, Role.DY, Role.X, null, Role.DW)
                    : new ViewPass(Kind.BACKWARD_WEIGHT, Role.X, Role.DY, null, Role.DW);
            default -> throw unsupported(pass, spec);
        };
    }

    /** The support rule every standard-convolution family shares: the passes of {@link #of}. */
    static Support support(ConvSpec spec, Pass pass) {
        if (pass == Pass.BACKWARD_OFFSET_MASK) return Support.no("BACKWARD_OFFSET_MASK applies to deformable convolution only");
        return Support.yes();
    }

    static UnsupportedOperationException unsupported(Pass pass, ConvSpec spec) {
        return new UnsupportedOperationException(pass + " does not apply to " + spec.type() + " (" + spec + ")");
    }
}
