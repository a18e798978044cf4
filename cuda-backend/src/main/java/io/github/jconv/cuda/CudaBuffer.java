package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** Device memory of one CUDA session; it knows its device, and its raw address for cuDNN. */
final class CudaBuffer extends AbstractDeviceBuffer {
    final CUdeviceptr ptr;
    final long address;
    final int device;

    CudaBuffer(CudaBackend owner, DType dtype, Shape shape, CUdeviceptr ptr, int device) {
        super(owner, dtype, shape);
        this.ptr = ptr;
        this.address = DeviceAddress.of(ptr);
        this.device = device;
        PrimaryContext primary = owner.context().primary;
        // the free action holds the pointer and the context, never the buffer (or the Cleaner could not run)
        track(owner.tracker(), () -> {
            try {
                primary.makeCurrent();
            } catch (RuntimeException ignored) { // a closed session's context: the driver frees with it
            }
            JCudaDriver.cuMemFree(ptr);
        });
    }

    /** The buffer's memory as a JavaCPP pointer for cuDNN. */
    org.bytedeco.javacpp.Pointer javacpp() {
        return DeviceAddress.javacpp(address);
    }
}
