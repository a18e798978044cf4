package io.github.jconv.spi;

import io.github.jconv.DeviceBuffer;
import io.github.jconv.DType;
import io.github.jconv.Shape;

/**
 * Shared bookkeeping for backend buffers: dtype, shape, owner, close-once, use-after-close
 * detection, leak tracking through a {@link BufferTracker}, and pinning: a backend pins every buffer
 * of a call ({@link #pin()}) and unpins it when the call no longer touches it ({@link #unpin()}). A
 * {@link #close()} from another thread while a buffer is pinned marks it closed at once (later calls
 * get {@link IllegalStateException}) but frees its memory only when the last pin is released, so a
 * running call never sees its memory vanish.
 */
public abstract class AbstractDeviceBuffer implements DeviceBuffer {
    private final DType dtype;
    private final Shape shape;
    private final ConvBackend owner;
    private final long byteSize;
    /** Guarded by {@code this}; {@code closed} is also read without the lock. */
    private volatile boolean closed;
    private int pins;
    private BufferTracker.Registration registration;

    /**
     * Throws {@link IllegalArgumentException} when the byte size of {@code shape} in {@code dtype}
     * overflows a long (a backend refuses such a shape earlier, naming its own limit).
     */
    protected AbstractDeviceBuffer(ConvBackend owner, DType dtype, Shape shape) {
        this.owner = owner;
        this.dtype = dtype;
        this.shape = shape;
        this.byteSize = byteSize(dtype, shape, Long.MAX_VALUE, "a long");
    }

    /**
     * The bytes {@code shape} needs in {@code dtype}, or an {@link IllegalArgumentException} naming the
     * shape, its byte size and {@code limit} when that is larger than {@code limit} or overflows a long.
     * {@code limitName} says what the limit is, e.g. "CL_DEVICE_MAX_MEM_ALLOC_SIZE of device X".
     */
    public static long byteSize(DType dtype, Shape shape, long limit, String limitName) {
        long n = shape.elementCount();
        int size = dtype.bytes();
        if (n > Long.MAX_VALUE / size) {
            throw new IllegalArgumentException("shape = " + shape + ": " + n + " elements of " + dtype + " are a request of "
                    + new java.math.BigInteger(Long.toString(n)).multiply(java.math.BigInteger.valueOf(size))
                    + " bytes, which overflows a long (max " + Long.MAX_VALUE + "); the limit is " + limit + " bytes ("
                    + limitName + "); use smaller dimensions or split the batch");
        }
        long bytes = n * size;
        if (bytes > limit) {
            throw new IllegalArgumentException("shape = " + shape + ": " + n + " elements of " + dtype + " are a request of " + bytes
                    + " bytes, more than " + limit + " bytes (" + limitName + "); use smaller dimensions or split the batch");
        }
        return bytes;
    }

    /** Call once from the subclass constructor, after the native memory exists. */
    protected final void track(BufferTracker tracker, Runnable free) {
        this.registration = tracker.register(this, byteSize, free);
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final Shape shape() {
        return shape;
    }

    /** Element count times the element size, checked at construction (it cannot overflow). */
    @Override
    public final long byteSize() {
        return byteSize;
    }

    @Override
    public final ConvBackend owner() {
        return owner;
    }

    @Override
    public final boolean isClosed() {
        return closed;
    }

    /** Throws {@link IllegalStateException} after close. */
    public final void checkOpen() {
        if (closed) throw closedException();
    }

    private IllegalStateException closedException() {
        return new IllegalStateException((owner == null ? "" : owner.name() + " ") + "buffer " + dtype + shape
                + " is closed: allocate a new one");
    }

    /**
     * Marks the buffer in use by a call; its memory is not freed until the matching {@link #unpin()},
     * even if another thread closes it meanwhile. Throws {@link IllegalStateException} if it is
     * already closed (then nothing is pinned).
     */
    public final synchronized void pin() {
        if (closed) throw closedException();
        pins++;
    }

    /** Releases one {@link #pin()}; the last one frees the memory of a buffer closed meanwhile. */
    public final void unpin() {
        boolean free;
        synchronized (this) {
            if (pins <= 0) throw new IllegalStateException("unpin without pin on " + this);
            pins--;
            free = closed && pins == 0;
        }
        if (free) release();
    }

    /**
     * Closes the buffer: later use throws {@link IllegalStateException}. The memory is freed now, or,
     * while a call on another thread has it pinned, when that call ends. Idempotent.
     */
    @Override
    public final void close() {
        boolean free;
        synchronized (this) {
            if (closed) return;
            closed = true;
            free = pins == 0;
        }
        if (free) release();
    }

    private void release() {
        if (registration != null) registration.release();
    }

    /**
     * Pins every buffer of {@code buffers} (nulls skipped, a buffer given twice pinned twice) and
     * returns a handle that unpins them all; if one is closed, unpins those already pinned and throws
     * {@link IllegalStateException}.
     */
    public static Pins pinAll(Iterable<? extends DeviceBuffer> buffers) {
        Pins p = new Pins();
        try {
            for (DeviceBuffer b : buffers) {
                if (b instanceof AbstractDeviceBuffer a) {
                    a.pin();
                    p.pinned.add(a);
                }
            }
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return p;
    }

    /** What {@link #pinAll} pinned; {@link #close()} unpins each once. */
    public static final class Pins implements AutoCloseable {
        private final java.util.List<AbstractDeviceBuffer> pinned = new java.util.ArrayList<>();

        private Pins() {
        }

        /** Whether a pinned buffer was closed meanwhile (its memory goes when the pins do). */
        public boolean anyClosed() {
            for (AbstractDeviceBuffer b : pinned) if (b.isClosed()) return true;
            return false;
        }

        @Override
        public void close() {
            RuntimeException first = null;
            for (AbstractDeviceBuffer b : pinned) {
                try {
                    b.unpin();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                }
            }
            pinned.clear();
            if (first != null) throw first;
        }
    }

    @Override
    public String toString() {
        return (owner == null ? "" : owner.name() + " ") + dtype + shape + (isClosed() ? " (closed)" : "");
    }
}
