package io.github.jconv.layer;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.Support;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend for layer tests that stores values exactly as a device would (float for FP32, double
 * for FP64) and computes nothing: execute only counts calls.
 */
final class MemoryBackend implements ConvBackend {
    final BufferTracker tracker = new BufferTracker("memory");
    final AtomicInteger executes = new AtomicInteger();
    /** When set, sgdStep is done "on the device" (here: on the stored arrays) and counted; else the SPI default (false). */
    volatile boolean deviceSgd;
    final AtomicInteger sgdSteps = new AtomicInteger();

    @Override
    public boolean sgdStep(DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        if (!deviceSgd) return ConvBackend.super.sgdStep(param, grad, learningRate);
        Buffer p = (Buffer) param;
        Buffer g = (Buffer) grad;
        if (p.d != null) {
            for (int i = 0; i < p.d.length; i++) p.d[i] -= learningRate * g.d[i];
        } else {
            float lr = (float) learningRate;
            for (int i = 0; i < p.f.length; i++) p.f[i] -= lr * g.f[i];
        }
        sgdSteps.incrementAndGet();
        return true;
    }

    static final class Buffer extends AbstractDeviceBuffer {
        final float[] f;
        final double[] d;

        Buffer(ConvBackend owner, DType dtype, Shape shape, BufferTracker tracker) {
            super(owner, dtype, shape);
            int n = (int) shape.elementCount();
            f = dtype == DType.FP64 ? null : new float[n];
            d = dtype == DType.FP64 ? new double[n] : null;
            track(tracker, () -> { });
        }
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public DeviceInfo device() {
        return new DeviceInfo(0, "memory", "test", 0, 1, Map.of());
    }

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        return new Buffer(this, dtype, shape, tracker);
    }

    /** Bytes of FP32 or FP64 values into the buffer's array (the SPI's typed transfers end here). */
    @Override
    public void write(DeviceBuffer dst, long dstOffset, java.nio.ByteBuffer src) {
        Buffer b = (Buffer) dst;
        b.checkOpen();
        int n = (int) io.github.jconv.spi.HostValues.checkBytes("dst", b, dstOffset, src);
        if (b.f != null) src.asFloatBuffer().get(b.f, (int) dstOffset, n);
        else src.asDoubleBuffer().get(b.d, (int) dstOffset, n);
        src.position(src.limit());
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, java.nio.ByteBuffer dst) {
        Buffer b = (Buffer) src;
        b.checkOpen();
        int n = (int) io.github.jconv.spi.HostValues.checkBytes("src", b, srcOffset, dst);
        if (b.f != null) dst.asFloatBuffer().put(b.f, (int) srcOffset, n);
        else dst.asDoubleBuffer().put(b.d, (int) srcOffset, n);
        dst.position(dst.limit());
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        return Support.yes();
    }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        executes.incrementAndGet();
    }

    @Override
    public String lastAlgorithm() {
        return "none";
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    @Override
    public void close() {
    }
}
