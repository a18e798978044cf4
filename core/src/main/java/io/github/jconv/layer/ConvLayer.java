package io.github.jconv.layer;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.DeviceBuffer;

/** A convolution layer, 1D/2D/3D, grouped, depthwise or dilated as its spec says. */
public sealed class ConvLayer extends AbstractConvLayer permits TransposedConvLayer {
    public ConvLayer(ConvEngine engine, ConvSpec spec) {
        this(engine, spec, DType.FP32, 42);
    }

    public ConvLayer(ConvEngine engine, ConvSpec spec, DType dtype, long seed) {
        this(engine, spec, ConvType.CONVOLUTION, dtype, seed);
    }

    ConvLayer(ConvEngine engine, ConvSpec spec, ConvType type, DType dtype, long seed) {
        super(engine, spec, type, dtype, seed);
    }

    /** y for input x (kept for this thread's backward; do not close x before backward). The caller owns y. */
    public DeviceBuffer forward(DeviceBuffer x) {
        return forwardStep(x, null, null, s -> engine.forward(s, x, weight(), bias()));
    }

    /** dx for dy, from this thread's last forward; overwrites this thread's gradWeight and gradBias. The caller owns dx. */
    public DeviceBuffer backward(DeviceBuffer dy) {
        return backwardStep(dy, step -> {
            DeviceBuffer dx = engine.allocate(dtype, step.spec.inputShape());
            try {
                engine.execute(Pass.BACKWARD_DATA, step.spec, ConvArgs.builder().dy(dy).w(weight()).dx(dx).build());
                weightAndBiasGradients(step, ConvArgs.builder(), dy);
            } catch (RuntimeException | Error e) {
                dx.close();
                throw e;
            }
            return dx;
        });
    }
}
