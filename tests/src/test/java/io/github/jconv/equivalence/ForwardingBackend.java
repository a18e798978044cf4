package io.github.jconv.equivalence;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DelegatingBackend;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;
import io.github.jconv.spi.Support;

import java.util.Map;
import java.util.function.Function;

/**
 * A session that passes everything to another one, with its own buffers (so the engine sees this
 * session as their owner). Subclasses change {@link #run} to plant faults or record calls.
 */
public class ForwardingBackend extends DelegatingBackend {
    protected final ConvBackend inner;
    private final String name;
    private final BufferTracker tracker;

    public ForwardingBackend(ConvBackend inner, String name) {
        super(inner);
        this.inner = inner;
        this.name = name;
        this.tracker = new BufferTracker(name);
    }

    /** A buffer of this session around one of the inner session's. */
    static final class Wrapped extends AbstractDeviceBuffer {
        final DeviceBuffer inner;

        Wrapped(ConvBackend owner, BufferTracker tracker, DeviceBuffer inner) {
            super(owner, inner.dtype(), inner.shape());
            this.inner = inner;
            track(tracker, inner::close);
        }
    }

    protected final DeviceBuffer unwrap(DeviceBuffer b) {
        Wrapped w = (Wrapped) b;
        w.checkOpen();
        return w.inner;
    }

    /** The same roles, with the inner session's buffers. */
    protected final ConvArgs unwrap(ConvArgs args) {
        ConvArgs.Builder b = ConvArgs.builder();
        for (Map.Entry<Role, DeviceBuffer> e : args.asMap().entrySet()) b.put(e.getKey(), unwrap(e.getValue()));
        return b.build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        return new Wrapped(this, tracker, inner.allocate(dtype, shape));
    }

    @Override
    public void write(DeviceBuffer dst, long dstOffset, java.nio.ByteBuffer src) {
        inner.write(unwrap(dst), dstOffset, src);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, java.nio.ByteBuffer dst) {
        inner.read(unwrap(src), srcOffset, dst);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        inner.upload(unwrap(dst), dstOffset, src, srcOffset, length);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        inner.upload(unwrap(dst), dstOffset, src, srcOffset, length);
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        inner.download(unwrap(src), srcOffset, dst, dstOffset, length);
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        inner.download(unwrap(src), srcOffset, dst, dstOffset, length);
    }

    @Override
    public final void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        run(pass, spec, unwrap(args));
    }

    /** Runs the pass on the inner session's buffers; override to change what happens. */
    protected void run(Pass pass, ConvSpec spec, ConvArgs innerArgs) {
        inner.execute(pass, spec, innerArgs);
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    /** The buffers are this session's own wrappers. */
    @Override
    public boolean owns(DeviceBuffer buffer) {
        return buffer.owner() == this;
    }

    /** No device step: the layers step on the host through this session's transfers. */
    @Override
    public boolean sgdStep(DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        return false;
    }

    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory memory) {
        throw new UnsupportedOperationException("the " + name + " backend does not wrap caller memory; upload the values instead");
    }

    @Override
    public Object nativeHandle(DeviceBuffer buffer) {
        return inner.nativeHandle(unwrap(buffer));
    }

    @Override
    public long nativeAddress(DeviceBuffer buffer) {
        return inner.nativeAddress(unwrap(buffer));
    }

    /** None: the inner session's allocator counts the inner buffers, not this session's. */
    @Override
    public CachingAllocator<?> allocator() {
        return null;
    }

    /** A provider that opens {@code base}'s session wrapped by {@code wrap}; it probes as {@code base} does. */
    public static ConvBackendProvider provider(ConvBackendProvider base, String name, Function<ConvBackend, ConvBackend> wrap) {
        return new ConvBackendProvider() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public int priority() {
                return 0;
            }

            @Override
            public ProbeResult probe() {
                return base.probe();
            }

            @Override
            public ConvBackend open(int deviceIndex) {
                return wrap.apply(base.open(deviceIndex));
            }
        };
    }
}
