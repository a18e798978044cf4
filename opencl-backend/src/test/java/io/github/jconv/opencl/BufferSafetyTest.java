package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.Support;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static io.github.jconv.opencl.OpenClTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 18 items 1, 2, 4, 10 and 15 on the session itself: buffers closed during a call, a session
 * closed during an allocation, byte sizes that overflow, zero-filled allocations and transfer ranges
 * that overflow. Each stress test is bounded to a few seconds.
 */
class BufferSafetyTest {
    private static final ConvSpec SPEC = ConvSpec.parse("mb4ic32ih16oc32kh3ph1");

    /** What a racing thread threw, if it was anything but the IllegalStateException the contract allows. */
    private static void allowOnlyIllegalState(Throwable t, AtomicReference<Throwable> wrong) {
        if (!(t instanceof IllegalStateException)) wrong.compareAndSet(null, t);
    }

    @Test
    void closingAnInputWhileAnotherThreadRunsCallsOnItGivesIllegalStateAndFreesItAfterTheCall() throws Exception {
        try (ConvBackend s = openOrSkip()) {
            Random rnd = new Random(5);
            long baseBuffers = s.tracker().liveBuffers();
            long deadline = System.nanoTime() + 3_000_000_000L;
            int rounds = 0;
            int refused = 0;
            while (System.nanoTime() < deadline || rounds < 3) {
                rounds++;
                DeviceBuffer x = put(s, DType.FP32, SPEC.inputShape(), random(rnd, SPEC.inputShape().elementCount(), -1, 1));
                DeviceBuffer w = put(s, DType.FP32, SPEC.weightShape(), random(rnd, SPEC.weightShape().elementCount(), -1, 1));
                DeviceBuffer b = put(s, DType.FP32, SPEC.biasShape(), random(rnd, SPEC.outChannels(), -1, 1));
                DeviceBuffer y = s.allocate(DType.FP32, SPEC.outputShape());
                AtomicReference<Throwable> wrong = new AtomicReference<>();
                CountDownLatch started = new CountDownLatch(1);
                int[] refusals = new int[1];
                Thread a = new Thread(() -> {
                    started.countDown();
                    for (int i = 0; i < 200; i++) {
                        try {
                            s.execute(Pass.FORWARD, SPEC, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
                        } catch (Throwable t) {
                            allowOnlyIllegalState(t, wrong);
                            refusals[0]++;
                            return;
                        }
                    }
                });
                a.start();
                started.await();
                Thread.sleep(rnd.nextInt(3));
                x.close();
                a.join(30_000);
                assertFalse(a.isAlive(), "the calling thread finished");
                assertNull(wrong.get(), () -> "a call racing a close may only throw IllegalStateException: " + wrong.get());
                refused += refusals[0];
                for (DeviceBuffer d : List.of(w, b, y)) d.close();
                // Every buffer of the round is freed, x included (after the call that had it in use).
                assertEquals(baseBuffers, s.tracker().liveBuffers(), "live buffers after round " + rounds);
            }
            assertTrue(refused > 0, "some call after close was refused with IllegalStateException (" + rounds + " rounds)");
        }
    }

    @Test
    void closingTheSessionWhileAnotherThreadAllocatesGivesIllegalState() throws Exception {
        Random rnd = new Random(7);
        long deadline = System.nanoTime() + 2_000_000_000L;
        int rounds = 0;
        while (System.nanoTime() < deadline || rounds < 3) {
            rounds++;
            ConvBackend s = openOrSkip();
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicInteger refusedThreads = new java.util.concurrent.atomic.AtomicInteger();
            CountDownLatch started = new CountDownLatch(4);
            // Four threads, so that some wait for the session lock while close() holds it.
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread a = new Thread(() -> {
                    started.countDown();
                    for (int i = 0; i < 100_000; i++) {
                        try {
                            // Closed at once, so that no live buffer keeps the context alive after the session's close.
                            s.allocate(DType.FP32, Shape.of(64, 64)).close();
                        } catch (Throwable e) {
                            allowOnlyIllegalState(e, wrong);
                            refusedThreads.incrementAndGet();
                            return;
                        }
                    }
                });
                threads.add(a);
                a.start();
            }
            started.await();
            Thread.sleep(rnd.nextInt(5));
            s.close();
            for (Thread a : threads) {
                a.join(30_000);
                assertFalse(a.isAlive());
            }
            assertNull(wrong.get(), () -> "an allocation racing close may only throw IllegalStateException: " + wrong.get());
            assertEquals(4, refusedThreads.get(), "every allocation after close is refused");
        }
    }

