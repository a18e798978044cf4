package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.EngineOptions;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.DeviceInfo;
import jcuda.driver.CUdeviceptr;

/**
 * The session's device memory: jconv's own buffers from a caching allocator by size class, zero-filled on every
 * allocation, and the caller's memory wrapped in place (checked with cuMemGetAddressRange, never freed).
 */
final class CudaMemory {
    private final CudaBackend session;
    private final DeviceInfo info;
    private final DeviceContext ctx;
    private final int device;
    private final BufferTracker tracker;
    /** jconv's own buffers by size class, reused after close: no cuMemAlloc once a training step's shapes repeat. */
    private final CachingAllocator<CUdeviceptr> allocator;
    /** What the allocation in progress is for (set under the session's lock), so an out-of-memory names the shape. */
    private String allocating = "allocate";

    CudaMemory(CudaBackend session, DeviceInfo info, DeviceContext ctx, int device, BufferTracker tracker, EngineOptions engineOptions) {
        this.session = session;
        this.info = info;
        this.ctx = ctx;
        this.device = device;
        this.tracker = tracker;
        PrimaryContext primary = ctx.primary;
        this.allocator = new CachingAllocator<>("cuda (" + info.name() + ")", new CachingAllocator.Device<>() {
            @Override
            public CUdeviceptr allocate(Object kind, long bytes) {
                return ctx.alloc(bytes, allocating + " (a block of " + bytes + " bytes)");
            }

            @Override
            public void free(CUdeviceptr p) {
                try {
                    primary.makeCurrent();
                } catch (RuntimeException ignored) { // a closed session's context: the driver frees with it
                }
                jcuda.driver.JCudaDriver.cuMemFree(p);
            }
        }, false, engineOptions);
    }

    DeviceBuffer allocate(DType dtype, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(1, 3, 32, 32)");
        long limit = info.memoryBytes() > 0 ? info.memoryBytes() : Long.MAX_VALUE;
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, limit, "the global memory of " + info.name());
        // guarded: the closed check and the allocation happen under the session's lock, so close() cannot interleave
        try {
            return allocateZeroed(dtype, shape, bytes);
        } catch (CudaOutOfMemoryException e) {
            // Buffers dropped without close hold device memory until the collector finds them: collect once
            // (outside the lock), then try once more; a second refusal is reported as it comes.
            tracker.reclaimUnreachable(2000);
            return allocateZeroed(dtype, shape, bytes);
        }
    }

    private CudaBuffer allocateZeroed(DType dtype, Shape shape, long bytes) {
        return session.guarded(() -> {
            allocating = "allocate " + dtype + shape;
            CachingAllocator.Block<CUdeviceptr> block = allocator.acquire(dtype, Math.max(bytes, 1));
            CUdeviceptr p = block.memory();
            try {
                // zero-filled, as on every backend: unwritten memory reads 0, never a previous buffer's values;
                // a reused block's last kernels were enqueued on this same stream, so they finish before the memset
                ctx.zero(p, Math.max(bytes, 1), "allocate " + dtype + shape);
                CachingAllocator<CUdeviceptr> a = allocator;
                return new CudaBuffer(session, dtype, shape, p, device, false, () -> a.release(block));
            } catch (RuntimeException e) {
                allocator.release(block);
                throw e;
            }
        });
    }

    CachingAllocator<CUdeviceptr> allocator() {
        return allocator;
    }

    /**
     * The caller's device memory (a JCuda CUdeviceptr or a raw address) on this session's device and
     * context, used in place; jconv never frees it. Its allocation must hold at least the buffer's
     * bytes from the pointer on (checked with cuMemGetAddressRange).
     */
    DeviceBuffer wrap(DType dtype, Shape shape, io.github.jconv.spi.ExternalMemory memory) {
        CUdeviceptr p;
        switch (memory.kind()) {
            case CUDA_POINTER -> {
                if (!(memory.handle() instanceof CUdeviceptr d)) {
                    throw memory.unsupportedBy(session.name(), "a jcuda.driver.CUdeviceptr or a raw device address; got " + memory.handle().getClass().getName());
                }
                p = d;
            }
            case CUDA_ADDRESS -> p = DeviceAddress.deviceptr(memory.address());
            default -> throw memory.unsupportedBy(session.name(), "device memory only: ExternalMemory.cudaPointer(CUdeviceptr or address)");
        }
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        long limit = info.memoryBytes() > 0 ? info.memoryBytes() : Long.MAX_VALUE;
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, limit, "the global memory of " + info.name());
        long address = DeviceAddress.of(p);
        long available = session.guarded(() -> {
            CUdeviceptr base = new CUdeviceptr();
            long[] size = new long[1];
            int rc = jcuda.driver.JCudaDriver.cuMemGetAddressRange(base, size, p);
            if (rc != 0) return -1L;
            return DeviceAddress.of(base) + size[0] - address;
        });
        if (available < 0) {
            throw new IllegalArgumentException("memory = " + memory + ": not device memory of this session's context on "
                    + info.name() + " (cuMemGetAddressRange refused it); allocate it with cuMemAlloc in engine.nativeContext()");
        }
        if (available < bytes) {
            throw new IllegalArgumentException("memory = " + memory + ": " + available + " bytes from the pointer to the end of its "
                    + "allocation, less than " + dtype + shape + " needs (" + bytes + " bytes); pass at least " + bytes + " bytes");
        }
        return new CudaBuffer(session, dtype, shape, p, device, true, () -> { });
    }

    /** Frees the cached blocks (the session's close, with its context current). */
    void close() {
        allocator.close();
    }
}
