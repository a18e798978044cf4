package io.github.jconv.training;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.MemoryStats;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs the CPU training loop of docs/training.md (the code of {@link #train} is the doc's, line for
 * line), and checks what it must do: the loss falls, no array is allocated after the first step, and
 * the gradients it applies are those of the loss (finite differences in FP64).
 */
class TrainingLoopDocTest {
    /** The cpu backend, or a skipped test (a failure when JCONV_REQUIRE_BACKENDS lists cpu). */
    @org.junit.jupiter.api.BeforeEach
    void needsTheCpuBackend() {
        boolean here = ConvEngine.providers().stream().anyMatch(p -> p.name().equals("cpu"));
        if (!here && io.github.jconv.equivalence.RequiredBackends.fromEnvironment().contains("cpu")) {
            fail("JCONV_REQUIRE_BACKENDS lists cpu, but the cpu backend is not on the class path");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(here, "the cpu backend is not on the class path (profile backend-cpu off)");
    }
    /** What the doc's loop reports: the loss of every step, and the allocator after step 1 and at the end. */
    record Run(double[] losses, MemoryStats afterFirstStep, MemoryStats atEnd) {
    }

    // ---- the loop of docs/training.md, "A training loop on the CPU" ----
    static Run train(int steps) {
        ConvSpec s1 = ConvSpec.convolution().batch(4).channels(3, 8).input(12, 12).kernel(3).padding(1).build();
        ConvSpec s2 = ConvSpec.convolution().batch(4).channels(8, 1).input(12, 12).kernel(3).padding(1).build();
        SplittableRandom r = new SplittableRandom(1);
        float[] input = new float[(int) s1.inputShape().elementCount()];   // the caller's data
        float[] target = new float[(int) s2.outputShape().elementCount()];
        for (int i = 0; i < input.length; i++) input[i] = (float) r.nextDouble(-1, 1);
        for (int i = 0; i < target.length; i++) target[i] = (float) r.nextDouble(-1, 1);
        float[] grad = new float[target.length];                              // dLoss/dy, the caller's array
        double[] losses = new double[steps];
        MemoryStats afterFirst = null;
        try (ConvEngine engine = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL));
             ConvLayer conv1 = new ConvLayer(engine, s1, DType.FP32, 11);
             ConvLayer conv2 = new ConvLayer(engine, s2, DType.FP32, 12);
             DeviceBuffer x = engine.wrap(input, 0, s1.inputShape());        // no copy: jconv reads input[]
             DeviceBuffer dy = engine.wrap(grad, 0, s2.outputShape())) {     // no copy: jconv reads grad[]
            for (int step = 0; step < steps; step++) {
                try (DeviceBuffer h = conv1.forward(x)) {
                    FloatBuffer hv = (FloatBuffer) engine.nativeHandle(h);  // the caller's ReLU, in place
                    for (int i = 0; i < hv.limit(); i++) hv.put(i, Math.max(0f, hv.get(i)));
                    try (DeviceBuffer y = conv2.forward(h)) {
                        FloatBuffer yv = (FloatBuffer) engine.nativeHandle(y);
                        double loss = 0;                                     // mean squared error
                        for (int i = 0; i < grad.length; i++) {
                            float d = yv.get(i) - target[i];
                            loss += (double) d * d / grad.length;
                            grad[i] = 2 * d / grad.length;
                        }
                        losses[step] = loss;
                        try (DeviceBuffer dh = conv2.backward(dy)) {
                            FloatBuffer dhv = (FloatBuffer) engine.nativeHandle(dh); // ReLU's backward:
                            for (int i = 0; i < dhv.limit(); i++) if (hv.get(i) <= 0) dhv.put(i, 0f); // 0 where it clipped
                            conv1.backward(dh).close();                      // dx of the first layer: not needed
                        }
                    }
                }
                conv1.sgdStep(0.05f);
                conv2.sgdStep(0.05f);
                if (step == 0) afterFirst = engine.memoryStats();
            }
            return new Run(losses, afterFirst, engine.memoryStats());
        }
    }
    // ---- end of the doc's loop ----

    @Test
    void theDocsCpuLoopLearnsAndAllocatesNothingAfterItsFirstStep() {
        Run run = train(25);
        double first = run.losses()[0];
        double last = run.losses()[run.losses().length - 1];
        // the target is noise the model cannot fit exactly, but SGD on the right gradients lowers the loss clearly
        assertTrue(last < 0.8 * first, "loss " + first + " -> " + last);
        for (int i = 1; i < run.losses().length; i++) {
            assertTrue(run.losses()[i] <= run.losses()[i - 1] * 1.0001, "the loss rose at step " + i + ": " + java.util.Arrays.toString(run.losses()));
        }
        assertEquals(run.afterFirstStep().deviceAllocations(), run.atEnd().deviceAllocations(),
                "allocations after the first step: " + run.afterFirstStep() + " then " + run.atEnd());
        assertTrue(run.atEnd().cacheHits() >= 24 * 4, run.atEnd().toString()); // h, y, dh, dx of each later step from the cache
    }

    /**
     * The gradient the loop applies is the derivative of its loss: in FP64, the same two layers and
     * ReLU, dLoss/dW1[k] from conv1's gradWeight against (L(w + ε) − L(w − ε)) / 2ε for a few k. The
     * finite difference uses forward passes only, so it checks backward independently.
     */
    @Test
    void theGradientsAreTheLossesDerivativeByFiniteDifferences() {
        ConvSpec s1 = ConvSpec.convolution().batch(2).channels(2, 3).input(5, 5).kernel(3).padding(1).build();
        ConvSpec s2 = ConvSpec.convolution().batch(2).channels(3, 1).input(5, 5).kernel(3).padding(1).build();
        SplittableRandom r = new SplittableRandom(5);
        double[] input = new double[(int) s1.inputShape().elementCount()];
        double[] target = new double[(int) s2.outputShape().elementCount()];
        for (int i = 0; i < input.length; i++) input[i] = r.nextDouble(-1, 1);
        for (int i = 0; i < target.length; i++) target[i] = r.nextDouble(-1, 1);
        try (ConvEngine engine = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL));
             ConvLayer c1 = new ConvLayer(engine, s1, DType.FP64, 3);
             ConvLayer c2 = new ConvLayer(engine, s2, DType.FP64, 4);
             DeviceBuffer x = engine.upload(input, s1.inputShape())) {
            double[] grad = new double[target.length];
            // backward once at the current weights
            try (DeviceBuffer h = c1.forward(x)) {
                double[] hv = relu(engine, h);
                try (DeviceBuffer y = c2.forward(h)) {
                    double[] yv = engine.downloadDoubles(y);
                    for (int i = 0; i < grad.length; i++) grad[i] = 2 * (yv[i] - target[i]) / grad.length;
                    try (DeviceBuffer dy = engine.upload(grad, s2.outputShape()); DeviceBuffer dh = c2.backward(dy)) {
                        double[] dhv = engine.downloadDoubles(dh);
                        for (int i = 0; i < dhv.length; i++) if (hv[i] <= 0) dhv[i] = 0;
                        engine.upload(dh, 0, dhv, 0, dhv.length);
                        c1.backward(dh).close();
                    }
                }
            }
            double[] dw = engine.downloadDoubles(c1.gradWeight());
            double[] w = c1.weightDoubles();
            double eps = 1e-6;
            for (int k : new int[] {0, 7, 20, w.length - 1}) {
                double[] plus = w.clone();
                plus[k] += eps;
                double[] minus = w.clone();
                minus[k] -= eps;
                c1.setWeight(plus);
                double lp = loss(engine, c1, c2, x, target);
                c1.setWeight(minus);
                double lm = loss(engine, c1, c2, x, target);
                c1.setWeight(w);
                double fd = (lp - lm) / (2 * eps);
                assertEquals(fd, dw[k], 1e-6 * Math.max(1, Math.abs(fd)), "dLoss/dW1[" + k + "]");
            }
        }
    }

    private static double[] relu(ConvEngine e, DeviceBuffer h) {
        double[] v = e.downloadDoubles(h);
        for (int i = 0; i < v.length; i++) v[i] = Math.max(0, v[i]);
        e.upload(h, 0, v, 0, v.length);
        return v;
    }

    private static double loss(ConvEngine e, ConvLayer c1, ConvLayer c2, DeviceBuffer x, double[] target) {
        try (DeviceBuffer h = c1.forward(x)) {
            relu(e, h);
            try (DeviceBuffer y = c2.forward(h)) {
                double[] yv = e.downloadDoubles(y);
                double l = 0;
                for (int i = 0; i < yv.length; i++) l += (yv[i] - target[i]) * (yv[i] - target[i]) / yv.length;
                return l;
            }
        }
    }

    /**
     * Engines in one process are independent: two, each trained from its own thread at the same time,
     * give exactly the losses of one trained alone (the cpu backend is deterministic for a thread count).
     */
    @Test
    void twoEnginesTrainedFromTwoThreadsAtOnceMatchOneAlone() throws Exception {
        double[] alone = train(6).losses();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var a = pool.submit(() -> train(6).losses());
            var b = pool.submit(() -> train(6).losses());
            assertArrayEquals(alone, a.get(60, java.util.concurrent.TimeUnit.SECONDS));
            assertArrayEquals(alone, b.get(60, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }
}
