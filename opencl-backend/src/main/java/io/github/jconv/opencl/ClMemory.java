package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.EngineOptions;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ExternalMemory;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_mem;

import static org.jocl.CL.*;

/**
 * A session's device memory: user buffers from a caching allocator (zero-filled), wrapped cl_mems,
 * the column scratch, temporaries, and the never-read buffer that stands for an absent bias or mask.
 */
final class ClMemory {
    /** How long a refused allocation waits for the Cleaner to free buffers dropped without close. */
    private static final long RECLAIM_WAIT_MILLIS = 2000;

    private final ClContext cl;
    private final OpenClSession owner;
    private final BufferTracker tracker;
    /** jconv's own buffers: cl_mems by size class, reused after close. */
    private final CachingAllocator<cl_mem> allocator;
    /** Kernels take a buffer for an absent bias or mask; this one is never read (has_* = 0). */
    final cl_mem dummy;
    private cl_mem scratch;
    private long scratchBytes;

    ClMemory(ClContext cl, OpenClSession owner, BufferTracker tracker, EngineOptions engineOptions) {
        this.cl = cl;
        this.owner = owner;
        this.tracker = tracker;
        this.dummy = clCreateBuffer(cl.context, CL_MEM_READ_WRITE, 16, null, null);
        this.allocator = new CachingAllocator<>("opencl (" + cl.info.name() + ")", new CachingAllocator.Device<>() {
            @Override
            public cl_mem allocate(Object kind, long bytes) {
                long budget = OpenClSession.testBudgetBytes;
                if (budget > 0 && allocator.stats().reservedBytes() + bytes > budget) {
                    throw new CLException("CL_MEM_OBJECT_ALLOCATION_FAILURE (the test budget of " + budget + " bytes is spent)",
                            CL_MEM_OBJECT_ALLOCATION_FAILURE);
                }
                return clCreateBuffer(cl.context, CL_MEM_READ_WRITE, bytes, null, null);
            }

            @Override
            public void free(cl_mem memory) {
                clReleaseMemObject(memory); // OpenCL defers the free until queued kernels that use it finish
            }
        }, false, engineOptions);
    }

    CachingAllocator<cl_mem> allocator() {
        return allocator;
    }

