package io.github.jconv.spi;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The caching allocator on a fake device that counts its allocations and frees. */
class CachingAllocatorTest {
    /** A device whose memory is a numbered token; it records what is live and can refuse on demand. */
    static final class FakeDevice implements CachingAllocator.Device<Long> {
        long next = 1;
        final Set<Long> live = new HashSet<>();
        final List<Long> sizes = new ArrayList<>();
        long refuseAbove = Long.MAX_VALUE; // total live bytes the device can hold
        long liveBytes;
        final java.util.Map<Long, Long> bytesOf = new java.util.HashMap<>();

        @Override
        public Long allocate(Object kind, long bytes) {
            if (liveBytes + bytes > refuseAbove) throw new IllegalStateException("fake device: out of memory");
            long id = next++;
            live.add(id);
            sizes.add(bytes);
            bytesOf.put(id, bytes);
            liveBytes += bytes;
            return id;
        }

        @Override
        public void free(Long memory) {
            assertTrue(live.remove(memory), "freed twice or never allocated: " + memory);
            liveBytes -= bytesOf.remove(memory);
        }
    }

    @Test
    void sizeClassesRoundUpByAtMostAnEighth() {
        // by hand: 1 -> 512 (the minimum); 512 -> 512; 513: power below = 512, step = max(512, 64) = 512 -> 1024;
        // 1 MiB + 1: power below = 1 MiB, step = 128 KiB -> 1 MiB + 128 KiB; 3000: below 2048, step 512 -> 3072
        assertEquals(512, CachingAllocator.sizeClass(1));
        assertEquals(512, CachingAllocator.sizeClass(512));
        assertEquals(1024, CachingAllocator.sizeClass(513));
        assertEquals(3072, CachingAllocator.sizeClass(3000));
        assertEquals((1L << 20) + (1L << 17), CachingAllocator.sizeClass((1L << 20) + 1));
        assertEquals(1L << 20, CachingAllocator.sizeClass(1L << 20));
        for (long b = 1; b < 5_000_000; b = b * 3 + 7) {
            long c = CachingAllocator.sizeClass(b);
            assertTrue(c >= b, "class " + c + " of " + b);
            assertTrue(c <= Math.max(512, b + b / 8 + 512), "class " + c + " of " + b + " wastes more than an eighth");
        }
    }

