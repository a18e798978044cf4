package io.github.jconv.spi;

import io.github.jconv.DeviceBuffer;
import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Pinning, checked byte sizes and the leak summary of {@link AbstractDeviceBuffer} and {@link BufferTracker}. */
class BufferLifecycleTest {
    /** A buffer whose "native memory" is a counter of frees. */
    static final class CountingBuffer extends AbstractDeviceBuffer {
        CountingBuffer(BufferTracker t, AtomicInteger frees, DType dt, Shape shape) {
            super(null, dt, shape);
            track(t, frees::incrementAndGet);
        }
    }

    @Test
    void aBufferClosedWhilePinnedIsClosedAtOnceAndFreedAtTheLastUnpin() {
        BufferTracker t = new BufferTracker("test");
        AtomicInteger frees = new AtomicInteger();
        CountingBuffer b = new CountingBuffer(t, frees, DType.FP32, Shape.of(2, 3));
        b.pin();
        b.pin();
        b.close();
        assertTrue(b.isClosed(), "closed at once");
        assertThrows(IllegalStateException.class, b::pin, "a new call cannot pin a closed buffer");
        assertEquals(0, frees.get(), "not freed while a call has it pinned");
        b.unpin();
        assertEquals(0, frees.get());
        b.unpin();
        assertEquals(1, frees.get(), "freed when the last pin goes");
        assertEquals(0, t.liveBuffers());
        b.close();
        assertEquals(1, frees.get(), "close stays idempotent");
        assertEquals(0, t.leaksReclaimed(), "an explicit close is no leak");
    }

    @Test
    void pinAllPinsNothingWhenOneBufferIsClosed() {
        BufferTracker t = new BufferTracker("test");
        AtomicInteger frees = new AtomicInteger();
        CountingBuffer open = new CountingBuffer(t, frees, DType.FP32, Shape.of(4));
        CountingBuffer closed = new CountingBuffer(t, frees, DType.FP32, Shape.of(4));
        closed.close();
        List<DeviceBuffer> both = new ArrayList<>();
        both.add(open);
        both.add(closed);
        assertThrows(IllegalStateException.class, () -> AbstractDeviceBuffer.pinAll(both));
        open.close();
        assertEquals(2, frees.get(), "the open one was unpinned again, so its close frees it");
    }

    @Test
    void aByteSizeThatOverflowsALongIsRefusedNamingShapeAndLimit() {
        // 960382853 * 5 * 960384914 = 4611686018427387... elements: a long holds them, but not 4 bytes each.
        Shape huge = Shape.of(960382853, 5, 960384914);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AbstractDeviceBuffer.byteSize(DType.FP32, huge, 1L << 30, "the test device's limit"));
        assertTrue(e.getMessage().contains("[960382853, 5, 960384914]") && e.getMessage().contains("overflows")
                && e.getMessage().contains("1073741824") && e.getMessage().contains("the test device's limit"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CountingBuffer(new BufferTracker("t"), new AtomicInteger(), DType.FP32, huge));
        // 2 * 3 elements of 8 bytes = 48 bytes, under a limit of 48 and over one of 47.
        assertEquals(48, AbstractDeviceBuffer.byteSize(DType.FP64, Shape.of(2, 3), 48, "limit"));
        assertThrows(IllegalArgumentException.class, () -> AbstractDeviceBuffer.byteSize(DType.FP64, Shape.of(2, 3), 47, "limit"));
    }

    /** Collects what the tracker logs. */
    static final class Capture implements System.Logger {
        final List<String> lines = new ArrayList<>();

        @Override
        public String getName() {
            return "capture";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public synchronized void log(Level level, java.util.ResourceBundle bundle, String msg, Throwable thrown) {
            lines.add(msg);
        }

        @Override
        public synchronized void log(Level level, java.util.ResourceBundle bundle, String format, Object... params) {
            lines.add(format);
        }

        synchronized List<String> snapshot() {
            return new ArrayList<>(lines);
        }
    }

    private static void dropUnclosed(BufferTracker t, AtomicInteger frees, int n) {
        for (int i = 0; i < n; i++) new CountingBuffer(t, frees, DType.FP32, Shape.of(8)); // 32 bytes each, never closed
    }

    @Test
    void leaksAreReportedAsOneSummaryLinePerIntervalNotOneLineEach() {
        Capture log = new Capture();
        BufferTracker t = new BufferTracker("test", log, 3_600_000_000_000L); // an hour: only flush() ends the interval
        AtomicInteger frees = new AtomicInteger();
        dropUnclosed(t, frees, 200);
        long freed = t.reclaimUnreachable(5_000);
        assertEquals(200, t.leaksReclaimed(), "every dropped buffer was freed by the collection");
        assertEquals(200 * 32, freed);
        assertEquals(200, frees.get());
        List<String> first = log.snapshot();
        assertEquals(1, first.size(), "the first leak is reported at once, the rest wait for the interval: " + first);
        assertTrue(first.get(0).contains("1 buffer of 32 bytes"), first.get(0));
        t.flush();
        List<String> all = log.snapshot();
        assertEquals(2, all.size(), all.toString());
        // 199 buffers of 32 bytes: 6368 bytes in the summary.
        assertTrue(all.get(1).contains("199 buffers of 6368 bytes") && all.get(1).contains("200 so far"), all.get(1));
    }

    @Test
    void reclaimFreesOnlyUnreachableBuffers() {
        BufferTracker t = new BufferTracker("test", new Capture(), 1);
        AtomicInteger frees = new AtomicInteger();
        CountingBuffer kept = new CountingBuffer(t, frees, DType.FP32, Shape.of(8));
        dropUnclosed(t, frees, 10);
        t.reclaimUnreachable(5_000);
        assertEquals(10, frees.get());
        assertEquals(1, t.liveBuffers());
        assertFalse(kept.isClosed());
        kept.close();
        assertEquals(0, t.liveBuffers());
    }
}
