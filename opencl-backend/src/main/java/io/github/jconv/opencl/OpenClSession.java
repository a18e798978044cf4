package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.EngineOptions;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.opencl.tune.TuningDatabase;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvGeometry;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.Support;
import org.jocl.CLException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.jocl.CL.clFinish;

/**
 * One OpenCL device session: memory ({@link ClMemory}), byte transfers ({@link ClTransfers}), its in-order
 * queue and lifecycle ({@link ClContext}), and the op families that run the passes
 * ({@link StandardConvFamily}, {@link DeformableFamily}) on its programs ({@link ClPrograms}).
 * Thread-safe: the queue, kernel arguments and program builds are used under one lock.
 */
final class OpenClSession implements ConvBackend {
    /**
     * Tests only: when positive, an allocation that would take this session's live bytes above it is
     * refused as the device would refuse it (PoCL does not refuse allocations beyond its reported memory).
     */
    static volatile long testBudgetBytes;

    private final ClContext cl;
    private final BufferTracker tracker;
    private final OpenClOptions options;
    private final ClMemory memory;
    private final ClTransfers transfers;
    private final ClPrograms programs;
    private final ClLauncher launch;
    private final StandardConvFamily standard;
    private final List<OpFamily> families;
    private final ThreadLocal<String> last = ThreadLocal.withInitial(() -> "none");

    OpenClSession(ClDevices.Found dev, DeviceInfo info, OpenClOptions options, EngineOptions engineOptions) {
        this.options = options;
        this.tracker = new BufferTracker(OpenClBackendProvider.NAME, engineOptions);
        // Settings first: a bad value fails before any native object exists.
        TuningDatabase tuning = TuningDatabase.load(options.cacheDir(), dev.identity());
        ClSettings settings = ClSettings.of(options, tuning);
        this.cl = new ClContext(dev, info);
        this.programs = new ClPrograms(cl, new ProgramCache(cl.context, dev.device(), dev.identity(), options.cacheDir()),
                tuning, settings.gemmOverride());
        this.memory = new ClMemory(cl, this, tracker, engineOptions);
        this.transfers = new ClTransfers(cl, memory);
        this.launch = new ClLauncher(cl, programs, memory);
        this.standard = new StandardConvFamily(cl, programs, memory, launch, settings);
        this.families = List.of(standard, new DeformableFamily(cl, programs, memory, launch, settings));
    }

    @Override
    public String name() {
        return OpenClBackendProvider.NAME;
    }

    @Override
    public DeviceInfo device() {
        return cl.info;
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    ProgramCache programCache() {
        return programs.cache();
    }

    /** The session's programs (tests: which family programs were built, forcing an index width). */
    ClPrograms programs() {
        return programs;
    }

    /** Where this session keeps built programs and tuning results ({@link OpenClOptions#cacheDir()}). */
    java.nio.file.Path cacheDir() {
        return options.cacheDir();
    }

    /** The device and driver identity the program cache and the tuning database are keyed by. */
    String identity() {
        return cl.dev.identity();
    }

    // ---- memory and transfers ----

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        return memory.allocate(dtype, shape);
    }

    @Override
    public CachingAllocator<?> allocator() {
        return memory.allocator();
    }

