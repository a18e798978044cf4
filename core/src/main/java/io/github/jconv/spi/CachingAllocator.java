package io.github.jconv.spi;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A caching allocator for one session's device memory. A freed block goes to a free list of its
 * size class instead of back to the device; the next request of that class takes it, so a training
 * loop whose shapes repeat stops calling the device's allocator after its first step.
 *
 * <p>Size classes: requests up to 512 bytes take 512; larger ones are rounded up to a step of one
 * eighth of the power of two below them (at least 512), so a block holds at most 12.5% more than it
 * was asked for. A session may ask for exact sizes instead (the CPU backend, whose arrays must have
 * the element count of their shape). Blocks of one class are also told apart by a kind (a dtype),
 * for memory that carries its element type.
 *
 * <p>{@link #emptyCache()} gives the cached blocks back to the device. A limit caps the reserved
 * bytes (in use plus cached): a request over it first empties the cache, then fails with an
 * {@link IllegalStateException} that names the limit. A device refusal also empties the cache and
 * retries once. Thread-safe; the device's allocate and free run under this allocator's lock.
 *
 * <p>Reuse is safe on an in-order queue or stream: the work that last used a block was enqueued
 * before the work of its next owner, so it runs first.
 *
 * @param <M> the device's memory handle
 */
public final class CachingAllocator<M> {
    /** The smallest block, and the rounding step of small requests. */
    public static final long MIN_BLOCK = 512;
    /** Option: a limit in bytes for every session opened afterwards (0 or absent: none); see EngineOptions. */
    public static final String LIMIT_PROPERTY = "jconv.memoryLimitBytes";

    /** What the allocator asks of the device. */
    public interface Device<M> {
        /** New memory of {@code bytes}; throws (any runtime exception) when the device refuses. */
        M allocate(Object kind, long bytes);

        void free(M memory);
    }

    /** A block handed out: its memory, size class and kind. Give it back with {@link #release}. */
    public static final class Block<M> {
        private final M memory;
        private final long bytes;
        private final Object kind;
        private boolean inUse;

        private Block(M memory, long bytes, Object kind) {
            this.memory = memory;
            this.bytes = bytes;
            this.kind = kind;
        }

        public M memory() {
            return memory;
        }

        /** The size class: at least the bytes asked for. */
        public long bytes() {
            return bytes;
        }
    }

    private record Key(Object kind, long bytes) {
    }

    private final String name;
    private final Device<M> device;
    private final boolean exactSizes;
    private final Map<Key, ArrayDeque<Block<M>>> free = new HashMap<>();
    /** Cached blocks, oldest first: what a full cache gives back first. */
    private final ArrayDeque<Block<M>> cachedOrder = new ArrayDeque<>();
    // all guarded by this
    private long limit;
    private long maxCached = Long.MAX_VALUE;
    private long cachedBytes;
    private long allocated;
    private long reserved;
    private long peakAllocated;
    private long peakReserved;
    private long deviceAllocations;
    private long deviceFrees;
    private long cacheHits;
    private long cachedBlocks;
    private boolean closed;

    /** {@code name} appears in messages, e.g. "opencl (pthread-cpu)"; {@code exactSizes} turns size classes off. */
    public CachingAllocator(String name, Device<M> device, boolean exactSizes) {
        this(name, device, exactSizes, io.github.jconv.EngineOptions.fromSystem());
    }

    /** As {@link #CachingAllocator(String, Device, boolean)}, the limit ({@link #LIMIT_PROPERTY}) from {@code options}. */
    public CachingAllocator(String name, Device<M> device, boolean exactSizes, io.github.jconv.EngineOptions options) {
        this.name = name;
        this.device = device;
        this.exactSizes = exactSizes;
        this.limit = Math.max(0, options.number(LIMIT_PROPERTY, 0));
    }

    /** The size class of a request of {@code bytes} (&gt; 0). */
    public static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) return MIN_BLOCK;
        long below = Long.highestOneBit(bytes - 1); // below < bytes <= 2·below
        long step = Math.max(MIN_BLOCK, below / 8);
        long blocks = (bytes + step - 1) / step;
        return blocks * step;
    }

    /** A block of at least {@code bytes} for memory of {@code kind}: a cached one if its class has one, else new. */
    public synchronized Block<M> acquire(Object kind, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("bytes = " + bytes + ": must be positive, e.g. 4");
        if (closed) throw new IllegalStateException(name + ": the allocator is closed with its session; open a new one");
        long cls = exactSizes ? bytes : sizeClass(bytes);
        Key key = new Key(kind, cls);
        ArrayDeque<Block<M>> list = free.get(key);
        Block<M> b = list == null ? null : list.pollLast();
        if (b != null) {
            cacheHits++;
            cachedBlocks--;
            cachedBytes -= b.bytes;
            cachedOrder.remove(b);
        } else {
            if (limit > 0 && reserved + cls > limit) {
                emptyCache();
                if (reserved + cls > limit) {
                    throw new IllegalStateException(name + ": a block of " + cls + " bytes would take the reserved memory to "
                            + (reserved + cls) + " bytes, over the limit of " + limit + " bytes (" + allocated
                            + " bytes in use); close buffers you no longer need, use a smaller batch, or raise the limit "
                            + "(engine.setMemoryLimit, -D" + LIMIT_PROPERTY + "), e.g. to " + (reserved + cls));
                }
            }
            M m;
            try {
                m = device.allocate(kind, cls);
            } catch (RuntimeException | OutOfMemoryError e) {
                if (cachedBlocks == 0) throw e;
                emptyCache(); // the cache may hold what the device lacks: give it back, try once more
                m = device.allocate(kind, cls);
            }
            deviceAllocations++;
            reserved += cls;
            peakReserved = Math.max(peakReserved, reserved);
            b = new Block<>(m, cls, kind);
        }
        b.inUse = true;
        allocated += cls;
        peakAllocated = Math.max(peakAllocated, allocated);
        return b;
    }

    /** Gives a block back: to its class's free list, or to the device once the allocator is closed. Idempotent. */
    public synchronized void release(Block<M> b) {
        if (!b.inUse) return;
        b.inUse = false;
        allocated -= b.bytes;
        if (closed) {
            freeOnDevice(b);
            return;
        }
        free.computeIfAbsent(new Key(b.kind, b.bytes), k -> new ArrayDeque<>()).addLast(b);
        cachedOrder.addLast(b);
        cachedBlocks++;
        cachedBytes += b.bytes;
        trimCache();
    }

    /** Frees the oldest cached blocks while the cache holds more than its cap. */
    private void trimCache() {
        while (cachedBytes > maxCached && !cachedOrder.isEmpty()) {
            Block<M> old = cachedOrder.pollFirst();
            ArrayDeque<Block<M>> l = free.get(new Key(old.kind, old.bytes));
            l.remove(old);
            cachedBlocks--;
            cachedBytes -= old.bytes;
            freeOnDevice(old);
        }
    }

    /**
     * Caps the bytes the cache keeps (blocks not in use); a release over it frees the oldest cached
     * blocks. The cpu backend caps its cache at a quarter of the Java heap, so cached arrays never
     * starve the rest of the program; device backends keep everything until {@link #emptyCache()}.
     */
    public synchronized void setMaxCachedBytes(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("maxCachedBytes = " + bytes + ": must be >= 0 (0 caches nothing), e.g. 1L << 28");
        maxCached = bytes;
        trimCache();
    }

    /** Frees every cached block on the device; blocks in use stay. Returns the bytes freed. */
    public synchronized long emptyCache() {
        long before = reserved;
        List<Block<M>> all = new ArrayList<>();
        for (ArrayDeque<Block<M>> l : free.values()) all.addAll(l);
        free.clear();
        cachedOrder.clear();
        cachedBlocks = 0;
        cachedBytes = 0;
        RuntimeException first = null;
        for (Block<M> b : all) {
            try {
                freeOnDevice(b);
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
        return before - reserved;
    }

    private void freeOnDevice(Block<M> b) {
        reserved -= b.bytes;
        deviceFrees++;
        device.free(b.memory);
    }

    /** Caps the reserved bytes (0: no limit). Lowering it below what is reserved empties the cache. */
    public synchronized void setLimit(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("limit = " + bytes + ": must be >= 0 (0 means no limit), e.g. 1L << 30");
        limit = bytes;
        if (limit > 0 && reserved > limit) emptyCache();
    }

    /** Starts new peak measurements from what is allocated and reserved now. */
    public synchronized void resetPeaks() {
        peakAllocated = allocated;
        peakReserved = reserved;
    }

    public synchronized MemoryStats stats() {
        return new MemoryStats(allocated, reserved, peakAllocated, peakReserved, deviceAllocations, deviceFrees, cacheHits,
                cachedBlocks, limit);
    }

    /** Frees the cache; blocks still in use are freed on the device when released. */
    public synchronized void close() {
        closed = true;
        emptyCache();
    }
}
