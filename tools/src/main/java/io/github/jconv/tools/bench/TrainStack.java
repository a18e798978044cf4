package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.layer.DeformableConvLayer;
import io.github.jconv.layer.TransposedConvLayer;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * T1, the training-step benchmark (docs/bench-problems.md, "T1"): six layers in a chain, forward
 * through all, backward through all (every input gradient, the deformable layer's offset and mask
 * gradients too), SGD on every weight and bias. The 2D chain ends in 32 channels of 56×56, which the
 * 3D layer reads as 8 channels of a 4×56×56 volume (the same memory: a view made with
 * {@link ConvEngine#wrap} over {@link ConvEngine#nativeHandle}).
 */
final class TrainStack implements AutoCloseable {
    static final int DEFAULT_BATCH = 32;
    static final float LEARNING_RATE = 0.01f;

    /** The layers' specs at batch {@code n}, as problem lines in docs/bench-problems.md order. */
    static List<ConvSpec> specs(int n) {
        return List.of(
                ConvSpec.convolution().batch(n).channels(64, 64).input(28, 28).kernel(3).padding(1).bias(true).build(),
                ConvSpec.convolution().batch(n).channels(64, 64).groups(64).input(28, 28).kernel(3).padding(1).bias(true).build(),
                ConvSpec.deformable().batch(n).channels(64, 64).input(28, 28).kernel(3).padding(1).mask(true).bias(true).build(),
                ConvSpec.convolution().batch(n).channels(64, 128).input(28, 28).kernel(1).bias(true).build(),
                ConvSpec.transposed().batch(n).channels(128, 32).input(28, 28).kernel(4).stride(2).padding(1).bias(true).build(),
                ConvSpec.convolution().batch(n).channels(8, 8).input(4, 56, 56).kernel(3).padding(1).bias(true).build());
    }

    private final ConvEngine engine;
    private final List<ConvSpec> specs;
    private final ConvLayer c1, dw, pw, c3d;
    private final DeformableConvLayer def;
    private final TransposedConvLayer up;
    private final DeviceBuffer x, offset, mask, dy;
    private final List<AutoCloseable> owned = new ArrayList<>();

    TrainStack(ConvEngine engine, int batch, DType dtype, long seed) {
        this.engine = engine;
        this.specs = specs(batch);
        c1 = keep(new ConvLayer(engine, specs.get(0), dtype, seed + 1));
        dw = keep(new ConvLayer(engine, specs.get(1), dtype, seed + 2));
        def = keep(new DeformableConvLayer(engine, specs.get(2), dtype, seed + 3));
        pw = keep(new ConvLayer(engine, specs.get(3), dtype, seed + 4));
        up = keep(new TransposedConvLayer(engine, specs.get(4), dtype, seed + 5));
        c3d = keep(new ConvLayer(engine, specs.get(5), dtype, seed + 6));
        SplittableRandom r = new SplittableRandom(seed);
        x = keep(engine.upload(dtype, normal(r, specs.get(0).inputShape(), 1), specs.get(0).inputShape()));
        offset = keep(engine.upload(dtype, normal(r, specs.get(2).offsetShape(), 2), specs.get(2).offsetShape()));
        float[] m = new float[(int) specs.get(2).maskShape().elementCount()];
        for (int i = 0; i < m.length; i++) m[i] = (float) r.nextDouble();
        mask = keep(engine.upload(dtype, m, specs.get(2).maskShape()));
        // the loss is <y, g> for a fixed g, so dLoss/dy = g
        dy = keep(engine.upload(dtype, normal(r, specs.get(5).outputShape(), 1), specs.get(5).outputShape()));
    }

    private <T extends AutoCloseable> T keep(T t) {
        owned.add(t);
        return t;
    }

    private static float[] normal(SplittableRandom r, Shape s, double sd) {
        float[] v = new float[(int) s.elementCount()];
        for (int i = 0; i < v.length; i++) {
            double u1 = 1 - r.nextDouble(), u2 = r.nextDouble(); // Box-Muller
            v[i] = (float) (sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    /** One training step; every buffer it makes is closed (back to the allocator's cache) when it returns. */
    void step() {
        List<DeviceBuffer> tmp = new ArrayList<>();
        try {
            // each buffer is closed as soon as nothing needs it (back to the cache for the next one), as
            // PyTorch frees a saved activation once its layer's backward ran; close is idempotent, so the
            // finally below may close them again
            DeviceBuffer y1 = add(tmp, c1.forward(x));
            DeviceBuffer y2 = add(tmp, dw.forward(y1));
            DeviceBuffer y3 = add(tmp, def.forward(y2, offset, mask));
            DeviceBuffer y4 = add(tmp, pw.forward(y3));
            DeviceBuffer y5 = add(tmp, up.forward(y4));
            DeviceBuffer v5 = add(tmp, view(engine, y5, specs.get(5).inputShape()));
            add(tmp, c3d.forward(v5)).close(); // the loss <y, g> needs no y: its gradient is g
            DeviceBuffer d6 = add(tmp, c3d.backward(dy));
            v5.close();
            y5.close();
            DeviceBuffer v6 = add(tmp, view(engine, d6, specs.get(4).outputShape()));
            DeviceBuffer d5 = add(tmp, up.backward(v6));
            v6.close();
            d6.close();
            y4.close();
            DeviceBuffer d4 = add(tmp, pw.backward(d5));
            d5.close();
            y3.close();
            DeviceBuffer d3 = add(tmp, def.backward(d4));
            d4.close();
            y2.close();
            DeviceBuffer d2 = add(tmp, dw.backward(d3));
            d3.close();
            y1.close();
            add(tmp, c1.backward(d2)).close();
            d2.close();
            for (var l : List.of(c1, dw, def, pw, up, c3d)) l.sgdStep(LEARNING_RATE);
            engine.synchronize();
        } finally {
            // views first: they are the same memory as the buffers they look at
            for (int i = tmp.size() - 1; i >= 0; i--) tmp.get(i).close();
        }
    }

    private static DeviceBuffer add(List<DeviceBuffer> l, DeviceBuffer b) {
        l.add(b);
        return b;
    }

    /** {@code b}'s memory as a buffer of another shape with the same element count (never frees it). */
    static DeviceBuffer view(ConvEngine engine, DeviceBuffer b, Shape shape) {
        if (shape.elementCount() != b.elementCount()) {
            throw new IllegalArgumentException("shape = " + shape + ": a view keeps the " + b.elementCount() + " elements of " + b.shape());
        }
        Object h = engine.nativeHandle(b);
        ExternalMemory m;
        if (h instanceof FloatBuffer f) m = ExternalMemory.floats(f);
        else if (engine.backendName().equals("opencl")) m = ExternalMemory.clMem(h);
        else m = ExternalMemory.cudaPointer(h);
        return engine.wrap(b.dtype(), shape, m);
    }

    /** Weights and biases of every layer in elements (the SGD's work). */
    long parameters() {
        long n = 0;
        for (ConvSpec s : specs) n += s.weightShape().elementCount() + (s.bias() ? s.outChannels() : 0);
        return n;
    }

    List<ConvSpec> specs() {
        return specs;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                throw new IllegalStateException("closing T1: " + e.getMessage(), e);
            }
        }
    }
}