    /**
     * A cl_mem of this session's context ({@link #nativeContext()}), of at least the bytes of
     * {@code shape} in {@code dtype}, used in place; jconv never releases it. The caller keeps it
     * alive until the buffer is closed, and orders its own work on it with {@link #nativeQueue()}.
     */
    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory external) {
        return memory.wrap(dtype, shape, external);
    }

    /** The buffer's cl_mem (the caller must not release it). */
    @Override
    public Object nativeHandle(DeviceBuffer buffer) {
        cl.checkOpen();
        return memory.own(buffer, "buffer").mem;
    }

    /** The in-order cl_command_queue every call of this session is enqueued on. */
    @Override
    public Object nativeQueue() {
        cl.checkOpen();
        return cl.queue;
    }

    @Override
    public Object nativeContext() {
        cl.checkOpen();
        return cl.context;
    }

    /** Bytes in native order, the buffer's dtype, copied as they are (the SPI's typed transfers convert in core). */
    @Override
    public void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        transfers.write(dst, dstOffset, src);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        transfers.read(src, srcOffset, dst);
    }

    // ---- support and dispatch to the op families ----

    private OpFamily familyOf(ConvSpec spec) {
        for (OpFamily f : families) if (f.handles(spec)) return f;
        throw new IllegalStateException("no OpenCL op family computes " + spec.type());
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        if (dtype == DType.BF16) {
            return Support.no("the OpenCL backend stores FP32, FP64 and FP16; BF16 runs on the cuda backend");
        }
        if (dtype == DType.FP64 && !cl.dev.fp64()) {
            return Support.no("device " + cl.info.name() + " lacks cl_khr_fp64; use FP32 or a device with FP64");
        }
        Support own = familyOf(spec).supports(spec, pass, dtype);
        if (!own.supported()) return own;
        return fitsOneAllocation(cl, dtype, spec.inputShape(), spec.weightShape(), spec.outputShape());
    }

    /** Whether every tensor of {@code shapes} fits one allocation of the device (CL_DEVICE_MAX_MEM_ALLOC_SIZE). */
    static Support fitsOneAllocation(ClContext cl, DType dtype, Shape... shapes) {
        long max = cl.dev.maxAllocBytes();
        for (Shape s : shapes) {
            long bytes = ConvGeometry.productOrMinusOne(s.elementCount(), dtype.bytes());
            if (bytes < 0 || bytes > max) {
                return Support.no("a tensor of shape " + s + " needs " + (bytes < 0 ? "more than " + Long.MAX_VALUE + " (overflows a long)" : bytes)
                        + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + max + " on " + cl.info.name() + "; split the batch");
            }
        }
        return Support.yes();
    }

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        cl.checkOpen();
        DType dt = null;
        for (Role r : pass.outputs(spec)) dt = memory.own(args.get(r), r.label()).dtype();
        OpFamily family = familyOf(spec);
        Algorithms.Choice plan = family.plan(spec, pass, dt);
        List<DeviceBuffer> used = new ArrayList<>();
        for (Map.Entry<Role, DeviceBuffer> e : args.asMap().entrySet()) {
            memory.own(e.getValue(), e.getKey().label());
            used.add(e.getValue());
        }
        // Pinned: a close() from another thread now marks a buffer closed but frees it only after this call.
        try (AbstractDeviceBuffer.Pins pins = AbstractDeviceBuffer.pinAll(used)) {
            synchronized (cl.lock) {
                cl.checkOpen();
                try {
                    family.run(plan, pass, spec, args, dt);
                    // A buffer closed meanwhile is freed when the pins go: let the queued kernels finish with it first.
                    if (pins.anyClosed()) clFinish(cl.queue);
                } catch (CLException e) {
                    throw cl.failed(pass + " of " + spec, e);
                }
            }
        }
        last.set(plan.label());
    }

    // ---- tuning ----

    /** Tuning: switches the implicit GEMM forward on or off for this session. */
    void implicitGemm(boolean on) {
        standard.implicitGemm(on);
    }

    /** The parameter set GEMMs of {@code dtype} and class {@code c} run with on this session (resolving it if needed). */
    GemmParams gemmParams(DType dtype, GemmClass c) {
        synchronized (cl.lock) {
            cl.checkOpen();
            return programs.gemmParams(dtype, c);
        }
    }

    /**
     * Tuning: C = A B (A m x k, B k x n, C m x n, all row-major) with parameter set {@code p}, enqueued
     * {@code runs} times; returns false (running nothing) when {@code p} does not fit this device.
     */
    boolean runGemm(GemmParams p, DType dt, int m, int n, int k, ClBuffer a, ClBuffer b, ClBuffer c, int runs) {
        synchronized (cl.lock) {
            cl.checkOpen();
            ClProgram f;
            try {
                f = programs.gemm(dt, GemmClass.of(m, n, k), p);
            } catch (CLException e) {
                throw cl.failed("building the GEMM with " + p, e);
            }
            if (f == null) return false;
            try {
                for (int r = 0; r < runs; r++) {
                    launch.gemm(f, 1, m, n, k, Mat.of(a.mem, 0, 0, k, 1), Mat.of(b.mem, 0, 0, n, 1), Mat.of(c.mem, 0, 0, n, 1), null, false);
                }
            } catch (CLException e) {
                throw cl.failed("the GEMM with " + p, e);
            }
            return true;
        }
    }

    // ---- lifecycle ----

    @Override
    public String lastAlgorithm() {
        return last.get();
    }

    @Override
    public void synchronize() {
        synchronized (cl.lock) {
            cl.checkOpen();
            try {
                clFinish(cl.queue);
            } catch (CLException e) {
                throw cl.failed("clFinish", e);
            }
        }
    }

    @Override
    public void close() {
        synchronized (cl.lock) {
            if (!cl.markClosed()) return;
            clFinish(cl.queue);
            programs.close();
            memory.close();
            cl.release();
        }
    }
}
