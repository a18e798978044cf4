package io.github.jconv.opencl;

import io.github.jconv.spi.HostValues;
import io.github.jconv.EngineOptions;
import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.kernels.KernelSources;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.opencl.tune.GemmDefaults;
import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.opencl.tune.TuningDatabase;
import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.Support;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.jocl.CL.*;

/**
 * One OpenCL device: its own context and in-order queue, buffers, built programs. Thread-safe: the
 * queue, kernel arguments and program builds are used under one lock (OpenCL kernel objects are not
 * safe to set arguments on from several threads).
 */
final class OpenClSession implements ConvBackend {
    /** Upper bound on a work-group the host picks; a tuning value, lowered by every device and kernel limit. */
    private static final long PREFERRED_GROUP = 256;
    /** Overrides {@link OpenClOptions#DEFAULT_COLUMN_BUDGET} (tuning; tests set it tiny to run one item per chunk). */
    static final String COL_BUDGET_PROPERTY = "jconv.opencl.columnBudgetBytes";
    /** How long a refused allocation waits for the Cleaner to free buffers dropped without close. */
    private static final long RECLAIM_WAIT_MILLIS = 2000;

    /**
     * Tests only: when positive, an allocation that would take this session's live bytes above it is
     * refused as the device would refuse it (PoCL does not refuse allocations beyond its reported memory).
     */
    static volatile long testBudgetBytes;

    private final ClDevices.Found dev;
    private final DeviceInfo info;
    private final BufferTracker tracker;
    private final OpenClOptions options;
    private final Object lock = new Object();
    private final cl_context context;
    private final cl_command_queue queue;
    private final ProgramCache programs;
    private final Map<DType, Map<String, Family>> families = new EnumMap<>(DType.class);
    private final cl_mem dummy;
    private final ThreadLocal<String> last = ThreadLocal.withInitial(() -> "none");
    private final Algorithms.Mode mode;
    private final long colBudget;
    private final boolean rowScatter;
    /** jconv's own buffers: cl_mems by size class, reused after close. */
    private final CachingAllocator<cl_mem> allocator;
    /** -Djconv.opencl.gemm (or the older jconv.opencl.gemmTiles), read when the session opens; null: none. */
    private final GemmParams gemmOverride;
    /**
     * Whether GEMM forwards read the input in place of a column matrix (gemm_conv): -Djconv.opencl.implicitGemm
     * when set, else the tuner's choice for this device (jconv tune), else false.
     */
    private volatile boolean implicitGemm;
    /** This device's tuned GEMM winners (jconv tune), read when the session opens. */
    private final TuningDatabase tuning;
    /** The GEMM parameter set each (dtype, class) resolved to on this device. */
    private final Map<String, GemmParams> gemmChoice = new HashMap<>();
    private cl_mem scratch;
    private long scratchBytes;
    private volatile boolean closed;

    /** The kernels of one built program, with the reduction work-group size it was built for. */
    private record Family(cl_program program, Map<String, cl_kernel> kernels, Map<String, Long> groupSizes, int redWg,
                          int[] gemmTiles) {
    }

    OpenClSession(ClDevices.Found dev, DeviceInfo info, OpenClOptions options, EngineOptions engineOptions) {
        this.dev = dev;
        this.info = info;
        this.options = options;
        this.tracker = new BufferTracker(OpenClBackendProvider.NAME, engineOptions);
        this.mode = Algorithms.Mode.parse(options.algorithm());
        this.colBudget = options.columnBudgetBytes();
        this.gemmOverride = options.gemm();
        this.rowScatter = Algorithms.rowScatter(info.type(), options.deformScatter());
        setExceptionsEnabled(true);
        this.context = clCreateContext(null, 1, new cl_device_id[] {dev.device()}, null, null, null);
        cl_command_queue q;
        try {
            q = clCreateCommandQueue(context, dev.device(), 0, null);
        } catch (RuntimeException | Error e) {
            clReleaseContext(context);
            throw e;
        }
        this.queue = q;
        this.programs = new ProgramCache(context, dev.device(), dev.identity(), options.cacheDir());
        this.tuning = TuningDatabase.load(options.cacheDir(), dev.identity());
        this.implicitGemm = options.implicitGemm() != null ? options.implicitGemm()
                : Boolean.TRUE.equals(tuning.flag(IMPLICIT_GEMM_KEY));
        // Kernels take a buffer for an absent bias or mask; this one is never read (has_* = 0).
        this.dummy = clCreateBuffer(context, CL_MEM_READ_WRITE, 16, null, null);
        this.allocator = new CachingAllocator<>("opencl (" + info.name() + ")", new CachingAllocator.Device<>() {
            @Override
            public cl_mem allocate(Object kind, long bytes) {
                long budget = testBudgetBytes;
                if (budget > 0 && allocator.stats().reservedBytes() + bytes > budget) {
                    throw new CLException("CL_MEM_OBJECT_ALLOCATION_FAILURE (the test budget of " + budget + " bytes is spent)",
                            CL_MEM_OBJECT_ALLOCATION_FAILURE);
                }
                return clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
            }

            @Override
            public void free(cl_mem memory) {
                clReleaseMemObject(memory); // OpenCL defers the free until queued kernels that use it finish
            }
        }, false, engineOptions);
    }

