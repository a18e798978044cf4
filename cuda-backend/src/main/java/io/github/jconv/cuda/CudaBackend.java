package io.github.jconv.cuda;

import io.github.jconv.spi.HostValues;
import io.github.jconv.EngineOptions;
import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.Support;
import jcuda.driver.CUdeviceptr;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A CUDA session on one device: JCuda driver API for memory, streams and jconv's kernels; cuDNN 9
 * for convolution and transposed convolution; jconv's kernels for deformable convolution. Calls are
 * serialized (one stream, one cuDNN handle), so the session is safe to share between threads.
 * A sticky CUDA error poisons the session: every later call fails fast with that cause.
 */
final class CudaBackend implements ConvBackend {
    private final DeviceInfo info;
    private final CudaDriver.Device device;
    private final CudaOptions options;
    private final BufferTracker tracker;
    /** The settings this session was opened with (its allocator limit, leak reports, cache directory). */
    private final EngineOptions engineOptions;
    private final AlgoSelection.Cache algoCache = new AlgoSelection.Cache();
    private final ThreadLocal<String> last = ThreadLocal.withInitial(() -> "none");
    private final DeviceContext ctx;
    private final CudnnRunner cudnn;
    private final DeformableRunner deformable;
    /** jconv's own buffers by size class, reused after close: no cuMemAlloc once a training step's shapes repeat. */
    private final CachingAllocator<CUdeviceptr> allocator;
    /** What the allocation in progress is for (set under the session's lock), so an out-of-memory names the shape. */
    private String allocating = "allocate";
    private volatile CudaException poison;
    private volatile boolean closed;

    CudaBackend(DeviceInfo info, CudaDriver.Device device, CudaOptions options) {
        this(info, device, options, EngineOptions.fromSystem());
    }

