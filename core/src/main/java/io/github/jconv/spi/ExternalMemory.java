package io.github.jconv.spi;

import io.github.jconv.DeviceBuffer;
import java.nio.FloatBuffer;

/**
 * Memory the caller owns, to be wrapped as a {@link DeviceBuffer} with
 * {@link io.github.jconv.ConvEngine#wrap(io.github.jconv.DType, io.github.jconv.Shape, ExternalMemory)}.
 * jconv never frees it: closing the wrapping buffer only ends jconv's use. The caller keeps it
 * alive (and, for device memory, allocated) until that buffer is closed.
 *
 * <ul>
 *   <li>{@link #floats(float[], int)} and {@link #floats(FloatBuffer)}: host memory for the cpu backend.</li>
 *   <li>{@link #clMem(Object)}: a JOCL {@code cl_mem} made in the engine's context
 *       ({@link io.github.jconv.ConvEngine#nativeContext()}).</li>
 *   <li>{@link #cudaPointer(long)} and {@link #cudaPointer(Object)}: a device address, or a JCuda
 *       {@code CUdeviceptr}, on the engine's device and context.</li>
 * </ul>
 * The types of native handles are {@code Object} here because core depends on no binding; the
 * backend checks them.
 */
public final class ExternalMemory {
    /** What kind of memory. */
    public enum Kind { HOST_FLOATS, CL_MEM, CUDA_ADDRESS, CUDA_POINTER }

    private final Kind kind;
    private final FloatBuffer floats;
    private final Object handle;
    private final long address;

    private ExternalMemory(Kind kind, FloatBuffer floats, Object handle, long address) {
        this.kind = kind;
        this.floats = floats;
        this.handle = handle;
        this.address = address;
    }

    /** {@code array} from element {@code offset} on (FP32). */
    public static ExternalMemory floats(float[] array, int offset) {
        if (array == null) throw new IllegalArgumentException("array = null: pass the caller's float[]");
        if (offset < 0 || offset > array.length) {
            throw new IllegalArgumentException("offset = " + offset + ": must be in 0.." + array.length + " (array.length = "
                    + array.length + "); e.g. offset = 0");
        }
        return new ExternalMemory(Kind.HOST_FLOATS, FloatBuffer.wrap(array).position(offset).slice(), null, 0);
    }

    /** {@code buffer} from its position on (heap or direct; not read-only, since outputs are written to it). */
    public static ExternalMemory floats(FloatBuffer buffer) {
        if (buffer == null) throw new IllegalArgumentException("buffer = null: pass the caller's FloatBuffer");
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("buffer is read-only: jconv writes outputs into wrapped memory; pass a writable "
                    + "FloatBuffer (e.g. FloatBuffer.allocate(n) or ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer())");
        }
        return new ExternalMemory(Kind.HOST_FLOATS, buffer.slice(), null, 0);
    }

    /** A JOCL {@code org.jocl.cl_mem} of the engine's OpenCL context. */
    public static ExternalMemory clMem(Object clMem) {
        if (clMem == null) throw new IllegalArgumentException("clMem = null: pass an org.jocl.cl_mem made in engine.nativeContext()");
        return new ExternalMemory(Kind.CL_MEM, null, clMem, 0);
    }

    /** A raw CUDA device address (e.g. from JavaCPP or another binding) on the engine's device. */
    public static ExternalMemory cudaPointer(long address) {
        if (address == 0) throw new IllegalArgumentException("address = 0: pass a device address from cuMemAlloc/cudaMalloc");
        return new ExternalMemory(Kind.CUDA_ADDRESS, null, null, address);
    }

    /** A JCuda {@code jcuda.driver.CUdeviceptr} on the engine's device. */
    public static ExternalMemory cudaPointer(Object cuDevicePtr) {
        if (cuDevicePtr == null) throw new IllegalArgumentException("cuDevicePtr = null: pass a jcuda.driver.CUdeviceptr from cuMemAlloc");
        return new ExternalMemory(Kind.CUDA_POINTER, null, cuDevicePtr, 0);
    }

    public Kind kind() {
        return kind;
    }

    /** The host floats (HOST_FLOATS), from element 0 of the wrapped range; else null. */
    public FloatBuffer floats() {
        return floats == null ? null : floats.duplicate().clear();
    }

    /** The native handle (CL_MEM, CUDA_POINTER); else null. */
    public Object handle() {
        return handle;
    }

    /** The device address (CUDA_ADDRESS); else 0. */
    public long address() {
        return address;
    }

    /** The message a backend that cannot take {@code this} throws. */
    public IllegalArgumentException unsupportedBy(String backend, String use) {
        return new IllegalArgumentException("memory kind = " + kind + ": the " + backend + " backend wraps " + use);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case HOST_FLOATS -> "host floats[" + floats.capacity() + "]";
            case CL_MEM -> "cl_mem " + handle;
            case CUDA_ADDRESS -> "CUDA address 0x" + Long.toHexString(address);
            case CUDA_POINTER -> "CUdeviceptr " + handle;
        };
    }
}
