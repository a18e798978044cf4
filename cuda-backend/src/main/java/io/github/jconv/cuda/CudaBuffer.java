package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import jcuda.driver.CUdeviceptr;

/**
 * Device memory of one CUDA session; it knows its device, and its raw address for cuDNN. Either a
 * block of the session's caching allocator (given back on close) or the caller's memory (wrapped:
 * never freed by jconv).
 */
final class CudaBuffer extends AbstractDeviceBuffer {
    final CUdeviceptr ptr;
    final long address;
    final int device;
    final boolean wrapped;

    /** {@code free} runs once when the buffer is closed or collected; it must not refer to this buffer. */
    CudaBuffer(CudaBackend owner, DType dtype, Shape shape, CUdeviceptr ptr, int device, boolean wrapped, Runnable free) {
        super(owner, dtype, shape);
        this.ptr = ptr;
        this.address = DeviceAddress.of(ptr);
        this.device = device;
        this.wrapped = wrapped;
        track(owner.tracker(), free);
    }

    /** The buffer's memory as a JavaCPP pointer for cuDNN. */
    org.bytedeco.javacpp.Pointer javacpp() {
        return DeviceAddress.javacpp(address);
    }
}
