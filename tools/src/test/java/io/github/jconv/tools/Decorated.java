package io.github.jconv.tools;

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

/** A real backend with a planted fault run after each pass (to show the probe's checks can fail). */
final class Decorated implements ConvBackend {
    /** What happens after the real pass ran on {@code inner}. */
    interface Fault {
        void after(ConvBackend inner, ConvSpec spec, ConvArgs args);
    }

    private final ConvBackend inner;
    private final Fault afterExecute;
    private final Pass target;

    Decorated(ConvBackend inner, Pass target, Fault afterExecute) {
        this.inner = inner;
        this.target = target;
        this.afterExecute = afterExecute;
    }

    /** Adds 1 to the first element of every output of {@code target}. */
    static Decorated offByOne(ConvBackend inner, Pass target) {
        return new Decorated(inner, target, (b, spec, args) -> {
            for (var e : args.asMap().entrySet()) {
                if (!target.outputs(spec).contains(e.getKey())) continue;
                float[] v = new float[1];
                b.download(e.getValue(), 0, v, 0, 1);
                v[0] += 1;
                b.upload(e.getValue(), 0, v, 0, 1);
            }
        });
    }

    static Decorated throwing(ConvBackend inner, Pass target) {
        return new Decorated(inner, target, (b, spec, args) -> {
            throw new IllegalStateException("planted failure");
        });
    }

    @Override public String name() { return inner.name(); }
    @Override public DeviceInfo device() { return inner.device(); }
    @Override public DeviceBuffer allocate(DType dtype, Shape shape) { return inner.allocate(dtype, shape); }
    @Override public void upload(DeviceBuffer dst, long o, float[] src, int so, int n) { inner.upload(dst, o, src, so, n); }
    @Override public void upload(DeviceBuffer dst, long o, double[] src, int so, int n) { inner.upload(dst, o, src, so, n); }
    @Override public void download(DeviceBuffer src, long o, float[] dst, int d, int n) { inner.download(src, o, dst, d, n); }
    @Override public void download(DeviceBuffer src, long o, double[] dst, int d, int n) { inner.download(src, o, dst, d, n); }
    @Override public Support supports(ConvSpec spec, Pass pass, DType dtype) { return inner.supports(spec, pass, dtype); }
    @Override public String lastAlgorithm() { return inner.lastAlgorithm(); }
    @Override public BufferTracker tracker() { return inner.tracker(); }
    @Override public boolean owns(DeviceBuffer buffer) { return inner.owns(buffer); }
    @Override public void close() { inner.close(); }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        inner.execute(pass, spec, args);
        if (pass == target) afterExecute.after(inner, spec, args);
    }
}
