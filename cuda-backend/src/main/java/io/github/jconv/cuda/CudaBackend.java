package io.github.jconv.cuda;

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
 * A CUDA session on one device: the device session (context and stream in {@link DeviceContext}, memory in
 * {@link CudaMemory}, transfers in {@link CudaTransfers}, lifecycle and the lock here) plus the op families
 * ({@link CudnnFamily}: convolution and transposed convolution on cuDNN 9; {@link DeformableFamily}: deformable
 * convolution on jconv's kernels). The session checks what every family shares, picks the family, and runs its
 * plan. Calls are serialized (one stream, one cuDNN handle), so the session is safe to share between threads.
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
    /** The op families, asked in order which one {@link CudaFamily#handles} a spec. */
    private final java.util.List<CudaFamily<?>> families;
    private final CudaMemory memory;
    private final CudaTransfers transfers;
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
        DeformableFamily.Mode deformableMode = DeformableFamily.mode(engineOptions.properties(), engineOptions.environment());
        this.ctx = new DeviceContext(device.index());
        try {
            this.cudnn = new CudnnRunner(this);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
        this.families = java.util.List.of(new CudnnFamily(this, cudnn), new DeformableFamily(this, cudnn, deformableMode));
        this.memory = new CudaMemory(this, info, ctx, device.index(), tracker, engineOptions);
        this.transfers = new CudaTransfers(this, ctx);
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
        if (algoDiskCache == null) algoDiskCache = AlgoDiskCache.forDevice(engineOptions, device);
        return algoDiskCache;
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

    /** Runs {@code body} under the session's lock with its context current; a sticky CUDA error poisons the session. */
    synchronized <T> T guarded(Supplier<T> body) {
        checkUsable();
        try {
            ctx.makeCurrent();
            return body.get();
        } catch (CudaException e) {
            if (e.sticky()) poison = e;
            throw e;
        }
    }

    void guardedRun(Runnable body) {
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
        return memory.allocate(dtype, shape);
    }

    @Override
    public CachingAllocator<?> allocator() {
        return memory.allocator();
    }

    /**
     * The caller's device memory (a JCuda CUdeviceptr or a raw address) on this session's device and
     * context, used in place; jconv never frees it. Its allocation must hold at least the buffer's
     * bytes from the pointer on (checked with cuMemGetAddressRange).
     */
    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, io.github.jconv.spi.ExternalMemory memory) {
        return this.memory.wrap(dtype, shape, memory);
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

    /** {@code b} as this session's open buffer on its device, or an IllegalArgumentException naming {@code name}. */
    CudaBuffer own(String name, DeviceBuffer b) {
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

    // ---- transfers (CudaTransfers) ----

    /** Bytes in native order, the buffer's dtype, through the pinned staging area as they are (core converts, HostValues). */
    @Override
    public void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        transfers.write(dst, dstOffset, src);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        transfers.upload(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        transfers.upload(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        transfers.download(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        transfers.download(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        transfers.read(src, srcOffset, dst);
    }

    // ---- operations ----

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        int cc = device.ccMajor() * 10 + device.ccMinor();
        Support shared = sharedRule(spec, pass, dtype, cc);
        return shared != null ? shared : family(spec).supports(spec, pass, dtype, cc);
    }

    /**
     * The support rule of this backend, pure in the spec, pass, dtype and compute capability (cc 90 = 9.0) so that it
     * is tested without a GPU: what every family shares, then the rule of the family that runs the spec
     * ({@link CudnnFamily#rule}, {@link DeformableFamily#rule}; by convolution type, as their {@code handles}).
     */
    static Support supports(ConvSpec spec, Pass pass, DType dtype, int cc) {
        Support shared = sharedRule(spec, pass, dtype, cc);
        if (shared != null) return shared;
        return spec.type() == ConvType.DEFORMABLE ? DeformableFamily.rule(cc) : CudnnFamily.rule(spec, pass, cc);
    }

    /** What every family refuses alike, or null when the family's own rule decides. */
    private static Support sharedRule(ConvSpec spec, Pass pass, DType dtype, int cc) {
        if (pass == Pass.BACKWARD_OFFSET_MASK && spec.type() != ConvType.DEFORMABLE) {
            return Support.no(pass + " exists only for deformable convolution");
        }
        if (dtype == DType.BF16 && cc < 80) {
            return Support.no("BF16 needs compute capability 8.0 or newer; this device has " + cc / 10 + "." + cc % 10 + "; use FP16 or FP32");
        }
        return null;
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
            ran = guarded(() -> planAndRun(family(spec), pass, spec, dt, args));
        }
        last.set(ran);
    }

    /** The family that computes {@code spec}. */
    private CudaFamily<?> family(ConvSpec spec) {
        for (CudaFamily<?> f : families) {
            if (f.handles(spec)) return f;
        }
        throw new UnsupportedOperationException("cuda has no family for " + spec.type() + " (" + spec + ")");
    }

    private static <P> String planAndRun(CudaFamily<P> family, Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        return family.run(family.plan(spec, pass, dtype), pass, spec, dtype, args);
    }

    /** Copies a window between two NCDHW tensors through jconv's window kernel (see window.cu). */
    void windowCopy(CUdeviceptr src, int[] srcDims, CUdeviceptr dst, int[] dstDims, int[] offset, DType dtype, String problem) {
        long[] grid = KernelLaunch.gridFor(WindowKernel.total(dstDims), device.sms());
        String kernel = WindowKernel.name(dtype);
        ctx.launch(ctx.function("window.ptx", kernel), kernel, grid[0], KernelLaunch.THREADS,
                KernelLaunch.args(WindowKernel.args(src, srcDims, dst, dstDims, offset)), problem);
    }

    /** sgd.cu's kernel for FP32 and FP64 buffers of this session ({@link SgdKernel}); the 2-byte types step on the host. */
    @Override
    public boolean sgdStep(DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        return SgdKernel.step(this, ctx, param, grad, learningRate);
    }

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
            memory.close();
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
