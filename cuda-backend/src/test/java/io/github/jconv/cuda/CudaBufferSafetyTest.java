package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Issue 18 items 1, 4, 10 and 15 on a GPU (the same guarantees as the OpenCL backend's
 * BufferSafetyTest); skips without one. Written without a GPU: unverified until a GPU run.
 */
class CudaBufferSafetyTest {
    private ProbeResult probe;

    @BeforeEach
    void needsAGpu() {
        probe = new CudaBackendProvider().probe();
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
    }

    private static ConvBackend open() {
        return new CudaBackendProvider().open(0, CudaOptions.defaults());
    }

    @Test
    void aFreshBufferReadsZerosWhereAPoisonedOneWasJustFreed() {
        try (ConvBackend s = open()) {
            Shape shape = Shape.of(64, 64);
            float[] nan = new float[4096];
            Arrays.fill(nan, Float.NaN);
            for (int round = 0; round < 10; round++) {
                DeviceBuffer old = s.allocate(DType.FP32, shape);
                s.upload(old, 0, nan, 0, nan.length);
                old.close();
                try (DeviceBuffer fresh = s.allocate(DType.FP32, shape)) {
                    float[] got = new float[4096];
                    s.download(fresh, 0, got, 0, got.length);
                    assertArrayEquals(new float[4096], got, "round " + round);
                }
            }
        }
    }

    @Test
    void anOverflowingShapeAndAnOverflowingRangeAreIllegalArguments() {
        try (ConvBackend s = open(); DeviceBuffer b = s.allocate(DType.FP32, Shape.of(4))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> s.allocate(DType.FP32, Shape.of(960382853, 5, 960384914)));
            assertTrue(e.getMessage().contains("overflows"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.upload(b, Long.MAX_VALUE, new float[4], 0, 4));
            assertThrows(IllegalArgumentException.class, () -> s.download(b, Long.MAX_VALUE - 2, new float[4], 0, 4));
        }
    }

    @Test
    void closingAnInputDuringAnotherThreadsCallsGivesIllegalState() throws Exception {
        ConvSpec spec = ConvSpec.parse("mb4ic32ih16oc32kh3ph1");
        try (ConvBackend s = open()) {
            for (int round = 0; round < 10; round++) {
                DeviceBuffer x = s.allocate(DType.FP32, spec.inputShape());
                try (DeviceBuffer w = s.allocate(DType.FP32, spec.weightShape()); DeviceBuffer b = s.allocate(DType.FP32, spec.biasShape());
                     DeviceBuffer y = s.allocate(DType.FP32, spec.outputShape())) {
                    AtomicReference<Throwable> wrong = new AtomicReference<>();
                    CountDownLatch started = new CountDownLatch(1);
                    Thread a = new Thread(() -> {
                        started.countDown();
                        for (int i = 0; i < 1000; i++) {
                            try {
                                s.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
                            } catch (IllegalStateException e) {
                                return;
                            } catch (Throwable e) {
                                wrong.compareAndSet(null, e);
                                return;
                            }
                        }
                    });
                    a.start();
                    started.await();
                    Thread.sleep(round % 3);
                    x.close();
                    a.join(60_000);
                    assertNull(wrong.get(), () -> "only IllegalStateException may end the calls: " + wrong.get());
                }
            }
            assertEquals(0, s.tracker().liveBuffers(), "every buffer freed, the closed inputs after their calls");
        }
    }
}
