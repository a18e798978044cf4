package io.github.jconv.layer;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.DeviceBuffer;

import java.util.SplittableRandom;

/**
 * What a training loop holds on to: weight, bias and their gradients on the engine's device, and
 * forward/backward. The spec given at construction is a template; each forward adapts it to the
 * input's batch and spatial size. Backward overwrites the gradients (call it once per step, or
 * sum on the host). Not thread-safe: one layer per training thread.
 */
public abstract class AbstractConvLayer implements AutoCloseable {
    protected final ConvEngine engine;
    protected final DType dtype;
    private ConvSpec template;
    private final DeviceBuffer weight;
    private final DeviceBuffer bias;
    private final DeviceBuffer gradWeight;
    private final DeviceBuffer gradBias;
    protected ConvSpec lastSpec;
    protected DeviceBuffer lastInput;
    private boolean closed;

    protected AbstractConvLayer(ConvEngine engine, ConvSpec template, ConvType expected, DType dtype, long seed) {
        if (engine == null) throw new IllegalArgumentException("engine = null: open one with ConvEngine.open()");
        if (template == null) throw new IllegalArgumentException("spec = null: build one with ConvSpec." + expected.name().toLowerCase(java.util.Locale.ROOT) + "()");
        if (dtype == null) throw new IllegalArgumentException("dtype = null: e.g. DType.FP32");
        if (template.type() != expected) {
            throw new IllegalArgumentException("spec type = " + template.type() + ": " + getClass().getSimpleName()
                    + " runs " + expected + "; use the layer class of that family");
        }
        this.engine = engine;
        this.dtype = dtype;
        this.template = template;
        // allocate all four, or free what was made: a failed constructor must leak nothing
        java.util.List<DeviceBuffer> made = new java.util.ArrayList<>(4);
        try {
            weight = keep(made, engine.allocate(dtype, template.weightShape()));
            gradWeight = keep(made, engine.allocate(dtype, template.weightShape()));
            bias = template.bias() ? keep(made, engine.allocate(dtype, template.biasShape())) : null;
            gradBias = template.bias() ? keep(made, engine.allocate(dtype, template.biasShape())) : null;
            initialise(seed);
        } catch (RuntimeException | Error e) {
            for (DeviceBuffer b : made) b.close();
            throw e;
        }
    }

    private static DeviceBuffer keep(java.util.List<DeviceBuffer> made, DeviceBuffer b) {
        made.add(b);
        return b;
    }

    /** Kaiming-uniform weights (bound √(6 / fan_in)) and zero bias, from a seed. */
    private void initialise(long seed) {
        int n = (int) template.weightShape().elementCount();
        long fanIn = template.weightShape().elementCount() / template.weightShape().dim(0);
        double bound = Math.sqrt(6.0 / Math.max(1, fanIn));
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        setWeight(w);
        if (bias != null) setBias(new float[template.outChannels()]);
    }

    public ConvSpec spec() {
        return template;
    }

    public DeviceBuffer weight() { return weight; }
    public DeviceBuffer bias() { return bias; }
    public DeviceBuffer gradWeight() { return gradWeight; }
    public DeviceBuffer gradBias() { return gradBias; }

    public void setWeight(float[] values) {
        checkOpen();
        checkLength("weight", values, weight);
        engine.backend().upload(weight, 0, values, 0, values.length);
    }

    public void setBias(float[] values) {
        checkOpen();
        if (bias == null) throw new IllegalArgumentException("bias: this layer's spec has bias(false)");
        checkLength("bias", values, bias);
        engine.backend().upload(bias, 0, values, 0, values.length);
    }

    public float[] weightValues() {
        return engine.downloadFloats(weight);
    }

    /** Plain SGD on the host: w ← w − lr·dw, b ← b − lr·db. */
    public void sgdStep(float learningRate) {
        checkOpen();
        step(weight, gradWeight, learningRate);
        if (bias != null) step(bias, gradBias, learningRate);
    }

    private void step(DeviceBuffer p, DeviceBuffer g, float lr) {
        float[] pv = engine.downloadFloats(p);
        float[] gv = engine.downloadFloats(g);
        for (int i = 0; i < pv.length; i++) pv[i] -= lr * gv[i];
        engine.backend().upload(p, 0, pv, 0, pv.length);
    }

    protected ConvSpec specFor(DeviceBuffer x) {
        if (x == null) throw new IllegalArgumentException("x = null: pass an input of shape " + template.inputShape());
        return x.shape().equals(template.inputShape()) ? template : template.withInput(x.shape());
    }

    /** Computes dW and dB (overwriting them) from the cached input and dy, plus extra roles for deformable. */
    protected void weightAndBiasGradients(ConvArgs.Builder extra, DeviceBuffer dy) {
        engine.execute(Pass.BACKWARD_WEIGHT, lastSpec, extra.x(lastInput).dy(dy).dw(gradWeight).build());
        if (gradBias != null) {
            engine.execute(Pass.BACKWARD_BIAS, lastSpec, ConvArgs.builder().dy(dy).db(gradBias).build());
        }
    }

    protected void checkOpen() {
        if (closed) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
    }

    protected void checkForwarded() {
        checkOpen();
        if (lastSpec == null) throw new IllegalStateException("backward before forward: call forward(x) first");
        if (lastInput.isClosed()) throw new IllegalStateException("the input of the last forward was closed before backward");
    }

    private static void checkLength(String name, float[] v, DeviceBuffer b) {
        if (v == null) throw new IllegalArgumentException(name + " = null: pass " + b.elementCount() + " values");
        if (v.length != b.elementCount()) {
            throw new IllegalArgumentException(name + ".length = " + v.length + ": must be " + b.elementCount()
                    + " (shape " + b.shape() + ")");
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        weight.close();
        gradWeight.close();
        if (bias != null) {
            bias.close();
            gradBias.close();
        }
    }
}
