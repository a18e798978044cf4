package io.github.jconv.layer;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.DeviceBuffer;

/**
 * A deformable convolution layer (v1 without mask, v2 with). Offsets and mask come from the caller
 * (usually another conv layer); backward gives dx and fills gradOffset / gradMask for them.
 */
public class DeformableConvLayer extends AbstractConvLayer {
    private DeviceBuffer lastOffset;
    private DeviceBuffer lastMask;
    private DeviceBuffer gradOffset;
    private DeviceBuffer gradMask;

    public DeformableConvLayer(ConvEngine engine, ConvSpec spec) {
        this(engine, spec, DType.FP32, 42);
    }

    public DeformableConvLayer(ConvEngine engine, ConvSpec spec, DType dtype, long seed) {
        super(engine, spec, ConvType.DEFORMABLE, dtype, seed);
    }

    /** y; mask must be null exactly when the spec is v1 (mask(false)). */
    public DeviceBuffer forward(DeviceBuffer x, DeviceBuffer offset, DeviceBuffer mask) {
        checkOpen();
        ConvSpec s = specFor(x);
        DeviceBuffer y = engine.forward(s, x, offset, mask, weight(), bias());
        lastSpec = s;
        lastInput = x;
        lastOffset = offset;
        lastMask = mask;
        return y;
    }

    /** dx; overwrites gradWeight, gradBias, gradOffset and gradMask. The caller owns dx. */
    public DeviceBuffer backward(DeviceBuffer dy) {
        checkForwarded();
        DeviceBuffer dx = engine.allocate(dtype, lastSpec.inputShape());
        try {
            engine.execute(Pass.BACKWARD_DATA, lastSpec, withOffsets().dy(dy).w(weight()).dx(dx).build());
            weightAndBiasGradients(withOffsets(), dy);
            gradOffset = reuse(gradOffset, lastSpec.offsetShape());
            if (lastSpec.modulated()) gradMask = reuse(gradMask, lastSpec.maskShape());
            engine.execute(Pass.BACKWARD_OFFSET_MASK, lastSpec, withOffsets().x(lastInput).w(weight()).dy(dy)
                    .dOffset(gradOffset).dMask(lastSpec.modulated() ? gradMask : null).build());
        } catch (RuntimeException e) {
            dx.close();
            throw e;
        }
        return dx;
    }

    public DeviceBuffer gradOffset() { return gradOffset; }
    public DeviceBuffer gradMask() { return gradMask; }

    private ConvArgs.Builder withOffsets() {
        return ConvArgs.builder().offset(lastOffset).mask(lastMask);
    }

    private DeviceBuffer reuse(DeviceBuffer b, io.github.jconv.Shape shape) {
        if (b != null && b.shape().equals(shape)) return b;
        if (b != null) b.close();
        return engine.allocate(dtype, shape);
    }

    @Override
    public void close() {
        if (gradOffset != null) gradOffset.close();
        if (gradMask != null) gradMask.close();
        super.close();
    }
}
