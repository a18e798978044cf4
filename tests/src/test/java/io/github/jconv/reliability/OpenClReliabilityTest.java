package io.github.jconv.reliability;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 18 items 1 and 10 through the engine, on every backend present: a buffer or a layer closed
 * while another thread's call uses it gives that thread IllegalStateException, never a crash; an
 * allocated buffer reads zeros everywhere. docs/reliability.md, "Buffers, closing and memory under threads".
 */
class OpenClReliabilityTest {
    private static final ConvSpec SPEC = ConvSpec.parse("mb4ic32ih16oc32kh3ph1");

    static List<String> backends() {
        return Backends.names();
    }

    private static float[] random(SplittableRandom r, long n) {
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    /** Runs {@code body} on another thread until it throws; only IllegalStateException may end it. */
    private static Thread caller(Runnable body, AtomicReference<Throwable> wrong, AtomicInteger refused, CountDownLatch started) {
        Thread t = new Thread(() -> {
            started.countDown();
            for (int i = 0; i < 1000; i++) {
                try {
                    body.run();
                } catch (IllegalStateException e) {
                    refused.incrementAndGet();
                    return;
                } catch (Throwable e) {
                    wrong.compareAndSet(null, e);
                    return;
                }
            }
        });
        t.start();
        return t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void closingAnInputWhileAnotherThreadRunsForwardOnItGivesIllegalState(String name) throws Exception {
        try (ConvEngine e = Backends.open(name)) {
            SplittableRandom r = new SplittableRandom(1);
            long live = e.backend().tracker().liveBuffers();
            int refusedRounds = 0;
            for (int round = 0; round < 10; round++) {
                DeviceBuffer x = e.upload(random(r, SPEC.inputShape().elementCount()), SPEC.inputShape());
                try (DeviceBuffer w = e.upload(random(r, SPEC.weightShape().elementCount()), SPEC.weightShape());
                     DeviceBuffer b = e.upload(random(r, SPEC.outChannels()), SPEC.biasShape())) {
                    AtomicReference<Throwable> wrong = new AtomicReference<>();
                    AtomicInteger refused = new AtomicInteger();
                    CountDownLatch started = new CountDownLatch(1);
                    Thread a = caller(() -> e.forward(SPEC, x, w, b).close(), wrong, refused, started);
                    started.await();
                    Thread.sleep(r.nextInt(3));
                    x.close();
                    a.join(60_000);
                    assertFalse(a.isAlive());
                    assertNull(wrong.get(), () -> name + ": a forward racing close may only throw IllegalStateException: " + wrong.get());
                    refusedRounds += refused.get();
                }
                assertEquals(live, e.backend().tracker().liveBuffers(), name + ": x is freed once the call that used it ends");
            }
            assertTrue(refusedRounds > 0, name + ": forward after close was refused");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void closingALayerWhileAnotherThreadRunsItGivesIllegalState(String name) throws Exception {
        try (ConvEngine e = Backends.open(name)) {
            SplittableRandom r = new SplittableRandom(2);
            for (int round = 0; round < 10; round++) {
                ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 3);
                try (DeviceBuffer x = e.upload(random(r, SPEC.inputShape().elementCount()), SPEC.inputShape())) {
                    AtomicReference<Throwable> wrong = new AtomicReference<>();
                    AtomicInteger refused = new AtomicInteger();
                    CountDownLatch started = new CountDownLatch(1);
                    Thread a = caller(() -> layer.forward(x).close(), wrong, refused, started);
                    started.await();
                    Thread.sleep(r.nextInt(3));
                    layer.close();
                    a.join(60_000);
                    assertFalse(a.isAlive());
                    assertNull(wrong.get(), () -> name + ": a layer call racing close may only throw IllegalStateException: " + wrong.get());
                    assertEquals(1, refused.get(), name + ": the call after close was refused");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void anAllocatedBufferReadsZerosOnEveryBackend(String name) {
        try (ConvEngine e = Backends.open(name)) {
            Shape s = Shape.of(16, 256);
            for (int round = 0; round < 10; round++) {
                float[] nan = new float[(int) s.elementCount()];
                java.util.Arrays.fill(nan, Float.NaN);
                e.upload(nan, s).close(); // memory a later allocation may be given
                try (DeviceBuffer b = e.allocate(DType.FP32, s)) {
                    float[] got = e.downloadFloats(b);
                    assertArrayEquals(new float[got.length], got, name + ": round " + round);
                }
            }
        }
    }
}
