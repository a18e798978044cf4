package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.EngineOptions;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.HostValues;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.Support;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A CPU session: buffers are Java arrays, passes run on a fixed pool of worker threads. Calls from
 * several threads are safe; they run one at a time because the workers' scratch is shared.
 *
 * <p>Closing while other threads call: {@link #close()} waits for the call that is running (every
 * call ends: it computes on the heap and waits for nothing else), then stops the workers; calls
 * that were waiting for their turn, and every later call, throw {@link IllegalStateException}.
 * Interrupting a calling thread never cancels its call: the call completes with the full result,
 * and the thread's interrupt flag is still set when it returns, so the caller's next blocking
 * operation sees it.
 */
public final class CpuBackend implements ConvBackend {
    /** The largest array the JVM reliably allocates. */
    static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** Per session: another session's calls on the same thread do not change what this one reports. */
    private final ThreadLocal<String> last = ThreadLocal.withInitial(() -> "none");
    private final DeviceInfo device;
    private final WorkerPool pool;
    private final BufferTracker tracker;
    /** Arrays by dtype and exact size: a training loop whose shapes repeat reuses them instead of making new ones. */
    private final CachingAllocator<Object> allocator;
    private final Object lock = new Object();
    private volatile boolean closed;

    CpuBackend(DeviceInfo device, int threads, EngineOptions options) {
        this.device = device;
        this.tracker = new BufferTracker("cpu", options);
        this.allocator = new CachingAllocator<>("cpu", new CachingAllocator.Device<>() {
            @Override
            public Object allocate(Object kind, long bytes) {
                int n = (int) (bytes / ((DType) kind).bytes());
                return kind == DType.FP32 ? new float[n] : new double[n];
            }
    
            @Override
            public void free(Object memory) {
                // the collector takes the array
            }
        }, true, options);
        this.pool = new WorkerPool(threads);
        // cached arrays are heap the collector cannot take: keep at most a quarter of the heap cached
        allocator.setMaxCachedBytes(Runtime.getRuntime().maxMemory() / 4);
    }

    /** Worker threads of this session (calling thread included). */
    public int threads() {
        return pool.threads();
    }

    /** Most scratch bytes held at once since open or {@link #resetPeakScratch()}. */
    public long peakScratchBytes() {
        return pool.peakScratchBytes();
    }

