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
public class ForwardingBackend implements ConvBackend {
    protected final ConvBackend inner;
    private final String name;
    private final BufferTracker tracker;

    public ForwardingBackend(ConvBackend inner, String name) {
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
    public DeviceInfo device() {
        return inner.device();
    }

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        return new Wrapped(this, tracker, inner.allocate(dtype, shape));
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
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        return inner.supports(spec, pass, dtype);
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
    public String lastAlgorithm() {
        return inner.lastAlgorithm();
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    @Override
    public void synchronize() {
        inner.synchronize();
    }

    @Override
    public void close() {
        inner.close();
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
