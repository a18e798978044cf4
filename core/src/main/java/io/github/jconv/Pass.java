package io.github.jconv;

import java.util.EnumSet;
import java.util.Set;

/**
 * One computation on a spec. Every pass overwrites its outputs (it never accumulates into them and
 * never reads them first).
 */
public enum Pass {
    /** y = op(x, w) + b. Deformable reads offset (and mask when modulated). */
    FORWARD,
    /** dx from dy and w (deformable also reads offset and mask). */
    BACKWARD_DATA,
    /** dw from x and dy (deformable also reads offset and mask). */
    BACKWARD_WEIGHT,
    /** db = sum of dy over batch and space. */
    BACKWARD_BIAS,
    /** Deformable only: d offset (and d mask when modulated) from x, w, dy, offset and mask. */
    BACKWARD_OFFSET_MASK;

    /** The buffers this pass reads, for this spec. */
    public Set<Role> inputs(ConvSpec spec) {
        boolean deform = spec.type() == ConvType.DEFORMABLE;
        EnumSet<Role> r = EnumSet.noneOf(Role.class);
        switch (this) {
            case FORWARD -> {
                r.add(Role.X);
                r.add(Role.W);
                if (spec.bias()) r.add(Role.B);
            }
            case BACKWARD_DATA -> {
                r.add(Role.DY);
                r.add(Role.W);
            }
            case BACKWARD_WEIGHT -> {
                r.add(Role.X);
                r.add(Role.DY);
            }
            case BACKWARD_BIAS -> r.add(Role.DY);
            case BACKWARD_OFFSET_MASK -> {
                r.add(Role.X);
                r.add(Role.W);
                r.add(Role.DY);
            }
        }
        if (deform && this != BACKWARD_BIAS) {
            r.add(Role.OFFSET);
            if (spec.modulated()) r.add(Role.MASK);
        }
        return r;
    }

    /** The buffers this pass writes, for this spec. */
    public Set<Role> outputs(ConvSpec spec) {
        return switch (this) {
            case FORWARD -> EnumSet.of(Role.Y);
            case BACKWARD_DATA -> EnumSet.of(Role.DX);
            case BACKWARD_WEIGHT -> EnumSet.of(Role.DW);
            case BACKWARD_BIAS -> EnumSet.of(Role.DB);
            case BACKWARD_OFFSET_MASK -> spec.modulated() ? EnumSet.of(Role.DOFFSET, Role.DMASK) : EnumSet.of(Role.DOFFSET);
        };
    }
}