    /** Frees the cached scratch and starts a new peak measurement. */
    public void resetPeakScratch() {
        synchronized (lock) {
            pool.resetPeakScratch();
        }
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        checkSession();
        if (dtype != DType.FP32 && dtype != DType.FP64) {
            throw new IllegalArgumentException("dtype = " + dtype + ": the CPU backend computes in FP32 and FP64 only; use DType.FP32");
        }
        long n = shape.elementCount();
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("shape = " + shape + ": " + n + " elements exceed the Java array limit of "
                    + MAX_ELEMENTS + " that the CPU backend stores a buffer in; split the work so that each buffer has at most "
                    + MAX_ELEMENTS + " elements, e.g. a leading dimension of " + Math.max(1, (long) ((double) shape.dim(0) * MAX_ELEMENTS / n)));
        }
        long bytes = n * dtype.bytes();
        Runtime rt = Runtime.getRuntime();
        if (bytes > rt.maxMemory()) {
            throw outOfMemory(dtype, shape, bytes, null);
        }
        try {
            return new CpuBuffer(this, dtype, shape, (int) n, tracker, allocator);
        } catch (OutOfMemoryError e) { // one failed array allocation leaves the heap as it was: report, keep working
            throw outOfMemory(dtype, shape, bytes, e);
        }
    }

    private static IllegalStateException outOfMemory(DType dtype, Shape shape, long bytes, OutOfMemoryError cause) {
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        IllegalStateException e = new IllegalStateException("out of memory: " + bytes + " bytes requested for " + dtype + shape
                + ", " + free + " bytes free of the Java heap's " + rt.maxMemory() + "; raise -Xmx or use a smaller batch");
        if (cause != null) e.initCause(cause);
        return e;
    }

    @Override
    public CachingAllocator<?> allocator() {
        return allocator;
    }

    /**
     * FP32 host memory only. A float[] that is exactly the buffer (offset 0, length = element count) or
     * a heap FloatBuffer over such an array is used in place; any other (an offset, a longer array, a
     * direct buffer) is staged: each call copies it in before and its outputs back after, and
     * transfers read and write the caller's memory directly.
     */
    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory memory) {
        checkSession();
        if (memory.kind() != ExternalMemory.Kind.HOST_FLOATS) {
            throw memory.unsupportedBy("cpu", "host floats only: ExternalMemory.floats(float[], offset) or floats(FloatBuffer)");
        }
        if (dtype != DType.FP32) {
            throw new IllegalArgumentException("dtype = " + dtype + ": wrapped host floats are FP32; use DType.FP32");
        }
        long n = shape.elementCount();
        java.nio.FloatBuffer f = memory.floats();
        if (f.capacity() < n) {
            throw new IllegalArgumentException("memory of " + f.capacity() + " floats is smaller than shape " + shape + " ("
                    + n + " elements); pass at least " + n + " floats after the offset");
        }
        return new CpuBuffer(this, shape, (int) n, f, tracker);
    }

    /** A FloatBuffer over the values: the array itself, or the caller's memory for a staged wrapped buffer. */
    @Override
    public Object nativeHandle(DeviceBuffer buffer) {
        return own(buffer, 0, 0).view();
    }

    /** Bytes in native order (FP32 or FP64, the buffer's dtype) into the buffer's array or the caller's wrapped floats. */
    @Override
    public void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        CpuBuffer b = own(dst, 0, 0);
        int n = (int) HostValues.checkBytes("dst", b, dstOffset, src);
        ByteBuffer in = src.duplicate().order(ByteOrder.nativeOrder());
        int at = (int) dstOffset;
        if (b.external != null) {
            b.external.put(at, in.asFloatBuffer(), 0, n);
        } else if (b.floats != null) {
            in.asFloatBuffer().get(b.floats, at, n);
        } else {
            in.asDoubleBuffer().get(b.doubles, at, n);
        }
        src.position(src.limit());
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        CpuBuffer b = own(src, 0, 0);
        int n = (int) HostValues.checkBytes("src", b, srcOffset, dst);
        ByteBuffer out = dst.duplicate().order(ByteOrder.nativeOrder());
        int at = (int) srcOffset;
        if (b.external != null) {
            out.asFloatBuffer().put(0, b.external, at, n);
        } else if (b.floats != null) {
            out.asFloatBuffer().put(b.floats, at, n);
        } else {
            out.asDoubleBuffer().put(b.doubles, at, n);
        }
        dst.position(dst.limit());
    }

    private CpuBuffer own(DeviceBuffer buffer, long offset, int length) {
        checkSession();
        if (!(buffer instanceof CpuBuffer b) || buffer.owner() != this) {
            throw new IllegalArgumentException("buffer = " + buffer + ": it belongs to another session; use a buffer allocated by this CPU session");
        }
        b.checkOpen();
        if (offset < 0 || length < 0 || offset + length > b.elementCount()) {
            throw new IllegalArgumentException("offset = " + offset + ", length = " + length + ": the range must lie within the buffer's "
                    + b.elementCount() + " elements; e.g. offset = 0, length = " + b.elementCount());
        }
        return b;
    }

    /** The op families: each runs the algorithms the selector plans onto it, with its own support rule. */
    private static final DeformableFamily DEFORMABLE = new DeformableFamily();
    private static final java.util.List<CpuFamily> FAMILIES = java.util.List.of(new GemmConvFamily(), new DepthwiseFamily(),
            new PhaseFamily(), DEFORMABLE, new ChannelSumFamily());

    /** The family that runs {@code alg}: exactly one per algorithm. */
    static CpuFamily family(CpuAlgorithm alg) {
        for (CpuFamily f : FAMILIES) if (f.runs(alg)) return f;
        throw new IllegalStateException("no CPU family runs " + alg);
    }

    /** What every family shares (dtype, array sizes), then the rule of the family the pass is planned onto. */
    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        if (dtype != DType.FP32 && dtype != DType.FP64) {
            return Support.no("the CPU backend computes in FP32 and FP64 only; use DType.FP32");
        }
        for (Role r : Role.values()) {
            if ((r == Role.OFFSET || r == Role.MASK || r == Role.DOFFSET || r == Role.DMASK)
                    && spec.type() != io.github.jconv.ConvType.DEFORMABLE) continue;
            long n = r.shapeFor(spec).elementCount();
            if (n > MAX_ELEMENTS) {
                return Support.no(r.label() + " has " + n + " elements, over the Java array limit of " + MAX_ELEMENTS
                        + " the CPU backend stores a buffer in; split the batch");
            }
        }
        return family(CpuAlgorithms.choose(spec, pass)).supports(spec, pass);
    }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        checkSession();
        CpuAlgorithm alg = CpuAlgorithms.choose(spec, pass);
        DType dtype = ((CpuBuffer) args.get(pass.outputs(spec).iterator().next())).dtype();
        synchronized (lock) {
            checkSession(); // close may have run while this call waited for its turn
            for (DeviceBuffer b : args.asMap().values()) if (b instanceof CpuBuffer c) c.pullIn();
            family(alg).run(alg, pass, spec, args, dtype, pool);
            for (Role r : pass.outputs(spec)) if (args.get(r) instanceof CpuBuffer c) c.pushOut();
        }
        last.set(alg.label());
    }

    /**
     * As the passes one by one, under one turn of the lock; a deformable call's data and offset/mask gradients
     * share their column gradient Wᵀ·dY ({@link DeformableFamily#runDataAndOffsetMask}), with the same bits.
     */
    @Override
    public void executeAll(java.util.Set<Pass> passes, ConvSpec spec, ConvArgs args) {
        checkSession();
        java.util.EnumMap<Pass, CpuAlgorithm> plan = new java.util.EnumMap<>(Pass.class);
        for (Pass pass : passes) plan.put(pass, CpuAlgorithms.choose(spec, pass));
        boolean fuse = plan.get(Pass.BACKWARD_DATA) == CpuAlgorithm.DEFORMABLE_IM2COL_GEMM
                && plan.get(Pass.BACKWARD_OFFSET_MASK) == CpuAlgorithm.DEFORMABLE_IM2COL_GEMM;
        StringBuilder label = new StringBuilder();
        synchronized (lock) {
            checkSession();
            for (DeviceBuffer b : args.asMap().values()) if (b instanceof CpuBuffer c) c.pullIn();
            for (Pass pass : plan.keySet()) {
                if (fuse && pass == Pass.BACKWARD_OFFSET_MASK) continue;
                CpuAlgorithm alg = plan.get(pass);
                DType dtype = ((CpuBuffer) args.get(pass.outputs(spec).iterator().next())).dtype();
                String name = alg.label();
                if (fuse && pass == Pass.BACKWARD_DATA) {
                    boolean shared = DEFORMABLE.runDataAndOffsetMask(spec, args, dtype, pool);
                    name = alg.label() + (shared ? " (data and offset/mask gradients from one Wᵀ·dY)" : "");
                } else {
                    family(alg).run(alg, pass, spec, args, dtype, pool);
                }
                if (label.indexOf(name) < 0) label.append(label.length() == 0 ? "" : ", ").append(name);
            }
            for (Pass pass : plan.keySet()) for (Role r : pass.outputs(spec)) if (args.get(r) instanceof CpuBuffer c) c.pushOut();
        }
        last.set(label.toString());
    }

    @Override
    public String lastAlgorithm() {
        return last.get();
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    private void checkSession() {
        if (closed) throw new IllegalStateException("this CPU session is closed: open a new one");
    }

    @Override
    public void close() {
        closed = true; // calls not yet running fail from now on
        synchronized (lock) { // wait for the call in flight: its workers finish before they stop
            pool.close();
            allocator.close();
        }
    }

    @Override
    public String toString() {
        return "cpu[" + device.name() + ", " + threads() + " threads]";
    }
}