    @Test
    void aRepeatedStepAllocatesOnTheDeviceOnlyOnce() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator<Long> a = new CachingAllocator<>("fake", dev, false);
        long[] step = {4096, 100_000, 4096, 7};
        for (int s = 0; s < 5; s++) {
            List<CachingAllocator.Block<Long>> held = new ArrayList<>();
            for (long b : step) held.add(a.acquire("FP32", b));
            for (CachingAllocator.Block<Long> b : held) a.release(b);
        }
        MemoryStats st = a.stats();
        // the first step makes 4 blocks (two of the same class are both live at once); the next four steps hit the cache
        assertEquals(4, st.deviceAllocations());
        assertEquals(4 * 4, st.cacheHits());
        assertEquals(0, st.allocatedBytes());
        long reserved = 4096 + CachingAllocator.sizeClass(100_000) + 4096 + 512;
        assertEquals(reserved, st.reservedBytes());
        assertEquals(reserved, st.peakAllocatedBytes());
        assertEquals(4, st.cachedBlocks());
        assertEquals(4, dev.live.size());
        assertEquals(reserved, a.emptyCache());
        assertTrue(dev.live.isEmpty());
        assertEquals(0, a.stats().reservedBytes());
    }

    @Test
    void kindsDoNotShareBlocks() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator<Long> a = new CachingAllocator<>("fake", dev, true);
        a.release(a.acquire("FP32", 800));
        CachingAllocator.Block<Long> d = a.acquire("FP64", 800);
        assertEquals(2, a.stats().deviceAllocations());
        assertEquals(800, d.bytes()); // exact sizes
    }

    @Test
    void theLimitCapsReservedBytesAndEmptiesTheCacheFirst() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator<Long> a = new CachingAllocator<>("fake", dev, false);
        a.setLimit(3 * 4096);
        CachingAllocator.Block<Long> x = a.acquire("k", 4096);
        a.release(a.acquire("k", 8192)); // cached: reserved 12288
        // a new class of 4096+... : 5000 -> class 5120; reserved would be 12288 + 5120 > 12288: cache emptied, then 4096 + 5120 fits
        CachingAllocator.Block<Long> y = a.acquire("k", 5000);
        assertEquals(4096 + 5120, a.stats().reservedBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.acquire("k", 8192));
        assertTrue(e.getMessage().contains("limit of 12288"), e.getMessage());
        a.release(x);
        a.release(y);
        assertThrows(IllegalArgumentException.class, () -> a.setLimit(-1));
    }

    @Test
    void aDeviceRefusalEmptiesTheCacheAndRetries() {
        FakeDevice dev = new FakeDevice();
        dev.refuseAbove = 8192;
        CachingAllocator<Long> a = new CachingAllocator<>("fake", dev, false);
        a.release(a.acquire("k", 4096));
        a.release(a.acquire("k", 2048));
        // the device holds 6144; a block of 4608 fits only after the cache is given back
        CachingAllocator.Block<Long> b = a.acquire("k", 4500);
        assertEquals(4608, b.bytes());
        assertEquals(1, dev.live.size());
        assertEquals(0, a.stats().cachedBlocks());
    }

    @Test
    void releaseIsIdempotentAndCloseFreesLaterReleases() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator<Long> a = new CachingAllocator<>("fake", dev, false);
        CachingAllocator.Block<Long> b = a.acquire("k", 100);
        a.release(b);
        a.release(b);
        assertEquals(1, a.stats().cachedBlocks());
        CachingAllocator.Block<Long> c = a.acquire("k", 100);
        assertSame(b.memory(), c.memory());
        a.close();
        assertEquals(1, dev.live.size());
        a.release(c);
        assertTrue(dev.live.isEmpty());
        assertThrows(IllegalStateException.class, () -> a.acquire("k", 1));
    }

    @Test
    void peaksResetToWhatIsHeldNow() {
        CachingAllocator<Long> a = new CachingAllocator<>("fake", new FakeDevice(), false);
        CachingAllocator.Block<Long> big = a.acquire("k", 1 << 20);
        CachingAllocator.Block<Long> small = a.acquire("k", 512);
        a.release(big);
        a.resetPeaks();
        assertEquals(512, a.stats().peakAllocatedBytes());
        assertEquals((1 << 20) + 512, a.stats().peakReservedBytes());
        a.release(small);
    }

    /**
     * Four threads acquire and release blocks of a few sizes for half a second: no block is handed to
     * two holders at once, the counters end where they must (nothing allocated; reserved = what the
     * device holds), and every device block is freed once by emptyCache.
     */
    @Test
    void concurrentAcquireAndReleaseNeverShareABlock() throws Exception {
        FakeDevice dev = new FakeDevice();
        CachingAllocator.Device<Long> synced = new CachingAllocator.Device<>() {
            @Override
            public synchronized Long allocate(Object kind, long bytes) {
                return dev.allocate(kind, bytes);
            }

            @Override
            public synchronized void free(Long memory) {
                dev.free(memory);
            }
        };
        CachingAllocator<Long> a = new CachingAllocator<>("fake", synced, false);
        java.util.Set<Long> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicReference<String> clash = new java.util.concurrent.atomic.AtomicReference<>();
        long end = System.nanoTime() + 500_000_000L;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            Thread th = new Thread(() -> {
                java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
                List<CachingAllocator.Block<Long>> mine = new ArrayList<>();
                while (System.nanoTime() < end) {
                    if (mine.size() < 4 && r.nextBoolean()) {
                        CachingAllocator.Block<Long> b = a.acquire("k", 1000L * (1 + r.nextInt(4)));
                        if (!held.add(b.memory())) clash.set("block " + b.memory() + " handed out twice");
                        mine.add(b);
                    } else if (!mine.isEmpty()) {
                        CachingAllocator.Block<Long> b = mine.remove(r.nextInt(mine.size()));
                        held.remove(b.memory());
                        a.release(b);
                    }
                }
                for (CachingAllocator.Block<Long> b : mine) {
                    held.remove(b.memory());
                    a.release(b);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) th.join(10_000);
        assertNull(clash.get());
        MemoryStats s = a.stats();
        assertEquals(0, s.allocatedBytes(), s.toString());
        assertEquals(dev.liveBytes, s.reservedBytes(), s.toString());
        assertTrue(s.cacheHits() > 0, s.toString());
        a.emptyCache();
        assertTrue(dev.live.isEmpty());
    }

    @Test
    void aCappedCacheFreesItsOldestBlocksFirst() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator<Long> a = new CachingAllocator<>("fake", dev, true);
        a.setMaxCachedBytes(2500);
        CachingAllocator.Block<Long> b1 = a.acquire("k", 1000), b2 = a.acquire("k", 1001), b3 = a.acquire("k", 1002);
        a.release(b1);
        a.release(b2); // cached 2001 <= 2500
        assertEquals(0, a.stats().deviceFrees());
        a.release(b3); // cached 3003 > 2500: b1, the oldest, goes back to the device
        assertEquals(1, a.stats().deviceFrees());
        assertFalse(dev.live.contains(b1.memory()));
        assertTrue(dev.live.contains(b2.memory()) && dev.live.contains(b3.memory()));
        assertEquals(1001 + 1002, a.stats().reservedBytes()); // b2 and b3 stay reserved
        assertSame(b2.memory(), a.acquire("k", 1001).memory()); // still cached
        a.setMaxCachedBytes(0); // caches nothing: b3 goes too
        assertFalse(dev.live.contains(b3.memory()));
        assertEquals(0, a.stats().cachedBlocks());
        assertThrows(IllegalArgumentException.class, () -> a.setMaxCachedBytes(-1));
    }
}
