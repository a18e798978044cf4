package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Learns a 3×3 kernel from a teacher: each step draws random images, lets a layer holding the
 * teacher's weights produce the targets, and takes one SGD step on the mean squared error of the
 * student layer. Both layers run on the engine's backend.
 */
final class Demo {
    /** The Sobel kernel for horizontal gradients, the teacher. */
    static final float[] SOBEL_X = {-1, 0, 1, -2, 0, 2, -1, 0, 1};

    record Step(int step, double loss) {
    }

    record Result(List<Step> losses, float[] learned, float[] teacher, double maxKernelError) {
        double firstLoss() {
            return losses.get(0).loss();
        }

        double lastLoss() {
            return losses.get(losses.size() - 1).loss();
        }
    }

    private Demo() {
    }

    /** Loss is ½·mean((y − t)²), so its gradient in y is (y − t)/M. */
    static Result train(ConvEngine engine, int steps, int batch, int size, float learningRate, long seed) {
        if (steps < 1) throw new IllegalArgumentException("steps = " + steps + ": must be at least 1; e.g. steps = 60");
        if (batch < 1) throw new IllegalArgumentException("batch = " + batch + ": must be at least 1; e.g. batch = 4");
        if (size < 3) throw new IllegalArgumentException("size = " + size + ": must be at least 3 (the kernel); e.g. size = 32");
        ConvSpec spec = ConvSpec.convolution().batch(batch).channels(1, 1).input(size, size).kernel(3).padding(1).bias(false).build();
        SplittableRandom r = new SplittableRandom(seed);
        List<Step> losses = new ArrayList<>();
        try (ConvLayer teacher = new ConvLayer(engine, spec, DType.FP32, seed);
             ConvLayer student = new ConvLayer(engine, spec, DType.FP32, seed + 1)) {
            teacher.setWeight(SOBEL_X);
            int m = (int) spec.inputShape().elementCount();
            float[] x = new float[m];
            for (int step = 1; step <= steps; step++) {
                for (int i = 0; i < m; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
                try (DeviceBuffer xb = engine.upload(x, spec.inputShape());
                     DeviceBuffer tb = teacher.forward(xb);
                     DeviceBuffer yb = student.forward(xb)) {
                    float[] t = engine.downloadFloats(tb);
                    float[] y = engine.downloadFloats(yb);
                    float[] dy = new float[y.length];
                    double loss = 0;
                    for (int i = 0; i < y.length; i++) {
                        double e = (double) y[i] - t[i];
                        loss += e * e;
                        dy[i] = (float) (e / y.length);
                    }
                    losses.add(new Step(step, loss / (2.0 * y.length)));
                    if (!Double.isFinite(loss)) break; // diverged: the caller says so
                    try (DeviceBuffer dyb = engine.upload(dy, spec.outputShape())) {
                        // the first layer's input gradient is not needed: close it at once
                        student.backward(dyb).close();
                        student.sgdStep(learningRate);
                    }
                }
            }
            float[] learned = student.weightValues();
            double err = 0;
            for (int i = 0; i < 9; i++) err = Math.max(err, Math.abs(learned[i] - SOBEL_X[i]));
            return new Result(losses, learned, SOBEL_X.clone(), err);
        }
    }
}
