package io.github.jconv.reliability;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.conformance.Reference;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Layers shared by threads, on the CPU backend (the always-present one; the layer code is the same
 * for every backend). Each stress test runs a few seconds at most and fails instead of hanging.
 */
class CpuAndLayerReliabilityTest {
    private static final ConvSpec SPEC = ConvSpec.parse("mb2ic4ih6oc4kh3ph1");

    private static double[] uniform(SplittableRandom r, long n) {
        double[] a = new double[(int) n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextDouble() * 2 - 1;
        return a;
    }

    private static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    private static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void joinOrFail(List<Thread> threads, long millis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
            if (t.isAlive()) fail("thread " + t.getName() + " still runs after " + millis + " ms: a hang");
        }
    }

    private static float[] take(ConvEngine e, DeviceBuffer b) {
        try (b) {
            return e.downloadFloats(b);
        }
    }

    /**
     * 18.12: two threads loop forward, backward and reading the gradients on one shared layer, each
     * with its own x and dy. Every step must give each thread its own dx, dW and dB: the bits of an
     * undisturbed step (the CPU backend is deterministic), which in turn match the FP64 reference.
     * Before the fix a thread's backward used the other thread's forward input, or its gradients
     * were overwritten by the other thread's backward before it read them.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aLayerSharedByTwoThreadsGivesEachThreadItsOwnGradients() throws Exception {
        try (ConvEngine e = Backends.open("cpu");
             ConvLayer layer = new ConvLayer(e, SPEC)) {
            double[] w = widen(layer.weightValues());
            DeviceBuffer[] xs = new DeviceBuffer[2], dys = new DeviceBuffer[2];
            float[][][] good = new float[2][][];
            for (int t = 0; t < 2; t++) {
                SplittableRandom r = new SplittableRandom(100 + t);
                double[] x = uniform(r, SPEC.inputShape().elementCount()), dy = uniform(r, SPEC.outputShape().elementCount());
                xs[t] = e.upload(toFloat(x), SPEC.inputShape());
                dys[t] = e.upload(toFloat(dy), SPEC.outputShape());
                take(e, layer.forward(xs[t]));
                float[] dx = take(e, layer.backward(dys[t]));
                good[t] = new float[][]{dx, e.downloadFloats(layer.gradWeight()), e.downloadFloats(layer.gradBias())};
                // anchor the undisturbed step to the FP64 reference (inputs rounded to float as uploaded)
                Map<Role, double[]> in = Map.of(Role.X, widen(toFloat(x)), Role.W, w, Role.DY, widen(toFloat(dy)));
                check(Reference.run(Pass.BACKWARD_DATA, SPEC, in).get(Role.DX).values(), good[t][0], "dx");
                check(Reference.run(Pass.BACKWARD_WEIGHT, SPEC, in).get(Role.DW).values(), good[t][1], "dw");
                check(Reference.run(Pass.BACKWARD_BIAS, SPEC, in).get(Role.DB).values(), good[t][2], "db");
            }
            AtomicLong wrong = new AtomicLong(), steps = new AtomicLong();
            Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int me = t;
                ts.add(daemon("trainer-" + t, () -> {
                    try {
                        while (System.nanoTime() < end) {
                            take(e, layer.forward(xs[me]));
                            float[] dx = take(e, layer.backward(dys[me]));
                            float[] gw = e.downloadFloats(layer.gradWeight()), gb = e.downloadFloats(layer.gradBias());
                            if (!Arrays.equals(dx, good[me][0]) || !Arrays.equals(gw, good[me][1]) || !Arrays.equals(gb, good[me][2])) {
                                wrong.incrementAndGet();
                            }
                            steps.incrementAndGet();
                        }
                    } catch (Throwable x) {
                        errors.add(x);
                    }
                }));
            }
            joinOrFail(ts, 20_000);
            assertTrue(errors.isEmpty(), "no step may fail: " + errors);
            assertEquals(0, wrong.get(), "steps that got the other thread's input or gradients, of " + steps.get());
            assertTrue(steps.get() > 20, "both threads stepped: " + steps.get());
            for (DeviceBuffer b : xs) b.close();
            for (DeviceBuffer b : dys) b.close();
        }
    }

    private static void check(double[] ref, float[] got, String what) {
        // sums of at most 72 products of values in [-1, 1] (dw: N·oh·ow = 72; dx: oc·kh·kw = 36; db: 72): float error < 1e-4
        for (int i = 0; i < ref.length; i++) assertEquals(ref[i], got[i], 1e-4, what + "[" + i + "] vs the FP64 reference");
    }

    /**
     * Two threads each run 150 steps of forward, backward and sgdStep(lr) on one FP64 layer. The
     * weight gradient does not depend on the weights, so thread t's gradient is the same g_t every
     * step, and after all steps w = w0 − lr·150·(g_0 + g_1) (up to FP64 rounding of 300 updates).
     * An update lost to a race, or a step that applied the other thread's gradient, breaks this.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sgdStepsFromTwoThreadsAreAllAppliedWithTheirOwnGradients() throws Exception {
        int stepsPerThread = 150;
        double lr = 0.01;
        try (ConvEngine e = Backends.open("cpu");
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP64, 5)) {
            double[] w0 = e.downloadDoubles(layer.weight());
            DeviceBuffer[] xs = new DeviceBuffer[2], dys = new DeviceBuffer[2];
            double[] sum = new double[w0.length];
            for (int t = 0; t < 2; t++) {
                SplittableRandom r = new SplittableRandom(200 + t);
                double[] x = uniform(r, SPEC.inputShape().elementCount()), dy = uniform(r, SPEC.outputShape().elementCount());
                xs[t] = e.upload(x, SPEC.inputShape());
                dys[t] = e.upload(dy, SPEC.outputShape());
                double[] g = Reference.run(Pass.BACKWARD_WEIGHT, SPEC, Map.of(Role.X, x, Role.DY, dy)).get(Role.DW).values();
                for (int i = 0; i < g.length; i++) sum[i] += g[i];
            }
            CyclicBarrier go = new CyclicBarrier(2);
            Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int me = t;
                ts.add(daemon("sgd-" + t, () -> {
                    try {
                        go.await();
                        for (int s = 0; s < stepsPerThread; s++) {
                            layer.forward(xs[me]).close();
                            layer.backward(dys[me]).close();
                            layer.sgdStep(lr);
                        }
                    } catch (Throwable x) {
                        errors.add(x);
                    }
                }));
            }
            joinOrFail(ts, 30_000);
            assertTrue(errors.isEmpty(), "no step may fail: " + errors);
            double[] w = e.downloadDoubles(layer.weight());
            for (int i = 0; i < w.length; i++) {
                // each of 300 FP64 updates rounds by at most ~1e-16 relative; 1e-12 leaves a wide margin
                assertEquals(w0[i] - lr * stepsPerThread * sum[i], w[i], 1e-12, "w[" + i + "]");
            }
            for (DeviceBuffer b : xs) b.close();
            for (DeviceBuffer b : dys) b.close();
        }
    }

    /**
     * A thread's backward uses its own forward: a backward on a thread that never ran forward is
     * refused, while a thread that only reads sees the gradients of the latest backward.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void backwardOnAThreadWithoutItsOwnForwardIsRefusedAndReadersSeeTheLatestGradients() throws Exception {
        try (ConvEngine e = Backends.open("cpu");
             ConvLayer layer = new ConvLayer(e, SPEC);
             DeviceBuffer x = e.upload(new float[(int) SPEC.inputShape().elementCount()], SPEC.inputShape());
             DeviceBuffer dy = e.upload(new float[(int) SPEC.outputShape().elementCount()], SPEC.outputShape())) {
            take(e, layer.forward(x));
            take(e, layer.backward(dy));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<DeviceBuffer> seen = new AtomicReference<>();
            Thread other = daemon("other", () -> {
                seen.set(layer.gradWeight());
                try {
                    layer.backward(dy).close();
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            joinOrFail(List.of(other), 10_000);
            assertSame(layer.gradWeight(), seen.get(), "a thread without its own backward reads the latest gradients");
            assertTrue(thrown.get() instanceof IllegalStateException && thrown.get().getMessage().contains("backward before forward on this thread"),
                    "backward without this thread's forward: " + thrown.get());
        }
    }

    /**
     * One thread trains, another only looks (it ran a forward, no backward): the looking thread's
     * gradWeight() is the trainer's, and its sgdStep applies the trainer's gradient (w − 1·dw).
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aThreadThatRanNoBackwardReadsAndAppliesTheTrainersGradients() throws Exception {
        try (ConvEngine e = Backends.open("cpu");
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP64, 3);
             DeviceBuffer x = e.upload(uniform(new SplittableRandom(1), SPEC.inputShape().elementCount()), SPEC.inputShape());
             DeviceBuffer dy = e.upload(uniform(new SplittableRandom(2), SPEC.outputShape().elementCount()), SPEC.outputShape())) {
            layer.forward(x).close(); // this thread has a step, but no gradients of its own
            AtomicReference<DeviceBuffer> trainers = new AtomicReference<>();
            Thread trainer = daemon("trainer", () -> {
                layer.forward(x).close();
                layer.backward(dy).close();
                trainers.set(layer.gradWeight());
            });
            joinOrFail(List.of(trainer), 10_000);
            assertSame(trainers.get(), layer.gradWeight());
            double[] w0 = e.downloadDoubles(layer.weight()), g = e.downloadDoubles(layer.gradWeight());
            layer.sgdStep(1.0);
            double[] w = e.downloadDoubles(layer.weight());
            for (int i = 0; i < w.length; i++) assertEquals(w0[i] - g[i], w[i], "w[" + i + "] = w0 − 1·dw");
            assertTrue(Arrays.stream(g).anyMatch(v -> v != 0), "the trainer's gradient is not zero");
        }
    }

    /**
     * Closing a layer while another thread trains with it: close waits for the call in progress, and
     * every later call throws IllegalStateException naming the closed layer (before: calls failed on
     * buffers freed under them, naming a buffer); the layer's buffers are all freed.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void closingALayerWhileAnotherThreadTrainsWaitsThenFailsLaterCallsClearly() throws Exception {
        try (ConvEngine e = Backends.open("cpu");
             DeviceBuffer x = e.upload(new float[(int) SPEC.inputShape().elementCount()], SPEC.inputShape());
             DeviceBuffer dy = e.upload(new float[(int) SPEC.outputShape().elementCount()], SPEC.outputShape())) {
            long before = e.backend().tracker().liveBuffers();
            for (int trial = 0; trial < 20; trial++) {
                ConvLayer layer = new ConvLayer(e, SPEC);
                AtomicBoolean running = new AtomicBoolean();
                Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
                Thread t = daemon("trainer", () -> {
                    running.set(true);
                    try {
                        while (true) {
                            take(e, layer.forward(x));
                            take(e, layer.backward(dy));
                            layer.sgdStep(0.01f);
                        }
                    } catch (IllegalStateException closed) {
                        if (!closed.getMessage().equals("ConvLayer is closed")) errors.add(closed);
                    } catch (Throwable other) {
                        errors.add(other);
                    }
                });
                while (!running.get()) Thread.onSpinWait();
                Thread.sleep(1 + trial % 4);
                layer.close();
                joinOrFail(List.of(t), 10_000);
                assertTrue(errors.isEmpty(), "after close only 'ConvLayer is closed' may be thrown: " + errors);
                assertEquals(before, e.backend().tracker().liveBuffers(), "the layer and its steps freed every buffer");
            }
        }
    }
}
