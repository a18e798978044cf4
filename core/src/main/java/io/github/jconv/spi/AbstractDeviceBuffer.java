package io.github.jconv.spi;

import io.github.jconv.DType;
import io.github.jconv.Shape;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Shared bookkeeping for backend buffers: dtype, shape, owner, close-once, use-after-close
 * detection and leak tracking through a {@link BufferTracker}.
 */
public abstract class AbstractDeviceBuffer implements DeviceBuffer {
    private final DType dtype;
    private final Shape shape;
    private final ConvBackend owner;
    private final AtomicBoolean closed = new AtomicBoolean();
    private BufferTracker.Registration registration;

    protected AbstractDeviceBuffer(ConvBackend owner, DType dtype, Shape shape) {
        this.owner = owner;
        this.dtype = dtype;
        this.shape = shape;
    }

    /** Call once from the subclass constructor, after the native memory exists. */
    protected final void track(BufferTracker tracker, Runnable free) {
        this.registration = tracker.register(this, byteSize(), free);
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final Shape shape() {
        return shape;
    }

    @Override
    public final ConvBackend owner() {
        return owner;
    }

    @Override
    public final boolean isClosed() {
        return closed.get();
    }

    /** Throws {@link IllegalStateException} after close. */
    public final void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException(owner.name() + " buffer " + dtype + shape + " is closed: allocate a new one");
        }
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true) && registration != null) registration.release();
    }

    @Override
    public String toString() {
        return owner.name() + " " + dtype + shape + (isClosed() ? " (closed)" : "");
    }
}