    DeviceBuffer allocate(DType dtype, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(1, 3, 32, 32)");
        cl.checkOpen();
        storable(dtype);
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, cl.dev.maxAllocBytes(), maxAllocName());
        try {
            return create(dtype, shape, bytes);
        } catch (CLException first) {
            // Buffers dropped without close hold device memory until the collector finds them: let it run once
            // (outside the lock, so other calls go on), then try once more.
            long freed = tracker.reclaimUnreachable(RECLAIM_WAIT_MILLIS);
            try {
                return create(dtype, shape, bytes);
            } catch (CLException e) {
                throw new IllegalStateException("OpenCL could not allocate " + bytes + " bytes for " + dtype + shape + " on "
                        + cl.info.name() + " (" + e.getMessage() + ", also after a garbage collection that freed " + freed
                        + " bytes of unclosed buffers; global memory " + cl.dev.globalMemBytes() + " bytes, live "
                        + tracker.liveBytes() + " bytes in " + tracker.liveBuffers() + " buffers of this session); close "
                        + "buffers you no longer need or split the batch", e);
            }
        }
    }

    private static void storable(DType dtype) {
        if (dtype == DType.BF16) {
            throw new IllegalArgumentException("dtype = " + dtype + ": the OpenCL backend stores FP32, FP64 and FP16; e.g. DType.FP32");
        }
    }

    private String maxAllocName() {
        return "this device's largest allocation, CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + cl.dev.maxAllocBytes() + " on " + cl.info.name()
                + "; global memory " + cl.dev.globalMemBytes() + " bytes";
    }

    /** A zero-filled buffer (cpu allocates zeros too, so unwritten memory reads the same on every backend). */
    private ClBuffer create(DType dtype, Shape shape, long bytes) {
        synchronized (cl.lock) {
            // Checked under the lock: close() releases the context under it, so a create can never see a freed one.
            cl.checkOpen();
            // A reused block may hold an earlier buffer's values: zero it too. The in-order queue runs the
            // fill after every kernel already enqueued with that block's previous owner.
            CachingAllocator.Block<cl_mem> block = allocator.acquire(dtype, bytes);
            try {
                // FP32 and FP64 sizes are multiples of 4 and FP16 sizes of 2: a zero pattern of that many bytes covers the buffer.
                if (bytes % Sizeof.cl_int == 0) {
                    clEnqueueFillBuffer(cl.queue, block.memory(), Pointer.to(new int[] {0}), Sizeof.cl_int, 0, bytes, 0, null, null);
                } else {
                    clEnqueueFillBuffer(cl.queue, block.memory(), Pointer.to(new short[] {0}), Sizeof.cl_short, 0, bytes, 0, null, null);
                }
                CachingAllocator<cl_mem> a = allocator;
                return new ClBuffer(owner, dtype, shape, block.memory(), false, () -> a.release(block));
            } catch (RuntimeException | Error e) {
                allocator.release(block);
                throw e;
            }
        }
    }

    /** A caller's cl_mem of this context, used in place and never released by jconv. */
    DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory memory) {
        cl.checkOpen();
        if (memory.kind() != ExternalMemory.Kind.CL_MEM || !(memory.handle() instanceof cl_mem m)) {
            throw memory.unsupportedBy(owner.name(), "a JOCL cl_mem only: ExternalMemory.clMem(mem), made in engine.nativeContext()");
        }
        storable(dtype);
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, cl.dev.maxAllocBytes(), maxAllocName());
        long size;
        cl_context ctx = new cl_context();
        try {
            long[] v = new long[1];
            clGetMemObjectInfo(m, CL_MEM_SIZE, Sizeof.size_t, Pointer.to(v), null);
            size = v[0];
            clGetMemObjectInfo(m, CL_MEM_CONTEXT, Sizeof.cl_context, Pointer.to(ctx), null);
        } catch (CLException e) {
            throw new IllegalArgumentException("clMem = " + m + ": not a valid OpenCL memory object (" + e.getMessage()
                    + "); pass a live cl_mem made with clCreateBuffer in engine.nativeContext()", e);
        }
        if (!ctx.equals(cl.context)) {
            throw new IllegalArgumentException("clMem = " + m + ": belongs to context " + ctx + ", not this session's "
                    + cl.context + "; create it in engine.nativeContext()");
        }
        if (size < bytes) {
            throw new IllegalArgumentException("clMem of " + size + " bytes is smaller than " + dtype + shape + " (" + bytes
                    + " bytes); pass a cl_mem of at least " + bytes + " bytes");
        }
        return new ClBuffer(owner, dtype, shape, m, true, () -> { });
    }

    /** {@code buf} as a buffer of this session, open; {@code role} names it in the error. */
    ClBuffer own(DeviceBuffer buf, String role) {
        if (buf == null) throw new IllegalArgumentException(role + " = null: pass a buffer of this session");
        if (!(buf instanceof ClBuffer b) || b.owner() != owner) {
            throw new IllegalArgumentException(role + " = " + buf + ": belongs to another session; allocate it with this one");
        }
        b.checkOpen();
        return b;
    }

    /** The session's scratch buffer, grown to at least {@code bytes}; only used under the lock, on the in-order queue. */
    cl_mem scratch(long bytes) {
        if (scratch == null || scratchBytes < bytes) {
            if (bytes > cl.dev.maxAllocBytes()) {
                throw new UnsupportedOperationException("the column matrix of one batch item needs " + bytes
                        + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + cl.dev.maxAllocBytes() + "; use -D"
                        + Algorithms.MODE_PROPERTY + "=direct or a smaller problem");
            }
            // Released after the queued kernels that use it finish (OpenCL defers the free).
            if (scratch != null) clReleaseMemObject(scratch);
            scratch = null;
            scratch = clCreateBuffer(cl.context, CL_MEM_READ_WRITE, bytes, null, null);
            scratchBytes = bytes;
        }
        return scratch;
    }

    /** A temporary of {@code bytes}; the caller releases it with {@link #release(cl_mem)} once its kernels are enqueued. */
    cl_mem temporary(long bytes) {
        return clCreateBuffer(cl.context, CL_MEM_READ_WRITE, bytes, null, null);
    }

    /** OpenCL frees it once the queued kernels that use it finish. */
    void release(cl_mem m) {
        clReleaseMemObject(m);
    }

    void close() {
        allocator.close();
        clReleaseMemObject(dummy);
        if (scratch != null) clReleaseMemObject(scratch);
    }
}
