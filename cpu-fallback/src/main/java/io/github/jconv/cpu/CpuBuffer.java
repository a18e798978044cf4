package io.github.jconv.cpu;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.ConvBackend;

/** A heap array: float[] for FP32, double[] for FP64. The garbage collector frees it. */
final class CpuBuffer extends AbstractDeviceBuffer {
    final float[] floats;
    final double[] doubles;

    CpuBuffer(ConvBackend owner, DType dtype, Shape shape, int length, io.github.jconv.spi.BufferTracker tracker) {
        super(owner, dtype, shape);
        this.floats = dtype == DType.FP32 ? new float[length] : null;
        this.doubles = dtype == DType.FP64 ? new double[length] : null;
        // Nothing native to free: the arrays go with the buffer; the tracker still counts it.
        track(tracker, () -> { });
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
