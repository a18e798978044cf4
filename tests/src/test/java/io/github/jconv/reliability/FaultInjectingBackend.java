package io.github.jconv.reliability;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.Support;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test-only decorator: makes the Nth allocation or the Nth launch (execute) fail, so that every
 * operation can be shown to leak nothing and leave the session usable.
 */
final class FaultInjectingBackend implements ConvBackend {
    static final String MESSAGE = "injected fault";
    private final ConvBackend inner;
    private final AtomicInteger allocations = new AtomicInteger();
    private final AtomicInteger launches = new AtomicInteger();
    private volatile int failAllocationAt = -1;
    private volatile int failLaunchAt = -1;

    FaultInjectingBackend(ConvBackend inner) {
        this.inner = inner;
    }

    /** The n-th allocation from now (1-based) throws; -1 never. */
    void failAllocation(int n) {
        allocations.set(0);
        failAllocationAt = n;
    }

    /** The n-th execute from now (1-based) throws; -1 never. */
    void failLaunch(int n) {
        launches.set(0);
        failLaunchAt = n;
    }

    void heal() {
        failAllocationAt = -1;
        failLaunchAt = -1;
    }

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        if (allocations.incrementAndGet() == failAllocationAt) {
            throw new IllegalStateException(MESSAGE + ": allocation " + failAllocationAt + " of " + dtype + shape);
        }
        return inner.allocate(dtype, shape);
    }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        if (launches.incrementAndGet() == failLaunchAt) {
            throw new IllegalStateException(MESSAGE + ": launch " + failLaunchAt + " (" + pass + " of " + spec + ")");
        }
        inner.execute(pass, spec, args);
    }

    @Override public String name() { return inner.name(); }
    @Override public DeviceInfo device() { return inner.device(); }
    @Override public void upload(DeviceBuffer dst, long o, float[] src, int so, int n) { inner.upload(dst, o, src, so, n); }
    @Override public void upload(DeviceBuffer dst, long o, double[] src, int so, int n) { inner.upload(dst, o, src, so, n); }
    @Override public void download(DeviceBuffer src, long o, float[] dst, int d, int n) { inner.download(src, o, dst, d, n); }
    @Override public void download(DeviceBuffer src, long o, double[] dst, int d, int n) { inner.download(src, o, dst, d, n); }
    @Override public Support supports(ConvSpec spec, Pass pass, DType dtype) { return inner.supports(spec, pass, dtype); }
    @Override public String lastAlgorithm() { return inner.lastAlgorithm(); }
    @Override public BufferTracker tracker() { return inner.tracker(); }
    @Override public boolean threadSafe() { return inner.threadSafe(); }
    @Override public boolean owns(DeviceBuffer b) { return inner.owns(b); }
    @Override public void synchronize() { inner.synchronize(); }
    @Override public void close() { inner.close(); }
}
