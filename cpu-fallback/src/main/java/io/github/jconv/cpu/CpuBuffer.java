package io.github.jconv.cpu;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ConvBackend;

import java.nio.FloatBuffer;

/**
 * A heap array: float[] for FP32, double[] for FP64. Allocated buffers take their array from the
 * session's caching allocator and give it back on close. A wrapped buffer uses the caller's
 * float[] in place when it is exactly the buffer (offset 0, length = element count); otherwise
 * ({@link #external} set) the caller's memory is the truth: transfers read and write it directly,
 * and a call copies it into {@link #floats} before running and copies outputs back after.
 */
final class CpuBuffer extends AbstractDeviceBuffer {
    final float[] floats;
    final double[] doubles;
    /** The caller's memory when it cannot be used in place, else null. */
    final FloatBuffer external;
    /** Whether the memory is the caller's (never returned to the allocator). */
    final boolean wrapped;

    /** An allocated buffer: its array comes from {@code allocator} (zero-filled) and goes back on close. */
    CpuBuffer(ConvBackend owner, DType dtype, Shape shape, int length, BufferTracker tracker, CachingAllocator<Object> allocator) {
        super(owner, dtype, shape);
        long bytes = (long) length * dtype.bytes();
        CachingAllocator.Block<Object> block = allocator.acquire(dtype, bytes);
        Object m = block.memory();
        if (dtype == DType.FP32) {
            this.floats = (float[]) m;
            this.doubles = null;
            java.util.Arrays.fill(floats, 0f); // a reused array: zero it, as a fresh one is
        } else {
            this.floats = null;
            this.doubles = (double[]) m;
            java.util.Arrays.fill(doubles, 0d);
        }
        this.external = null;
        this.wrapped = false;
        track(tracker, () -> allocator.release(block));
    }

    /** A wrapped FP32 buffer over {@code memory} (at least {@code length} floats from index 0). */
    CpuBuffer(ConvBackend owner, Shape shape, int length, FloatBuffer memory, BufferTracker tracker) {
        super(owner, DType.FP32, shape);
        boolean inPlace = memory.hasArray() && memory.arrayOffset() == 0 && memory.array().length == length;
        this.floats = inPlace ? memory.array() : new float[length];
        this.doubles = null;
        this.external = inPlace ? null : memory;
        this.wrapped = true;
        track(tracker, () -> { }); // the caller's memory: nothing to free
    }

    /** Before a call: the caller's values into the staging array. */
    void pullIn() {
        if (external != null) external.get(0, floats, 0, floats.length);
    }

    /** After a call that wrote this buffer: the staging array back into the caller's memory. */
    void pushOut() {
        if (external != null) external.put(0, floats, 0, floats.length);
    }

    /** The values as a FloatBuffer the caller may read and write (the caller's own for a wrapped one). */
    FloatBuffer view() {
        checkOpen();
        if (external != null) return external.duplicate().clear().limit(floats.length);
        if (floats == null) throw new IllegalArgumentException("buffer " + this + " is FP64: a native handle is a FloatBuffer, FP32 only");
        return FloatBuffer.wrap(floats);
    }

    float[] f() {
        checkOpen();
        return floats;
    }

    double[] d() {
        checkOpen();
        return doubles;
    }
}
