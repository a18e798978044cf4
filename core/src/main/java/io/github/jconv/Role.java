package io.github.jconv;

/** The part a buffer plays in a pass. Gradients have the shape of what they differentiate. */
public enum Role {
    X, W, B, Y, OFFSET, MASK, DX, DW, DB, DY, DOFFSET, DMASK;

    /** The shape a buffer in this role must have for the spec. */
    public Shape shapeFor(ConvSpec spec) {
        return switch (this) {
            case X, DX -> spec.inputShape();
            case W, DW -> spec.weightShape();
            case B, DB -> spec.biasShape();
            case Y, DY -> spec.outputShape();
            case OFFSET, DOFFSET -> spec.offsetShape();
            case MASK, DMASK -> spec.maskShape();
        };
    }

    /** Lower-case name as used in messages: x, dw, offset... */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
