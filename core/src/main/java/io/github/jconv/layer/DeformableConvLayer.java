package io.github.jconv.layer;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.DeviceBuffer;

/**
 * A deformable convolution layer (v1 without mask, v2 with). Offsets and mask come from the caller
 * (usually another conv layer); backward gives dx and fills gradOffset / gradMask for them. Like
 * the weight gradients, offset and mask gradients are per thread (see {@link AbstractConvLayer}).
 */
public final class DeformableConvLayer extends AbstractConvLayer {
    public DeformableConvLayer(ConvEngine engine, ConvSpec spec) {
        this(engine, spec, DType.FP32, 42);
    }

    public DeformableConvLayer(ConvEngine engine, ConvSpec spec, DType dtype, long seed) {
        super(engine, spec, ConvType.DEFORMABLE, dtype, seed);
    }

    /** y; mask must be null exactly when the spec is v1 (mask(false)). */
    public DeviceBuffer forward(DeviceBuffer x, DeviceBuffer offset, DeviceBuffer mask) {
        if (!spec().modulated() && mask != null) {
            throw new IllegalArgumentException("mask = " + mask + ": this layer's spec is deformable v1 (mask(false)), which has no mask;"
                    + " pass null, or build the spec with mask(true) for v2");
        }
        return forwardStep(x, offset, mask, s -> engine.forward(s, x, offset, mask, weight(), bias()));
    }

    /** dx; overwrites this thread's gradWeight, gradBias, gradOffset and gradMask. The caller owns dx. */
    public DeviceBuffer backward(DeviceBuffer dy) {
        return backwardStep(dy, step -> {
            DeviceBuffer dx = engine.allocate(dtype, step.spec.inputShape());
            try {
                step.gradOffset = reuse(step.gradOffset, step.spec.offsetShape());
                if (step.spec.modulated()) step.gradMask = reuse(step.gradMask, step.spec.maskShape());
                // every gradient in one call: the backend may share work (the CPU forms Wᵀ·dY once for dx and the offsets)
                java.util.EnumSet<Pass> passes = java.util.EnumSet.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK);
                ConvArgs.Builder all = withOffsets(step).x(step.input).w(weight()).dy(dy).dx(dx).dw(step.gradWeight)
                        .dOffset(step.gradOffset).dMask(step.spec.modulated() ? step.gradMask : null);
                if (step.gradBias != null) {
                    passes.add(Pass.BACKWARD_BIAS);
                    all.db(step.gradBias);
                }
                engine.executeAll(passes, step.spec, all.build());
            } catch (RuntimeException | Error e) {
                dx.close();
                throw e;
            }
            return dx;
        });
    }

    /** This thread's offset gradient (null before its first backward). */
    public DeviceBuffer gradOffset() { return gradients().gradOffset; }

    /** This thread's mask gradient (null for v1, and before the first backward). */
    public DeviceBuffer gradMask() { return gradients().gradMask; }

    private static ConvArgs.Builder withOffsets(Step step) {
        return ConvArgs.builder().offset(step.offset).mask(step.mask);
    }

    private DeviceBuffer reuse(DeviceBuffer b, io.github.jconv.Shape shape) {
        if (b != null && b.shape().equals(shape)) return b;
        if (b != null) b.close();
        return engine.allocate(dtype, shape);
    }
}
