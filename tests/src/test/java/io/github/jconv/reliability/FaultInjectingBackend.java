package io.github.jconv.reliability;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.DelegatingBackend;
import io.github.jconv.DeviceBuffer;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test-only decorator: makes the Nth allocation or the Nth launch (execute) fail, so that every
 * operation can be shown to leak nothing and leave the session usable.
 */
final class FaultInjectingBackend extends DelegatingBackend {
    static final String MESSAGE = "injected fault";
    private final ConvBackend inner;
    private final AtomicInteger allocations = new AtomicInteger();
    private final AtomicInteger launches = new AtomicInteger();
    private volatile int failAllocationAt = -1;
    private volatile int failLaunchAt = -1;

    FaultInjectingBackend(ConvBackend inner) {
        super(inner);
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

}