    CudaBackend(DeviceInfo info, CudaDriver.Device device, CudaOptions options, EngineOptions engineOptions) {
        this.info = info;
        this.device = device;
        this.options = options;
        this.engineOptions = engineOptions;
        this.tracker = new BufferTracker("cuda", engineOptions);
        // read before any native call: a bad jconv.cuda.deformable fails the open without a context to clean up
        DeformableRunner.Mode deformableMode = DeformableRunner.mode(engineOptions.properties(), engineOptions.environment());
        this.ctx = new DeviceContext(device.index());
        try {
            this.cudnn = new CudnnRunner(this);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
        this.deformable = new DeformableRunner(this, cudnn, deformableMode);
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

    DeviceContext context() {
        return ctx;
    }

    CudaOptions options() {
        return options;
    }

    AlgoSelection.Cache algoCache() {
        return algoCache;
    }

    private AlgoDiskCache algoDiskCache;

    /** Benchmark-mode choices kept across sessions, in a file for this device model, driver and cuDNN. */
    synchronized AlgoDiskCache algoDiskCache() {
        if (algoDiskCache == null) {
            algoDiskCache = new AlgoDiskCache(AlgoDiskCache.directory(withUserHome(engineOptions.properties()), engineOptions.environment()),
                    AlgoDiskCache.identity(device.name(), device.ccMajor(), device.ccMinor(), CudaDriver.status().driverVersion(),
                            Cudnn.status().version()));
        }
        return algoDiskCache;
    }

    /** {@code props} plus the JVM's user.home, the cache directory's default base. */
    private static java.util.Properties withUserHome(java.util.Properties props) {
        String home = System.getProperty("user.home");
        if (home != null) props.setProperty("user.home", home);
        return props;
    }

    int multiprocessors() {
        return device.sms();
    }

    /** Names the device in algorithm-cache keys: index, model and compute capability. */
    String deviceKey() {
        return device.index() + ":" + device.name() + ":sm" + device.ccMajor() + device.ccMinor();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    @Override
    public String lastAlgorithm() {
        return last.get();
    }

    // ---- guard ----

    private void checkUsable() {
        if (closed) throw new IllegalStateException("cuda session on " + info.name() + " is closed: open a new engine");
        CudaException p = poison;
        if (p != null) {
            throw new IllegalStateException("cuda session on " + info.name() + " is poisoned by an earlier failure ("
                    + p.status() + " in " + p.call() + (p.problem().isEmpty() ? "" : " on " + p.problem())
                    + "): the CUDA context is unusable; close this engine and open a new one", p);
        }
    }

    private synchronized <T> T guarded(Supplier<T> body) {
        checkUsable();
        try {
            ctx.makeCurrent();
            return body.get();
        } catch (CudaException e) {
            if (e.sticky()) poison = e;
            throw e;
        }
    }

    private void guardedRun(Runnable body) {
        guarded(() -> {
            body.run();
            return null;
        });
    }

    /** The options this session was opened with (the typed ones are {@link #options()}). */
    EngineOptions engineOptions() {
        return engineOptions;
    }

    /** The poisoning cause, or null. */
    CudaException poison() {
        return poison;
    }

    // ---- buffers ----

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
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
        return guarded(() -> {
            allocating = "allocate " + dtype + shape;
            CachingAllocator.Block<CUdeviceptr> block = allocator.acquire(dtype, Math.max(bytes, 1));
            CUdeviceptr p = block.memory();
            try {
                // zero-filled, as on every backend: unwritten memory reads 0, never a previous buffer's values;
                // a reused block's last kernels were enqueued on this same stream, so they finish before the memset
                ctx.zero(p, Math.max(bytes, 1), "allocate " + dtype + shape);
                CachingAllocator<CUdeviceptr> a = allocator;
                return new CudaBuffer(this, dtype, shape, p, device.index(), false, () -> a.release(block));
            } catch (RuntimeException e) {
                allocator.release(block);
                throw e;
            }
        });
    }

    @Override
    public CachingAllocator<?> allocator() {
        return allocator;
    }

    /**
     * The caller's device memory (a JCuda CUdeviceptr or a raw address) on this session's device and
     * context, used in place; jconv never frees it. Its allocation must hold at least the buffer's
     * bytes from the pointer on (checked with cuMemGetAddressRange).
     */
    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, io.github.jconv.spi.ExternalMemory memory) {
        CUdeviceptr p;
        switch (memory.kind()) {
            case CUDA_POINTER -> {
                if (!(memory.handle() instanceof CUdeviceptr d)) {
                    throw memory.unsupportedBy(name(), "a jcuda.driver.CUdeviceptr or a raw device address; got " + memory.handle().getClass().getName());
                }
                p = d;
            }
            case CUDA_ADDRESS -> p = DeviceAddress.deviceptr(memory.address());
            default -> throw memory.unsupportedBy(name(), "device memory only: ExternalMemory.cudaPointer(CUdeviceptr or address)");
        }
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        long limit = info.memoryBytes() > 0 ? info.memoryBytes() : Long.MAX_VALUE;
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, limit, "the global memory of " + info.name());
        long address = DeviceAddress.of(p);
        long available = guarded(() -> {
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
        return new CudaBuffer(this, dtype, shape, p, device.index(), true, () -> { });
    }

    /** The buffer's CUdeviceptr (the caller must not free it). */
    @Override
    public Object nativeHandle(DeviceBuffer buffer) {
        return own("buffer", buffer).ptr;
    }

    @Override
    public long nativeAddress(DeviceBuffer buffer) {
        return own("buffer", buffer).address;
    }

    /** The CUstream all of this session's work runs on, in order. */
    @Override
    public Object nativeQueue() {
        checkUsable();
        return ctx.stream;
    }

    /** The device's primary context, which this session uses (JCuda's CUcontext). */
    @Override
    public Object nativeContext() {
        checkUsable();
        return ctx.primary.context;
    }

    private CudaBuffer own(String name, DeviceBuffer b) {
        if (!(b instanceof CudaBuffer c) || b.owner() != this) {
            throw new IllegalArgumentException(name + " = " + b + ": not a buffer of this cuda session; allocate it with this engine");
        }
        c.checkOpen();
        if (c.device != device.index()) {
            throw new IllegalArgumentException(name + " lives on device " + c.device + ", this session on device " + device.index()
                    + ": one call uses one device; copy it through the host");
        }
        return c;
    }

    /** Runs a transfer with the buffer pinned: a close() from another thread frees its memory only after the copy. */
    private static void whilePinned(CudaBuffer b, Runnable transfer) {
        b.pin();
        try {
            transfer.run();
        } finally {
            b.unpin();
        }
    }

    /** Bytes in native order, the buffer's dtype, through the pinned staging area as they are (core converts, HostValues). */
    @Override
    public void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        CudaBuffer d = own("dst", dst);
        whilePinned(d, () -> {
            long n = HostValues.checkBytes("dst", d, dstOffset, src);
            int size = d.dtype().bytes();
            int p0 = src.position();
            if (n > 0) {
                guardedRun(() -> ctx.upload(d.ptr, dstOffset * size, n, size,
                        (bb, off, count) -> bb.put(bb.position(), src, p0 + (int) off * size, count * size)));
            }
            src.position(src.limit());
        });
    }

    /*
     * The typed transfers convert with core's HostValues straight into and out of the page-locked staging slots,
     * piece by piece as the staging plan cuts the transfer (two slots alternate: the host converts one piece while
     * the copy engine moves the other). Going through write/read instead would convert into a heap buffer first
     * and hand the staging one chunk per call, which left one slot and no overlap (PinnedStagingGpuTest on the H200).
     */
    @Override
    public void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        HostValues.check("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        staged(true, dst, dstOffset, length, (dt, off, n, bb) -> HostValues.encode(dt, src, srcOffset + off, n, bb));
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        HostValues.check("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        staged(true, dst, dstOffset, length, (dt, off, n, bb) -> HostValues.encode(dt, src, srcOffset + off, n, bb));
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        HostValues.check("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        staged(false, src, srcOffset, length, (dt, off, n, bb) -> HostValues.decode(dt, bb, dst, dstOffset + off, n));
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        HostValues.check("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        staged(false, src, srcOffset, length, (dt, off, n, bb) -> HostValues.decode(dt, bb, dst, dstOffset + off, n));
    }

    /** Converts {@code n} values at host offset {@code off} into (upload) or out of (download) a staging piece. */
    private interface Piece {
        void convert(DType dt, int off, int n, ByteBuffer piece);
    }

    /** A checked typed transfer of {@code length} values, piece by piece through the pinned staging slots. */
    private void staged(boolean up, DeviceBuffer buffer, long offset, int length, Piece piece) {
        CudaBuffer b = own(up ? "dst" : "src", buffer);
        DType dt = b.dtype();
        whilePinned(b, () -> {
            if (length == 0) return;
            // each piece is converted at the slot's position, which the staging keeps (a duplicate, in its byte order)
            if (up) {
                guardedRun(() -> ctx.upload(b.ptr, offset * dt.bytes(), length, dt.bytes(),
                        (bb, off, count) -> piece.convert(dt, (int) off, count, bb.duplicate().order(bb.order()))));
            } else {
                guardedRun(() -> ctx.download(b.ptr, offset * dt.bytes(), length, dt.bytes(),
                        (bb, off, count) -> piece.convert(dt, (int) off, count, bb.duplicate().order(bb.order()))));
            }
        });
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        CudaBuffer s = own("src", src);
        whilePinned(s, () -> {
            long n = HostValues.checkBytes("src", s, srcOffset, dst);
            int size = s.dtype().bytes();
            int p0 = dst.position();
            if (n > 0) {
                guardedRun(() -> ctx.download(s.ptr, srcOffset * size, n, size,
                        (bb, off, count) -> dst.put(p0 + (int) off * size, bb, bb.position(), count * size)));
            }
            dst.position(dst.limit());
        });
    }

    // ---- operations ----

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        return supports(spec, pass, dtype, device.ccMajor() * 10 + device.ccMinor());
    }

    /**
     * The support rule of this backend, beside the code it describes; pure in the spec, pass, dtype
     * and compute capability (cc 90 = 9.0), so it is tested without a GPU.
     */
    static Support supports(ConvSpec spec, Pass pass, DType dtype, int cc) {
        if (pass == Pass.BACKWARD_OFFSET_MASK && spec.type() != ConvType.DEFORMABLE) {
            return Support.no(pass + " exists only for deformable convolution");
        }
        if (dtype == DType.BF16 && cc < 80) {
            return Support.no("BF16 needs compute capability 8.0 or newer; this device has " + cc / 10 + "." + cc % 10 + "; use FP16 or FP32");
        }
        if (spec.type() == ConvType.DEFORMABLE) {
            // FP32 and FP64 run their own kernels; FP16 and BF16 storage computes in FP32 working copies
            if (cc < 75) return Support.no("jconv's kernels are PTX for compute_75 and up; this device is " + cc / 10 + "." + cc % 10);
            return Support.yes();
        }
        Support s = CudnnPlan.supports(spec, pass);
        if (!s.supported()) return s;
        if (pass != Pass.BACKWARD_BIAS && CudnnPlan.of(spec, pass).staged() && cc < 75) {
            return Support.no("asymmetric padding (or output_padding >= stride) is staged through a jconv kernel, PTX for compute_75 and up; "
                    + "this device is " + cc / 10 + "." + cc % 10 + "; use symmetric padding");
        }
        if (CudnnPlan.batchSlice(spec) == 0 && cc < 75) {
            return Support.no("a batch item over cuDNN's element limit is split through a jconv kernel, PTX for compute_75 and up; "
                    + "this device is " + cc / 10 + "." + cc % 10 + "; use a smaller input");
        }
        return Support.yes();
    }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        DType dtype = null;
        for (Map.Entry<Role, DeviceBuffer> e : args.asMap().entrySet()) {
            CudaBuffer b = own(e.getKey().label(), e.getValue());
            dtype = b.dtype();
        }
        DType dt = dtype;
        String ran;
        // Pinned: a close() from another thread marks a buffer closed but frees it (cuMemFree) only after this call.
        try (AbstractDeviceBuffer.Pins pins = AbstractDeviceBuffer.pinAll(args.asMap().values())) {
            ran = guarded(() -> spec.type() == ConvType.DEFORMABLE
                    ? deformable.run(pass, spec, dt, args)
                    : cudnn.run(pass, spec, dt, args));
        }
        last.set(ran);
    }

    /** Copies a window between two NCDHW tensors through jconv's window kernel (see window.cu). */
    void windowCopy(CUdeviceptr src, int[] srcDims, CUdeviceptr dst, int[] dstDims, int[] offset, DType dtype, String problem) {
        long[] grid = DeformableRunner.gridFor(WindowKernel.total(dstDims), device.sms());
        String kernel = WindowKernel.name(dtype);
        ctx.launch(ctx.function("window.ptx", kernel), kernel, grid[0], DeformableRunner.THREADS,
                DeformableRunner.args(WindowKernel.args(src, srcDims, dst, dstDims, offset)), problem);
    }

    /** sgd.cu's kernel for FP32 and FP64 buffers of this session; the 2-byte types step on the host. */
    @Override
    public boolean sgdStep(DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        if (param == null || grad == null || !owns(param) || !owns(grad) || param.dtype() != grad.dtype()
                || param.elementCount() != grad.elementCount() || (param.dtype() != DType.FP32 && param.dtype() != DType.FP64)) {
            return false;
        }
        CudaBuffer p = (CudaBuffer) param;
        CudaBuffer g = (CudaBuffer) grad;
        long n = p.elementCount();
        if (n == 0) return true;
        p.pin(); // a close() from another thread frees the memory only after this launch is queued
        try {
            g.pin();
            try {
                guardedRun(() -> {
                    boolean f64 = p.dtype() == DType.FP64;
                    String kernel = f64 ? "sgd_f64" : "sgd_f32";
                    jcuda.Pointer lr = f64 ? jcuda.Pointer.to(new double[]{learningRate}) : jcuda.Pointer.to(new float[]{(float) learningRate});
                    jcuda.Pointer args = jcuda.Pointer.to(jcuda.Pointer.to(p.ptr), jcuda.Pointer.to(g.ptr), lr, jcuda.Pointer.to(new long[]{n}));
                    ctx.launch(ctx.function("sgd.ptx", kernel), kernel, (n + SGD_THREADS - 1) / SGD_THREADS, SGD_THREADS, args, "sgdStep " + p.dtype() + " x " + n);
                });
            } finally {
                g.unpin();
            }
        } finally {
            p.unpin();
        }
        return true;
    }

    static final int SGD_THREADS = 256;

    @Override
    public void synchronize() {
        guardedRun(() -> ctx.synchronize(""));
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            ctx.makeCurrent();
            allocator.close();
            cudnn.close();
        } catch (RuntimeException ignored) { // a poisoned context may refuse; the context release below still runs
        } finally {
            ctx.close();
        }
    }

    @Override
    public String toString() {
        return "cuda session on " + info.name() + " (device " + device.index() + ", " + options + ")";
    }
}