    @Override
    public String name() {
        return OpenClBackendProvider.NAME;
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    ProgramCache programCache() {
        return programs;
    }

    /** The device and driver identity the program cache and the tuning database are keyed by. */
    /** Where this session keeps built programs and tuning results ({@link OpenClOptions#cacheDir()}). */
    java.nio.file.Path cacheDir() {
        return options.cacheDir();
    }

    String identity() {
        return dev.identity();
    }

    // ---- buffers ----

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(1, 3, 32, 32)");
        checkOpen();
        if (dtype == DType.BF16) {
            throw new IllegalArgumentException("dtype = " + dtype + ": the OpenCL backend stores FP32, FP64 and FP16; e.g. DType.FP32");
        }
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, dev.maxAllocBytes(), maxAllocName());
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
                        + info.name() + " (" + e.getMessage() + ", also after a garbage collection that freed " + freed
                        + " bytes of unclosed buffers; global memory " + dev.globalMemBytes() + " bytes, live "
                        + tracker.liveBytes() + " bytes in " + tracker.liveBuffers() + " buffers of this session); close "
                        + "buffers you no longer need or split the batch", e);
            }
        }
    }

    private String maxAllocName() {
        return "this device's largest allocation, CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + dev.maxAllocBytes() + " on " + info.name()
                + "; global memory " + dev.globalMemBytes() + " bytes";
    }

    /** A zero-filled buffer (cpu allocates zeros too, so unwritten memory reads the same on every backend). */
    private ClBuffer create(DType dtype, Shape shape, long bytes) {
        synchronized (lock) {
            // Checked under the lock: close() releases the context under it, so a create can never see a freed one.
            checkOpen();
            // A reused block may hold an earlier buffer's values: zero it too. The in-order queue runs the
            // fill after every kernel already enqueued with that block's previous owner.
            CachingAllocator.Block<cl_mem> block = allocator.acquire(dtype, bytes);
            try {
                // FP32 and FP64 sizes are multiples of 4 and FP16 sizes of 2: a zero pattern of that many bytes covers the buffer.
                if (bytes % Sizeof.cl_int == 0) {
                    clEnqueueFillBuffer(queue, block.memory(), Pointer.to(new int[] {0}), Sizeof.cl_int, 0, bytes, 0, null, null);
                } else {
                    clEnqueueFillBuffer(queue, block.memory(), Pointer.to(new short[] {0}), Sizeof.cl_short, 0, bytes, 0, null, null);
                }
                CachingAllocator<cl_mem> a = allocator;
                return new ClBuffer(this, dtype, shape, block.memory(), false, () -> a.release(block));
            } catch (RuntimeException | Error e) {
                allocator.release(block);
                throw e;
            }
        }
    }

    @Override
    public CachingAllocator<?> allocator() {
        return allocator;
    }

    /**
     * A cl_mem of this session's context ({@link #nativeContext()}), of at least the bytes of
     * {@code shape} in {@code dtype}, used in place; jconv never releases it. The caller keeps it
     * alive until the buffer is closed, and orders its own work on it with {@link #nativeQueue()}.
     */
    @Override
    public DeviceBuffer wrap(DType dtype, Shape shape, io.github.jconv.spi.ExternalMemory memory) {
        checkOpen();
        if (memory.kind() != io.github.jconv.spi.ExternalMemory.Kind.CL_MEM || !(memory.handle() instanceof cl_mem m)) {
            throw memory.unsupportedBy(name(), "a JOCL cl_mem only: ExternalMemory.clMem(mem), made in engine.nativeContext()");
        }
        if (dtype == DType.BF16) {
            throw new IllegalArgumentException("dtype = " + dtype + ": the OpenCL backend stores FP32, FP64 and FP16; e.g. DType.FP32");
        }
        long bytes = AbstractDeviceBuffer.byteSize(dtype, shape, dev.maxAllocBytes(), maxAllocName());
        long size;
        cl_context owner = new cl_context();
        try {
            long[] v = new long[1];
            clGetMemObjectInfo(m, CL_MEM_SIZE, Sizeof.size_t, Pointer.to(v), null);
            size = v[0];
            clGetMemObjectInfo(m, CL_MEM_CONTEXT, Sizeof.cl_context, Pointer.to(owner), null);
        } catch (CLException e) {
            throw new IllegalArgumentException("clMem = " + m + ": not a valid OpenCL memory object (" + e.getMessage()
                    + "); pass a live cl_mem made with clCreateBuffer in engine.nativeContext()", e);
        }
        if (!owner.equals(context)) {
            throw new IllegalArgumentException("clMem = " + m + ": belongs to context " + owner + ", not this session's "
                    + context + "; create it in engine.nativeContext()");
        }
        if (size < bytes) {
            throw new IllegalArgumentException("clMem of " + size + " bytes is smaller than " + dtype + shape + " (" + bytes
                    + " bytes); pass a cl_mem of at least " + bytes + " bytes");
        }
        return new ClBuffer(this, dtype, shape, m, true, () -> { });
    }

    /** The buffer's cl_mem (the caller must not release it). */
    @Override
    public Object nativeHandle(DeviceBuffer buffer) {
        checkOpen();
        return own(buffer, "buffer").mem;
    }

    /** The in-order cl_command_queue every call of this session is enqueued on. */
    @Override
    public Object nativeQueue() {
        checkOpen();
        return queue;
    }

    @Override
    public Object nativeContext() {
        checkOpen();
        return context;
    }

    /** Bytes in native order, the buffer's dtype, copied as they are (the SPI's typed transfers convert in core). */
    @Override
    public void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        checkOpen();
        ClBuffer b = own(dst, "dst");
        int n = (int) HostValues.checkBytes("dst", b, dstOffset, src);
        if (n > 0) write(b, dstOffset, Pointer.to(src.slice()), n);
        src.position(src.limit());
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        checkOpen();
        ClBuffer b = own(src, "src");
        int n = (int) HostValues.checkBytes("src", b, srcOffset, dst);
        if (n > 0) read(b, srcOffset, Pointer.to(dst.slice()), n);
        dst.position(dst.limit());
    }

    private void write(ClBuffer b, long offset, Pointer host, int length) {
        int size = b.dtype().bytes();
        b.pin();
        try {
            synchronized (lock) {
                checkOpen();
                clEnqueueWriteBuffer(queue, b.mem, CL_TRUE, offset * size, (long) length * size, host, 0, null, null);
            }
        } catch (CLException e) {
            throw failed("upload of " + length + " values at element " + offset + " into " + b, e);
        } finally {
            b.unpin();
        }
    }

    private void read(ClBuffer b, long offset, Pointer host, int length) {
        int size = b.dtype().bytes();
        b.pin();
        try {
            synchronized (lock) {
                checkOpen();
                clEnqueueReadBuffer(queue, b.mem, CL_TRUE, offset * size, (long) length * size, host, 0, null, null);
            }
        } catch (CLException e) {
            throw failed("download of " + length + " values at element " + offset + " from " + b, e);
        } finally {
            b.unpin();
        }
    }

    /** A driver error as the exception a public call may throw, naming what was attempted. */
    private IllegalStateException failed(String what, CLException e) {
        return new IllegalStateException("OpenCL " + what + " on " + info.name() + " failed: " + e.getMessage(), e);
    }

    private ClBuffer own(DeviceBuffer buf, String role) {
        if (buf == null) throw new IllegalArgumentException(role + " = null: pass a buffer of this session");
        if (!(buf instanceof ClBuffer b) || b.owner() != this) {
            throw new IllegalArgumentException(role + " = " + buf + ": belongs to another session; allocate it with this one");
        }
        b.checkOpen();
        return b;
    }

    // ---- support, stated beside the implementation ----

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        if (dtype == DType.BF16) {
            return Support.no("the OpenCL backend stores FP32, FP64 and FP16; BF16 runs on the cuda backend");
        }
        // FP16 is storage only (vload_half / vstore_half, core OpenCL on every device, cl_khr_fp16 or not) with
        // FP32 arithmetic, for every non-deformable convolution and pass.
        if (dtype == DType.FP16 && spec.type() == ConvType.DEFORMABLE) {
            return Support.no("the OpenCL backend has no FP16 deformable kernels (FP16 covers the other convolution types); "
                    + "use FP32, or the cuda backend for FP16 deformable convolution");
        }
        if (dtype == DType.FP64 && !dev.fp64()) {
            return Support.no("device " + info.name() + " lacks cl_khr_fp64; use FP32 or a device with FP64");
        }
        if (pass == Pass.BACKWARD_OFFSET_MASK && spec.type() != ConvType.DEFORMABLE) {
            return Support.no("BACKWARD_OFFSET_MASK belongs to deformable convolution; this spec is " + spec.type());
        }
        List<Shape> shapes = new ArrayList<>(List.of(spec.inputShape(), spec.weightShape(), spec.outputShape()));
        long max = dev.maxAllocBytes();
        if (spec.type() == ConvType.DEFORMABLE) {
            shapes.add(spec.offsetShape());
            long colPerBatch = product(spec.inChannels(), spec.kernelVolume(), spec.outputSpatial(), dtype.bytes());
            if ((pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_OFFSET_MASK) && (colPerBatch < 0 || colPerBatch > max)) {
                return Support.no("the column gradient of one batch item needs " + (colPerBatch < 0 ? "more than " + Long.MAX_VALUE : colPerBatch)
                        + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + max + "; use fewer channels or a smaller output");
            }
        }
        for (Shape s : shapes) {
            long bytes = product(s.elementCount(), dtype.bytes());
            if (bytes < 0 || bytes > max) {
                return Support.no("a tensor of shape " + s + " needs " + (bytes < 0 ? "more than " + Long.MAX_VALUE + " (overflows a long)" : bytes)
                        + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + max + " on " + info.name() + "; split the batch");
            }
        }
        return Support.yes();
    }

    /** The product of non-negative factors, or -1 when it overflows a long. */
    static long product(long... factors) {
        long p = 1;
        for (long f : factors) {
            if (f != 0 && p > Long.MAX_VALUE / f) return -1;
            p *= f;
        }
        return p;
    }

    // ---- execution ----

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        checkOpen();
        DType dt = dtypeOf(pass, spec, args);
        Algorithms.Choice choice = Algorithms.choose(spec, pass, mode, dev.maxAllocBytes() / Math.max(1, dt.bytes()));
        List<DeviceBuffer> used = new ArrayList<>();
        for (Map.Entry<Role, DeviceBuffer> e : args.asMap().entrySet()) {
            own(e.getValue(), e.getKey().label());
            used.add(e.getValue());
        }
        // Pinned: a close() from another thread now marks a buffer closed but frees it only after this call.
        try (AbstractDeviceBuffer.Pins pins = AbstractDeviceBuffer.pinAll(used)) {
            synchronized (lock) {
                checkOpen();
                try {
                    if (spec.type() == ConvType.DEFORMABLE) {
                        if (dt == DType.FP16) throw new UnsupportedOperationException(supports(spec, pass, dt).reason());
                        runDeformable(family(dt, "deformable"), choice.path(), pass, spec, args, dt);
                    } else {
                        runConv(choice.path(), spec, args, dt);
                    }
                    // A buffer closed meanwhile is freed when the pins go: let the queued kernels finish with it first.
                    if (pins.anyClosed()) clFinish(queue);
                } catch (CLException e) {
                    throw failed(pass + " of " + spec, e);
                }
            }
        }
        last.set(rowScatter && pass == Pass.BACKWARD_DATA && spec.type() == ConvType.DEFORMABLE
                ? choice.label().replace("plane-scatter", "row-scatter")
                : implicitForward(choice.path(), spec) ? choice.label().replace("im2col+gemm", "implicit-gemm") : choice.label());
    }

    private DType dtypeOf(Pass pass, ConvSpec spec, ConvArgs args) {
        DType dt = null;
        for (Role r : pass.outputs(spec)) dt = own(args.get(r), r.label()).dtype();
        return dt;
    }

    private void runConv(Algorithms.Path path, ConvSpec spec, ConvArgs a, DType dt) {
        View v = new View(Algorithms.convGeometry(spec));
        boolean tr = spec.type() == ConvType.TRANSPOSED;
        Object bias = spec.bias() && a.has(Role.B) ? mem(a, Role.B) : null;
        switch (path) {
            // Convolution forward is view-forward; transposed backward-data is view-forward from dy to dx.
            case VIEW_FORWARD_DIRECT -> grid(family(dt, "conv"), "conv_forward", v.n * v.k * v.o,
                    join(tr ? mem(a, Role.DY) : mem(a, Role.X), mem(a, Role.W), orDummy(bias), bias != null ? 1 : 0,
                            tr ? mem(a, Role.DX) : mem(a, Role.Y), v.g));
            case VIEW_FORWARD_GEMM -> viewForwardGemm(v, tr ? mem(a, Role.DY) : mem(a, Role.X), mem(a, Role.W), bias,
                    tr ? mem(a, Role.DX) : mem(a, Role.Y), dt);
            // Convolution backward-data is view-backward-data; transposed forward is view-backward-data from x to y.
            case VIEW_BACKWARD_DATA_DIRECT -> grid(family(dt, "conv"), "conv_backward_data", v.n * v.c * v.i,
                    join(tr ? mem(a, Role.X) : mem(a, Role.DY), mem(a, Role.W), orDummy(bias), bias != null ? 1 : 0,
                            tr ? mem(a, Role.Y) : mem(a, Role.DX), v.g));
            case VIEW_BACKWARD_DATA_GEMM -> viewBackwardDataGemm(v, tr ? mem(a, Role.X) : mem(a, Role.DY), mem(a, Role.W), bias,
                    tr ? mem(a, Role.Y) : mem(a, Role.DX), dt);
            // The view's input is the transposed op's output, so for transposed x and dy trade places.
            case VIEW_BACKWARD_WEIGHT_DIRECT -> groups(family(dt, "conv"), "conv_backward_weight", spec.weightShape().elementCount(),
                    join(tr ? mem(a, Role.DY) : mem(a, Role.X), tr ? mem(a, Role.X) : mem(a, Role.DY), mem(a, Role.DW), v.g));
            case VIEW_BACKWARD_WEIGHT_GEMM -> viewBackwardWeightGemm(v, tr ? mem(a, Role.DY) : mem(a, Role.X),
                    tr ? mem(a, Role.X) : mem(a, Role.DY), mem(a, Role.DW), dt);
            case BIAS_REDUCE -> groups(family(dt, "conv"), "bias_backward", spec.outChannels(),
                    join(mem(a, Role.DY), mem(a, Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial()));
            default -> throw new IllegalStateException("path " + path + " is not a convolution path");
        }
    }

    /** Sizes of the convolution view: batch, channels in/out, groups, spatial in/out, taps. */
    private static final class View {
        final int[] g;
        final long n, c, k, groups, i, o, t, cg, kg;
        /** 1x1, stride 1, no padding, same size: the column matrix is the input itself. */
        final boolean identityColumns;

        View(int[] g) {
            this.g = g;
            n = g[0];
            c = g[1];
            k = g[2];
            groups = g[3];
            i = (long) g[4] * g[5] * g[6];
            o = (long) g[7] * g[8] * g[9];
            t = (long) g[10] * g[11] * g[12];
            cg = c / groups;
            kg = k / groups;
            boolean id = t == 1;
            for (int a = 0; a < 3; a++) id &= g[4 + a] == g[7 + a] && g[13 + a] == 1 && g[16 + a] == 0;
            identityColumns = id;
        }
    }

    /**
     * One GEMM operand as gemm.cl addresses it: offset, group stride, then for rows and columns a
     * stride and an optional split (index i reads (i / ns) * outer + (i % ns) * stride; ns = 0: none).
     */
    record Mat(cl_mem mem, long off, long sG, long sR, int nsR, long sRO, long sC, int nsC, long sCO) {
        static Mat of(cl_mem mem, long off, long sG, long sR, long sC) {
            return new Mat(mem, off, sG, sR, 0, 0, sC, 0, 0);
        }

        /** Columns j = item * ns + position, items {@code outer} apart: a batch of images as one matrix. */
        Mat splitCols(long ns, long outer) {
            return new Mat(mem, off, sG, sR, nsR, sRO, sC, Math.toIntExact(ns), outer);
        }

        /** Rows k = item * ns + position, items {@code outer} apart. */
        Mat splitRows(long ns, long outer) {
            return new Mat(mem, off, sG, sR, Math.toIntExact(ns), outer, sC, nsC, sCO);
        }
    }

    /** Batch items per chunk so that a chunk's column matrices stay within the scratch budget. */
    private int chunk(long batch, long perItemElements, DType dt) {
        long budget = Math.min(dev.maxAllocBytes(), colBudget) / dt.bytes();
        return (int) Math.max(1, Math.min(batch, budget / Math.max(1, perItemElements)));
    }

    /** Whether a view-forward GEMM pass of {@code spec} runs as an implicit GEMM (gemm_conv) on this session. */
    private boolean implicitForward(Algorithms.Path path, ConvSpec spec) {
        return implicitGemm && path == Algorithms.Path.VIEW_FORWARD_GEMM && spec.type() != ConvType.DEFORMABLE
                && !new View(Algorithms.convGeometry(spec)).identityColumns;
    }

    /** The view forward as one implicit GEMM per chunk of items (chunks only keep N = items * O within an int). */
    private void viewForwardImplicit(View v, cl_mem x, cl_mem w, Object bias, cl_mem y, DType dt) {
        long cgt = v.cg * v.t;
        int chunk = (int) Math.max(1, Math.min(v.n, Integer.MAX_VALUE / Math.max(1, v.o)));
        for (int n0 = 0; n0 < v.n; n0 += chunk) {
            int nb = (int) Math.min(chunk, v.n - n0);
            long cols = nb * v.o;
            Family f = gemmFamily(dt, GemmClass.of(v.kg, cols, cgt), null);
            cl_kernel k = f.kernels().get("gemm_conv");
            List<Object> args = join(Math.toIntExact(v.kg), Math.toIntExact(cols), Math.toIntExact(cgt));
            Mat a = Mat.of(w, 0, v.kg * cgt, cgt, 1);
            args.addAll(List.of(a.mem(), a.off(), a.sG(), a.sR(), a.nsR(), a.sRO(), a.sC(), a.nsC(), a.sCO()));
            args.addAll(List.of(x, n0, v.g[1], (int) v.cg));
            for (int i = 4; i < 22; i++) args.add(v.g[i]);
            Mat c = Mat.of(y, n0 * v.k * v.o, v.kg * v.o, v.o, 1).splitCols(v.o, v.k * v.o);
            args.addAll(List.of(c.mem(), c.off(), c.sG(), c.sR(), c.nsR(), c.sRO(), c.sC(), c.nsC(), c.sCO()));
            args.addAll(List.of(orDummy(bias), bias != null ? 1 : 0, 0));
            setArgs(k, args);
            launchGemm(k, f.gemmTiles(), v.groups, v.kg, cols);
        }
    }

    private void viewForwardGemm(View v, cl_mem x, cl_mem w, Object bias, cl_mem y, DType dt) {
        if (implicitGemm && !v.identityColumns) {
            viewForwardImplicit(v, x, w, bias, y, dt);
            return;
        }
        long cgt = v.cg * v.t;
        long perItem = v.c * v.t * v.o;
        int chunk = chunk(v.n, perItem, dt);
        cl_mem col = v.identityColumns ? null : scratch(perItem * chunk * dt.bytes());
        for (int n0 = 0; n0 < v.n; n0 += chunk) {
            int nb = (int) Math.min(chunk, v.n - n0);
            Mat b;
            if (col != null) {
                grid(family(dt, "im2col"), "im2col", nb * perItem, join(x, col, n0, v.g));
                b = Mat.of(col, 0, cgt * v.o, v.o, 1).splitCols(v.o, perItem);
            } else {
                b = Mat.of(x, n0 * v.c * v.i, v.cg * v.i, v.i, 1).splitCols(v.o, v.c * v.i);
            }
            gemm(dt, v.groups, v.kg, nb * v.o, cgt, Mat.of(w, 0, v.kg * cgt, cgt, 1), b,
                    Mat.of(y, n0 * v.k * v.o, v.kg * v.o, v.o, 1).splitCols(v.o, v.k * v.o), bias, false);
        }
    }

    private void viewBackwardDataGemm(View v, cl_mem dy, cl_mem w, Object bias, cl_mem dx, DType dt) {
        long cgt = v.cg * v.t;
        long perItem = v.c * v.t * v.o;
        int chunk = chunk(v.n, perItem, dt);
        cl_mem col = v.identityColumns ? null : scratch(perItem * chunk * dt.bytes());
        for (int n0 = 0; n0 < v.n; n0 += chunk) {
            int nb = (int) Math.min(chunk, v.n - n0);
            // columns = W^T dy: the weight read with its two strides swapped.
            Mat a = Mat.of(w, 0, v.kg * cgt, 1, cgt);
            Mat b = Mat.of(dy, n0 * v.k * v.o, v.kg * v.o, v.o, 1).splitCols(v.o, v.k * v.o);
            if (col != null) {
                gemm(dt, v.groups, cgt, nb * v.o, v.kg, a, b, Mat.of(col, 0, cgt * v.o, v.o, 1).splitCols(v.o, perItem), null, false);
                grid(family(dt, "im2col"), "col2im", nb * v.c * v.i, join(col, orDummy(bias), bias != null ? 1 : 0, dx, n0, v.g));
            } else {
                gemm(dt, v.groups, cgt, nb * v.o, v.kg, a, b,
                        Mat.of(dx, n0 * v.c * v.i, v.cg * v.i, v.i, 1).splitCols(v.o, v.c * v.i), bias, false);
            }
        }
    }

    private void viewBackwardWeightGemm(View v, cl_mem x, cl_mem dy, cl_mem dw, DType dt) {
        long cgt = v.cg * v.t;
        long perItem = v.c * v.t * v.o;
        int chunk = chunk(v.n, perItem, dt);
        cl_mem col = v.identityColumns ? null : scratch(perItem * chunk * dt.bytes());
        for (int n0 = 0; n0 < v.n; n0 += chunk) {
            int nb = (int) Math.min(chunk, v.n - n0);
            Mat b;
            if (col != null) {
                grid(family(dt, "im2col"), "im2col", nb * perItem, join(x, col, n0, v.g));
                b = Mat.of(col, 0, cgt * v.o, 1, v.o).splitRows(v.o, perItem);
            } else {
                b = Mat.of(x, n0 * v.c * v.i, v.cg * v.i, 1, v.i).splitRows(v.o, v.c * v.i);
            }
            // dW (+)= dy * columns^T over the chunk's items and positions; chunks summed in order, no atomics.
            Mat a = Mat.of(dy, n0 * v.k * v.o, v.kg * v.o, v.o, 1).splitCols(v.o, v.k * v.o);
            int slices = v.groups == 1 ? splitK(dt, v.kg, cgt, nb, v.o) : 1;
            if (slices > 1) {
                weightGemmSplitK(dt, v, a, b, col != null ? perItem : v.c * v.i, nb, slices, dw, n0 > 0);
            } else {
                gemm(dt, v.groups, v.kg, cgt, nb * v.o, a, b, Mat.of(dw, 0, v.kg * cgt, cgt, 1), null, n0 > 0);
            }
        }
    }

    /**
     * How many slices of whole items the K range (items x positions) of a weight-gradient GEMM of {@code items}
     * splits into: enough for about two work-groups per compute unit when the M x N tiles alone are fewer
     * (a 64 x 576 weight gradient is 9 tiles: a GPU would idle), at most one slice per item;
     * -Djconv.opencl.splitK=S caps it at S (1: never split).
     */
    private int splitK(DType dt, long m, long n, int items, long positions) {
        // FP16 storage: each slice's partial sum would be rounded to half before gemm_sum adds them (two roundings
        // instead of one after a float sum; an NVIDIA H200 run showed whole half-step errors), so never split.
        if (items < 2 || dt == DType.FP16) return 1;
        int max = items;
        if (options.splitK() > 0) {
            max = Math.min(items, options.splitK());
            if (max > 1 && options.splitKForce()) return max;
        }
        int[] t = gemmFamily(dt, GemmClass.of(m, n, (long) items * positions), null).gemmTiles();
        long tiles = ((m + t[0] - 1) / t[0]) * ((n + t[1] - 1) / t[1]);
        long target = 2L * Math.max(1, info.computeUnits());
        if (tiles >= target) return 1;
        return (int) Math.max(1, Math.min(max, (target + tiles - 1) / tiles));
    }

    /**
     * dW (+)= dy * columns^T with the chunk's {@code nb} items split into {@code slices} runs of whole items: each
     * run's partial product goes to its own M x N slot of a temporary buffer (the full runs as one batched GEMM,
     * a shorter last run as another), then gemm_sum adds the slots in order into dW. {@code bItemStride}: the
     * distance between items in the B operand.
     */
    private void weightGemmSplitK(DType dt, View v, Mat a, Mat b, long bItemStride, int nb, int slices, cl_mem dw, boolean accumulate) {
        long m = v.kg, n = v.cg * v.t;
        int per = (nb + slices - 1) / slices;
        int full = nb / per;
        int rest = nb - full * per;
        int used = full + (rest > 0 ? 1 : 0);
        long mn = m * n;
        cl_mem part = clCreateBuffer(context, CL_MEM_READ_WRITE, used * mn * dt.bytes(), null, null);
        try {
            Mat pa = new Mat(a.mem(), a.off(), (long) per * v.k * v.o, a.sR(), a.nsR(), a.sRO(), a.sC(), a.nsC(), a.sCO());
            Mat pb = new Mat(b.mem(), b.off(), per * bItemStride, b.sR(), b.nsR(), b.sRO(), b.sC(), b.nsC(), b.sCO());
            gemm(dt, full, m, n, (long) per * v.o, pa, pb, Mat.of(part, 0, mn, n, 1), null, false);
            if (rest > 0) {
                Mat ra = new Mat(a.mem(), a.off() + (long) full * per * v.k * v.o, 0, a.sR(), a.nsR(), a.sRO(), a.sC(), a.nsC(), a.sCO());
                Mat rb = new Mat(b.mem(), b.off() + (long) full * per * bItemStride, 0, b.sR(), b.nsR(), b.sRO(), b.sC(), b.nsC(), b.sCO());
                gemm(dt, 1, m, n, (long) rest * v.o, ra, rb, Mat.of(part, (long) full * mn, 0, n, 1), null, false);
            }
            Family f = gemmFamily(dt, GemmClass.of(m, n, (long) per * v.o), null);
            grid(f, "gemm_sum", mn, join(used, part, dw, accumulate ? 1 : 0));
        } finally {
            // freed once the queued kernels that use it finish
            clReleaseMemObject(part);
        }
    }

    private void gemm(DType dt, long batches, long m, long nCols, long kDepth, Mat a, Mat b, Mat c, Object bias, boolean accumulate) {
        gemm(gemmFamily(dt, GemmClass.of(m, nCols, kDepth), null), batches, m, nCols, kDepth, a, b, c, bias, accumulate);
    }

    private void gemm(Family f, long batches, long m, long nCols, long kDepth, Mat a, Mat b, Mat c, Object bias, boolean accumulate) {
        cl_kernel k = f.kernels().get("gemm");
        int[] cfg = f.gemmTiles();
        List<Object> args = join(Math.toIntExact(m), Math.toIntExact(nCols), Math.toIntExact(kDepth));
        for (Mat x : new Mat[] {a, b, c}) {
            args.addAll(List.of(x.mem(), x.off(), x.sG(), x.sR(), x.nsR(), x.sRO(), x.sC(), x.nsC(), x.sCO()));
        }
        args.addAll(List.of(orDummy(bias), bias != null ? 1 : 0, accumulate ? 1 : 0));
        setArgs(k, args);
        launchGemm(k, cfg, batches, m, nCols);
    }

    /** A gemm.cl kernel over an m x nCols result per batch, with the work-group shape of parameter set {@code cfg}. */
    private void launchGemm(cl_kernel k, int[] cfg, long batches, long m, long nCols) {
        long lm = cfg[0] / cfg[3];
        long ln = cfg[1] / cfg[4];
        long gm = (m + cfg[0] - 1) / cfg[0];
        long gn = (nCols + cfg[1] - 1) / cfg[1];
        clEnqueueNDRangeKernel(queue, k, 3, null, new long[] {gm * lm, gn * ln, batches}, new long[] {lm, ln, 1}, 0, null, null);
    }

    private Object orDummy(Object bufferOrNull) {
        return bufferOrNull == null ? dummy : bufferOrNull;
    }

    /** The session's scratch buffer, grown to at least {@code bytes}; only used under the lock, on the in-order queue. */
    private cl_mem scratch(long bytes) {
        if (scratch == null || scratchBytes < bytes) {
            if (bytes > dev.maxAllocBytes()) {
                throw new UnsupportedOperationException("the column matrix of one batch item needs " + bytes
                        + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + dev.maxAllocBytes() + "; use -D"
                        + Algorithms.MODE_PROPERTY + "=direct or a smaller problem");
            }
            // Released after the queued kernels that use it finish (OpenCL defers the free).
            if (scratch != null) clReleaseMemObject(scratch);
            scratch = null;
            scratch = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
            scratchBytes = bytes;
        }
        return scratch;
    }

    private void runDeformable(Family f, Algorithms.Path path, Pass pass, ConvSpec spec, ConvArgs a, DType dt) {
        int[] g = Algorithms.deformGeometry(spec);
        boolean m = spec.modulated() && pass != Pass.BACKWARD_BIAS;
        Object mask = m ? mem(a, Role.MASK) : dummy;
        int hasMask = m ? 1 : 0;
        Object bias = spec.bias() && a.has(Role.B) ? mem(a, Role.B) : null;
        long groups = spec.groups();
        long o = spec.outputSpatial();
        long t = spec.kernelVolume();
        long c = spec.inChannels();
        long k = spec.outChannels();
        long cgt = c / groups * t;
        long kg = k / groups;
        long perBatch = c * t * o;
        switch (path) {
            case DEFORM_FORWARD -> grid(f, "deform_forward", spec.outputShape().elementCount(),
                    join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask, mem(a, Role.W), orDummy(bias), bias != null ? 1 : 0,
                            mem(a, Role.Y), g));
            case DEFORM_FORWARD_GEMM -> {
                int chunk = chunk(spec.batch(), perBatch, dt);
                cl_mem col = scratch(perBatch * chunk * dt.bytes());
                for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                    int nb = Math.min(chunk, spec.batch() - n0);
                    grid(f, "deform_im2col", nb * perBatch, join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask, col, g, n0));
                    gemm(dt, groups, kg, nb * o, cgt, Mat.of(mem(a, Role.W), 0, kg * cgt, cgt, 1),
                            Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perBatch),
                            Mat.of(mem(a, Role.Y), n0 * k * o, kg * o, o, 1).splitCols(o, k * o), bias, false);
                }
            }
            case DEFORM_WEIGHT -> groups(f, "deform_weight_grad", spec.weightShape().elementCount(),
                    join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask, mem(a, Role.DY), mem(a, Role.DW), g));
            case DEFORM_WEIGHT_GEMM -> {
                int chunk = chunk(spec.batch(), perBatch, dt);
                cl_mem col = scratch(perBatch * chunk * dt.bytes());
                for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                    int nb = Math.min(chunk, spec.batch() - n0);
                    grid(f, "deform_im2col", nb * perBatch, join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask, col, g, n0));
                    gemm(dt, groups, kg, cgt, nb * o, Mat.of(mem(a, Role.DY), n0 * k * o, kg * o, o, 1).splitCols(o, k * o),
                            Mat.of(col, 0, cgt * o, 1, o).splitRows(o, perBatch), Mat.of(mem(a, Role.DW), 0, kg * cgt, cgt, 1), null, n0 > 0);
                }
            }
            case DEFORM_BIAS -> groups(f, "deform_bias_grad", spec.outChannels(),
                    join(mem(a, Role.DY), mem(a, Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial()));
            case DEFORM_DATA, DEFORM_OFFSET_MASK, DEFORM_DATA_GEMM, DEFORM_OFFSET_MASK_GEMM -> {
                boolean viaGemm = path == Algorithms.Path.DEFORM_DATA_GEMM || path == Algorithms.Path.DEFORM_OFFSET_MASK_GEMM;
                int chunk = chunk(spec.batch(), perBatch, dt);
                cl_mem col = scratch(perBatch * chunk * dt.bytes());
                for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                    int nb = Math.min(chunk, spec.batch() - n0);
                    if (viaGemm) {
                        // Column gradient W^T dy_n: the weight read with its two strides swapped.
                        gemm(dt, groups, cgt, nb * o, kg, Mat.of(mem(a, Role.W), 0, kg * cgt, 1, cgt),
                                Mat.of(mem(a, Role.DY), n0 * k * o, kg * o, o, 1).splitCols(o, k * o),
                                Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perBatch), null, false);
                    } else {
                        grid(f, "deform_col_grad", perBatch * nb, join(mem(a, Role.DY), mem(a, Role.W), col, g, n0));
                    }
                    if (pass == Pass.BACKWARD_DATA) {
                        long planes = (long) nb * spec.inChannels();
                        grid(f, rowScatter ? "deform_input_grad_rows" : "deform_input_grad", rowScatter ? planes * spec.input(0) : planes,
                                join(col, mem(a, Role.OFFSET), mask, hasMask, mem(a, Role.DX), g, n0));
                    } else {
                        long total = (long) nb * spec.offsetGroups() * t * o;
                        grid(f, "deform_offset_mask_grad", total, join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask,
                                col, mem(a, Role.DOFFSET), m ? mem(a, Role.DMASK) : dummy, g, n0));
                    }
                }
            }
            default -> throw new IllegalStateException("path " + path + " is not a deformable path");
        }
    }

    private static cl_mem mem(ConvArgs a, Role r) {
        return ((ClBuffer) a.get(r)).mem;
    }

    private static List<Object> join(Object... parts) {
        List<Object> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof int[] ints) {
                for (int v : ints) out.add(v);
            } else {
                out.add(p);
            }
        }
        return out;
    }

    /** A grid-stride launch: the kernel's last two arguments are total and step (the global size). */
    private void grid(Family f, String name, long total, List<Object> args) {
        cl_kernel k = f.kernels().get(name);
        long local = f.groupSizes().get(name);
        long groupsWanted = (total + local - 1) / local;
        long groupCap = Math.max(1L, (long) info.computeUnits() * 64);
        long global = Math.max(1, Math.min(groupsWanted, groupCap)) * local;
        int i = setArgs(k, args);
        clSetKernelArg(k, i++, Sizeof.cl_long, Pointer.to(new long[] {total}));
        clSetKernelArg(k, i, Sizeof.cl_long, Pointer.to(new long[] {global}));
        clEnqueueNDRangeKernel(queue, k, 1, null, new long[] {global}, new long[] {local}, 0, null, null);
    }

    /** One work-group of exactly RED_WG items per output value. */
    private void groups(Family f, String name, long count, List<Object> args) {
        cl_kernel k = f.kernels().get(name);
        setArgs(k, args);
        clEnqueueNDRangeKernel(queue, k, 1, null, new long[] {count * f.redWg()}, new long[] {f.redWg()}, 0, null, null);
    }

    private static int setArgs(cl_kernel k, List<Object> args) {
        int i = 0;
        for (Object o : args) {
            if (o instanceof cl_mem m) {
                clSetKernelArg(k, i++, Sizeof.cl_mem, Pointer.to(m));
            } else if (o instanceof Integer v) {
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[] {v}));
            } else if (o instanceof Long v) {
                clSetKernelArg(k, i++, Sizeof.cl_long, Pointer.to(new long[] {v}));
            } else {
                throw new IllegalStateException("kernel argument " + i + " has unexpected type " + o.getClass());
            }
        }
        return i;
    }

    // ---- programs ----

    /** The GEMM parameter set every GEMM of a session uses when set: "TSM,TSN,TSK,WPTM,WPTN[,VW[,DB]]" (tests, tuning). */
    static final String GEMM_PROPERTY = "jconv.opencl.gemm";
    /** The older spelling of {@link #GEMM_PROPERTY} (five integers). */
    static final String GEMM_TILES_PROPERTY = "jconv.opencl.gemmTiles";
    /** true: GEMM forwards (other than 1x1 stride-1 unpadded) read the input in place (implicit GEMM, no column matrix). */
    static final String IMPLICIT_GEMM_PROPERTY = "jconv.opencl.implicitGemm";
    /** The most K slices of a weight-gradient GEMM (1: no split-K); with {@code .force=true}, exactly that many (tests). */
    static final String SPLIT_K_PROPERTY = "jconv.opencl.splitK";
    /** The tuning database's key for the tuner's implicit-GEMM choice. */
    static final String IMPLICIT_GEMM_KEY = "conv.implicit";

    /** Tuning: switches the implicit GEMM forward on or off for this session. */
    void implicitGemm(boolean on) {
        implicitGemm = on;
    }

    /**
     * The GEMM program for class {@code c}: {@code forced} when given (the tuner; null when it does not fit),
     * else the first that fits the device and its built kernel of: the override property, this device's
     * tuned winner, the built-in default, the small fallbacks.
     */
    private Family gemmFamily(DType dt, GemmClass c, GemmParams forced) {
        String dkey = dt.name().toLowerCase(java.util.Locale.ROOT);
        List<GemmParams> chain;
        if (forced != null) {
            chain = List.of(forced);
        } else {
            GemmParams known = gemmChoice.get(dkey + "." + c.key());
            chain = known != null ? List.of(known) : GemmDefaults.chain(gemmOverride != null ? gemmOverride : tuning.get(dkey, c),
                    String.valueOf(info.properties().get("vendor")), info.type(), c);
        }
        Map<String, Family> byName = families.computeIfAbsent(dt, d -> new HashMap<>());
        String real = realOptions(dt);
        for (GemmParams p : chain) {
            String name = "gemm/" + p;
            Family f = byName.get(name);
            if (f == null) {
                if (!p.fits(dev.maxWorkGroupSize(), dev.maxItemSize0(), dev.maxWorkGroupSize(), dev.localMemBytes(), arithmeticBytes(dt))) continue;
                f = build(dt, "gemm", real + " " + p.defines(), 0,
                        new int[] {p.tsm(), p.tsn(), p.tsk(), p.wptm(), p.wptn(), p.vw(), p.db() ? 1 : 0});
                if (smallestGroup(f) < p.threads()) {
                    release(f);
                    continue;
                }
                byName.put(name, f);
            }
            if (forced == null) gemmChoice.put(dkey + "." + c.key(), p);
            return f;
        }
        if (forced != null) return null;
        throw new UnsupportedOperationException("no GEMM parameter set fits device " + info.name() + "; use -D"
                + Algorithms.MODE_PROPERTY + "=direct");
    }

    /** The parameter set GEMMs of {@code dtype} and class {@code c} run with on this session (resolving it if needed). */
    GemmParams gemmParams(DType dtype, GemmClass c) {
        synchronized (lock) {
            checkOpen();
            gemmFamily(dtype, c, null);
            return gemmChoice.get(dtype.name().toLowerCase(java.util.Locale.ROOT) + "." + c.key());
        }
    }

    /**
     * Tuning: C = A B (A m x k, B k x n, C m x n, all row-major) with parameter set {@code p}, enqueued
     * {@code runs} times; returns false (running nothing) when {@code p} does not fit this device.
     */
    boolean runGemm(GemmParams p, DType dt, int m, int n, int k, ClBuffer a, ClBuffer b, ClBuffer c, int runs) {
        synchronized (lock) {
            checkOpen();
            Family f;
            try {
                f = gemmFamily(dt, GemmClass.of(m, n, k), p);
            } catch (CLException e) {
                throw failed("building the GEMM with " + p, e);
            }
            if (f == null) return false;
            try {
                for (int r = 0; r < runs; r++) {
                    gemm(f, 1, m, n, k, Mat.of(a.mem, 0, 0, k, 1), Mat.of(b.mem, 0, 0, n, 1), Mat.of(c.mem, 0, 0, n, 1), null, false);
                }
            } catch (CLException e) {
                throw failed("the GEMM with " + p, e);
            }
            return true;
        }
    }

    private Family family(DType dt, String name) {
        Map<String, Family> byName = families.computeIfAbsent(dt, d -> new HashMap<>());
        Family f = byName.get(name);
        if (f != null) return f;
        String real = realOptions(dt);
        switch (name) {
            case "im2col" -> f = build(dt, name, real, 0, null);
            default -> {
                int redWg = (int) Long.highestOneBit(Math.min(PREFERRED_GROUP, Math.min(dev.maxWorkGroupSize(), dev.maxItemSize0())));
                while (true) {
                    f = build(dt, name, real + " -DRED_WG=" + redWg, redWg, null);
                    long smallest = smallestGroup(f);
                    if (smallest >= redWg || redWg == 1) break;
                    // A kernel allows fewer items than RED_WG: rebuild with the largest power of two it allows.
                    release(f);
                    redWg = (int) Long.highestOneBit(Math.max(1, smallest));
                }
            }
        }
        byName.put(name, f);
        return f;
    }

    /**
     * The build options of a dtype: its arithmetic type, and for FP16 half storage (-DSTORE_HALF=1). The options are
     * part of the program cache key, so the half programs are cached apart from the float ones.
     */
    private static String realOptions(DType dt) {
        return switch (dt) {
            case FP64 -> "-DREAL=double -DJCONV_FP64=1";
            case FP16 -> "-DREAL=float -DJCONV_FP64=0 -DSTORE_HALF=1";
            default -> "-DREAL=float -DJCONV_FP64=0";
        };
    }

    /** Bytes of one value of the arithmetic (and local-memory) type of {@code dt}: float for FP16. */
    private static int arithmeticBytes(DType dt) {
        return dt == DType.FP16 ? Sizeof.cl_float : dt.bytes();
    }

    private long smallestGroup(Family f) {
        long smallest = Long.MAX_VALUE;
        for (cl_kernel k : f.kernels().values()) smallest = Math.min(smallest, kernelLong(k, CL_KERNEL_WORK_GROUP_SIZE));
        return smallest;
    }

    private Family build(DType dt, String name, String options, int redWg, int[] gemmTiles) {
        cl_program p = programs.get(name + ".cl", KernelSources.source(name), options);
        try {
            return buildKernels(p, name, redWg, gemmTiles);
        } catch (CLException e) {
            // A cached binary of another program that passed every check (CL_INVALID_KERNEL_NAME): build from source, once.
            p = programs.rebuild(name + ".cl", KernelSources.source(name), options);
            return buildKernels(p, name, redWg, gemmTiles);
        }
    }

    private Family buildKernels(cl_program p, String name, int redWg, int[] gemmTiles) {
        Map<String, cl_kernel> ks = new HashMap<>();
        Map<String, Long> sizes = new HashMap<>();
        try {
            for (String kn : KernelSources.kernelNames(name)) {
                cl_kernel k = clCreateKernel(p, kn, null);
                ks.put(kn, k);
                sizes.put(kn, localSize(k));
            }
        } catch (RuntimeException e) {
            for (cl_kernel k : ks.values()) clReleaseKernel(k);
            throw e;
        }
        return new Family(p, ks, sizes, redWg, gemmTiles);
    }

    private long localSize(cl_kernel k) {
        long max = Math.min(kernelLong(k, CL_KERNEL_WORK_GROUP_SIZE), Math.min(dev.maxItemSize0(), PREFERRED_GROUP));
        long multiple = kernelLong(k, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE);
        long local = multiple > 0 && max >= multiple ? max / multiple * multiple : max;
        return Math.max(1, local);
    }

    private long kernelLong(cl_kernel k, int param) {
        long[] v = new long[1];
        clGetKernelWorkGroupInfo(k, dev.device(), param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static void release(Family f) {
        for (cl_kernel k : f.kernels().values()) clReleaseKernel(k);
    }

    // ---- lifecycle ----

    @Override
    public String lastAlgorithm() {
        return last.get();
    }

    @Override
    public void synchronize() {
        synchronized (lock) {
            checkOpen();
            try {
                clFinish(queue);
            } catch (CLException e) {
                throw failed("clFinish", e);
            }
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("OpenCL session on " + info.name() + " is closed: open a new one");
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            clFinish(queue);
            for (Map<String, Family> m : families.values()) for (Family f : m.values()) release(f);
            families.clear();
            programs.close();
            allocator.close();
            clReleaseMemObject(dummy);
            if (scratch != null) clReleaseMemObject(scratch);
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
        }
    }
}
