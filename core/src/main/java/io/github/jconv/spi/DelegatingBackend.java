package io.github.jconv.spi;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.Pass;
import io.github.jconv.Shape;

/**
 * A session that passes every call to another one ({@link #delegate}), for decorators that count,
 * record or plant faults: a subclass overrides only what it changes. The buffers are the delegate's
 * (their owner is the delegate, and {@link #owns} asks it), so a decorator that wants buffers of its own
 * overrides allocation, the transfers, {@link #owns} and {@link #execute} together.
 */
public abstract class DelegatingBackend implements ConvBackend {
    protected final ConvBackend delegate;

    protected DelegatingBackend(ConvBackend delegate) {
        if (delegate == null) throw new IllegalArgumentException("delegate = null: pass the open session to decorate");
        this.delegate = delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public DeviceInfo device() {
        return delegate.device();
    }

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        return delegate.allocate(dtype, shape);
    }

    @Override
    public void write(DeviceBuffer dst, long dstOffset, java.nio.ByteBuffer src) {
        delegate.write(dst, dstOffset, src);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, java.nio.ByteBuffer dst) {
        delegate.read(src, srcOffset, dst);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        delegate.upload(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        delegate.upload(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        delegate.download(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        delegate.download(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        return delegate.supports(spec, pass, dtype);
    }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        delegate.execute(pass, spec, args);
    }

    /**
     * The delegate's {@code executeAll} (so its shared work is kept), unless this decorator overrides
     * {@link #execute}: then the passes go one by one through that override, which sees, counts or maps each
     * of them (a decorator with buffers of its own maps them there).
     */
    @Override
    public void executeAll(java.util.Set<Pass> passes, ConvSpec spec, ConvArgs args) {
        if (OVERRIDES_EXECUTE.get(getClass())) {
            for (Pass p : java.util.EnumSet.copyOf(passes)) execute(p, spec, args);
        } else {
            delegate.executeAll(passes, spec, args);
        }
    }

    /** Whether a class overrides {@link #execute} (found once per class). */
    private static final ClassValue<Boolean> OVERRIDES_EXECUTE = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            try {
                return type.getMethod("execute", Pass.class, ConvSpec.class, ConvArgs.class).getDeclaringClass() != DelegatingBackend.class;
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException("execute(Pass, ConvSpec, ConvArgs) is public in ConvBackend", e);
            }
        }
    };

    @Override
    public String lastAlgorithm() {
        return delegate.lastAlgorithm();
    }

    @Override
    public BufferTracker tracker() {
        return delegate.tracker();
    }

    @Override
    public Capabilities capabilities() {
        return delegate.capabilities();
    }

    @Override
    public boolean owns(DeviceBuffer buffer) {
        return delegate.owns(buffer);
    }

    @Override
    public boolean sgdStep(DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        return delegate.sgdStep(param, grad, learningRate);
    }

    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory memory) {
        return delegate.wrap(dtype, shape, memory);
    }

    @Override
    public Object nativeHandle(DeviceBuffer buffer) {
        return delegate.nativeHandle(buffer);
    }

    @Override
    public long nativeAddress(DeviceBuffer buffer) {
        return delegate.nativeAddress(buffer);
    }

    @Override
    public Object nativeQueue() {
        return delegate.nativeQueue();
    }

    @Override
    public Object nativeContext() {
        return delegate.nativeContext();
    }

    @Override
    public CachingAllocator<?> allocator() {
        return delegate.allocator();
    }

    @Override
    public void synchronize() {
        delegate.synchronize();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + delegate + "]";
    }
}