    @Test
    void aShapeWhoseByteSizeOverflowsIsRefusedNamingShapeOverflowAndTheDeviceLimit() {
        try (ConvBackend s = openOrSkip()) {
            // 960382853 * 5 * 960384914 = 4.6e18 elements fits a long; times 4 bytes (1.8e19) does not.
            Shape huge = Shape.of(960382853, 5, 960384914);
            long before = s.tracker().liveBuffers();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.allocate(DType.FP32, huge));
            String m = e.getMessage();
            assertTrue(m.contains("[960382853, 5, 960384914]") && m.contains("overflows") && m.contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE")
                    && m.contains(s.device().properties().get("maxAllocBytes")), m);
            assertEquals(before, s.tracker().liveBuffers(), "nothing was allocated");
            // The same shape as a problem is refused by the spec itself (its FLOPs do not fit a long).
            assertThrows(IllegalArgumentException.class,
                    () -> ConvSpec.convolution().batch(960382853).channels(5, 1).input(960384914).kernel(1).build());
            // A spec the spec rules accept whose FP64 tensors overflow in bytes: 1.5e9 * 960384914 = 1.44e18
            // elements (3 x 2 x that many FLOPs = 8.6e18 fits a long), x 8 bytes = 1.15e19 does not.
            // supports() says no with the reason, it does not throw or wrap around.
            ConvSpec spec = ConvSpec.convolution().batch(1_500_000_000).channels(1, 1).input(960384914).kernel(1).build();
            Support sup = s.supports(spec, Pass.FORWARD, DType.FP64);
            assertFalse(sup.supported());
            assertTrue(sup.reason().contains("overflows"), sup.reason());
        }
    }

    @Test
    void aFreshBufferReadsZerosEvenWhereAPoisonedOneWasJustFreed() {
        try (ConvBackend s = openOrSkip()) {
            Shape shape = Shape.of(64, 64);
            for (int round = 0; round < 20; round++) {
                DeviceBuffer old = poisoned(s, DType.FP32, shape);
                old.close();
                try (DeviceBuffer fresh = s.allocate(DType.FP32, shape)) {
                    double[] v = get(s, fresh);
                    long nonZero = Arrays.stream(v).filter(d -> d != 0 || Double.isNaN(d)).count();
                    assertEquals(0, nonZero, "non-zero values in a fresh buffer, round " + round);
                }
            }
        }
    }

    @Test
    void aDeformableForwardWithAnAllocatedButUnwrittenOffsetEqualsOneWithZeroOffsets() {
        ConvSpec d = ConvSpec.deformable().batch(2).channels(4, 3).input(6, 5).kernel(3).padding(1).build();
        try (ConvBackend s = openOrSkip()) {
            Random rnd = new Random(9);
            double[] xs = random(rnd, d.inputShape().elementCount(), -1, 1);
            double[] ws = random(rnd, d.weightShape().elementCount(), -1, 1);
            double[] bs = random(rnd, d.outChannels(), -1, 1);
            double[] written;
            double[] unwritten;
            try (DeviceBuffer x = put(s, DType.FP32, d.inputShape(), xs); DeviceBuffer w = put(s, DType.FP32, d.weightShape(), ws);
                 DeviceBuffer b = put(s, DType.FP32, d.biasShape(), bs);
                 DeviceBuffer zeros = put(s, DType.FP32, d.offsetShape(), new double[(int) d.offsetShape().elementCount()]);
                 DeviceBuffer y = s.allocate(DType.FP32, d.outputShape())) {
                s.execute(Pass.FORWARD, d, ConvArgs.builder().x(x).w(w).b(b).offset(zeros).y(y).build());
                written = get(s, y);
                poisoned(s, DType.FP32, d.offsetShape()).close(); // leaves NaN in memory a new buffer may get
                try (DeviceBuffer offset = s.allocate(DType.FP32, d.offsetShape())) {
                    s.execute(Pass.FORWARD, d, ConvArgs.builder().x(x).w(w).b(b).offset(offset).y(y).build());
                    unwritten = get(s, y);
                }
            }
            assertArrayEquals(written, unwritten, "an unwritten offset buffer holds zeros");
        }
    }

    @Test
    void aTransferRangeThatOverflowsIsAnIllegalArgumentNotADriverError() {
        try (ConvBackend s = openOrSkip(); DeviceBuffer b = s.allocate(DType.FP32, Shape.of(4))) {
            for (long off : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 2, 3}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.upload(b, off, new float[4], 0, 4));
                assertTrue(e.getMessage().contains("buffer range [" + off), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> s.download(b, off, new double[4], 0, 4));
            }
            IllegalArgumentException nul = assertThrows(IllegalArgumentException.class, () -> s.upload(b, 0, (float[]) null, 0, 4));
            assertTrue(nul.getMessage().contains("null"), nul.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.download(b, 0, (double[]) null, 0, 4));
            IllegalArgumentException nob = assertThrows(IllegalArgumentException.class, () -> s.upload(null, 0, new float[4], 0, 4));
            assertTrue(nob.getMessage().contains("null"), nob.getMessage());
        }
    }
}
