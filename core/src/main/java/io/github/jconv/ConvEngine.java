package io.github.jconv;

import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.CachingAllocator;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;
import io.github.jconv.spi.Support;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * The functional API: one backend session on one device, every call validated here before the
 * backend sees it. Open with {@link #open()} (selection from {@code jconv.backend} /
 * {@code JCONV_BACKEND}, else the best-ranked available backend, see {@link BackendSelection};
 * only the providers the choice needs are probed) and close when done.
 *
 * <pre>{@code
 * try (ConvEngine e = ConvEngine.open()) {
 *     ConvSpec spec = ConvSpec.parse("mb1ic3ih32oc8kh3ph1");
 *     DeviceBuffer x = e.upload(input, spec.inputShape());
 *     DeviceBuffer w = e.upload(weights, spec.weightShape());
 *     DeviceBuffer b = e.upload(bias, spec.biasShape());
 *     float[] y = e.downloadFloats(e.forward(spec, x, w, b));
 * }
 * }</pre>
 */
public final class ConvEngine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.github.jconv");

    private final ConvBackend backend;
    private final String report;
    /** Set on this thread when the last call was answered by the engine alone (batch 0). */
    private final ThreadLocal<String> engineAlgorithm = new ThreadLocal<>();

    private ConvEngine(ConvBackend backend, String report) {
        this.backend = backend;
        this.report = report;
    }

    /** Every provider on the classpath, found by ServiceLoader; loading them loads no native library. */
    public static List<ConvBackendProvider> providers() {
        List<ConvBackendProvider> out = new ArrayList<>();
        for (ConvBackendProvider p : ServiceLoader.load(ConvBackendProvider.class)) out.add(p);
        return out;
    }

    public static ConvEngine open() {
        return open(EngineOptions.fromEnvironment());
    }

    public static ConvEngine open(EngineOptions options) {
        return open(providers(), options);
    }

    /** Selection among the given providers (tests, or an application that lists its own). */
    public static ConvEngine open(List<ConvBackendProvider> providers, EngineOptions options) {
        if (providers == null) throw new IllegalArgumentException("providers = null: pass ConvEngine.providers()");
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.defaults()");
        // lazy: only the providers the selection rules need are probed (a named backend alone when usable)
        BackendSelection.Decision d = BackendSelection.choose(providers, options, ConvEngine::probe);
        if (d.fellBack() && options.fallback() == FallbackPolicy.WARN) {
            LOG.log(System.Logger.Level.WARNING, d.report());
        }
        ProbeResult probe = d.chosen().probe();
        int device = d.fellBack() ? 0 : options.device();
        if (device >= probe.devices().size()) {
            throw new IllegalArgumentException("device = " + device + ": backend " + d.chosen().provider().name()
                    + " has " + probe.devices().size() + " device(s); use 0.." + (probe.devices().size() - 1));
        }
        ConvBackend b = d.chosen().provider().open(device, options);
        return new ConvEngine(b, d.report() + "; device " + device + ": " + b.device().name());
    }

    /** Opens exactly this provider's device, with no selection (conformance runs, probes); settings from the system now. */
    public static ConvEngine open(ConvBackendProvider provider, int device) {
        return open(provider, device, EngineOptions.fromSystem());
    }

    /** Opens exactly this provider's device with {@code options}' settings; their selection fields are not used. */
    public static ConvEngine open(ConvBackendProvider provider, int device, EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        if (provider == null) throw new IllegalArgumentException("provider = null: pass a ConvBackendProvider");
        ProbeResult probe = probe(provider);
        if (!probe.available()) {
            throw new IllegalStateException("backend " + provider.name() + " is unavailable: " + probe.reason()
                    + (probe.fix().isEmpty() ? "" : " (fix: " + probe.fix() + ")"));
        }
        if (device < 0 || device >= probe.devices().size()) {
            throw new IllegalArgumentException("device = " + device + ": backend " + provider.name() + " has "
                    + probe.devices().size() + " device(s); use 0.." + (probe.devices().size() - 1));
        }
        ConvBackend b = provider.open(device, options);
        return new ConvEngine(b, "backend " + provider.name() + " chosen explicitly; device " + device + ": " + b.device().name());
    }

    /** Wraps an already open session (tests of wrappers, fault injection). */
    public static ConvEngine wrap(ConvBackend backend) {
        if (backend == null) throw new IllegalArgumentException("backend = null: pass an open ConvBackend");
        return new ConvEngine(backend, "backend " + backend.name() + " given directly");
    }

    /** A provider's probe that cannot throw: a broken probe becomes an unavailable result naming what it threw. */
    public static ProbeResult probe(ConvBackendProvider p) {
        if (p == null) throw new IllegalArgumentException("provider = null: pass one of ConvEngine.providers()");
        try {
            ProbeResult r = p.probe();
            return r != null ? r : ProbeResult.unavailable(p.name(), "probe returned null", "report this as a bug of the provider");
        } catch (Throwable t) { // a probe must never take the caller down, even through a LinkageError
            return ProbeResult.unavailable(p.name(), "probe threw " + t, "report this as a bug of the provider");
        }
    }

    public ConvBackend backend() {
        return backend;
    }

    public String backendName() {
        return backend.name();
    }

    public DeviceInfo device() {
        return backend.device();
    }

    /** How the backend was chosen, including any fallback. */
    public String selectionReport() {
        return report;
    }

    /** The algorithm the last call on this thread ran. */
    public String lastAlgorithm() {
        String own = engineAlgorithm.get();
        return own != null ? own : backend.lastAlgorithm();
    }

    // ---- buffers ----

    /**
     * A buffer of {@code dtype} and {@code shape}. A shape with no elements (batch 0) gets an
     * engine-side empty buffer: no backend allocation (OpenCL and CUDA refuse size 0), and every
     * transfer and pass of this engine accepts it.
     */
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(1, 3, 32, 32)");
        if (shape.elementCount() == 0) return new EmptyBuffer(this, dtype, shape);
        return backend.allocate(dtype, shape);
    }

    public DeviceBuffer upload(float[] data, Shape shape) {
        return upload(DType.FP32, data, shape);
    }

    // ---- interop: the caller's memory, queue and context ----

    /**
     * Wraps memory the caller owns as a buffer of this engine, with its dtype and shape, without a
     * copy where the backend can (cpu: a float[] used in place when it is exactly the buffer, else
     * staged through a copy in each call; opencl: the cl_mem itself; cuda: the device pointer itself).
     * The memory must hold at least the bytes of {@code shape} in {@code dtype}; jconv never frees it:
     * {@link DeviceBuffer#close()} ends jconv's use only. Ordering: see {@link #nativeQueue()}.
     */
    public DeviceBuffer wrap(DType dtype, Shape shape, ExternalMemory memory) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(1, 3, 32, 32)");
        if (memory == null) throw new IllegalArgumentException("memory = null: e.g. ExternalMemory.floats(array, 0)");
        if (shape.elementCount() == 0) return new EmptyBuffer(this, dtype, shape);
        return backend.wrap(dtype, shape, memory);
    }

    /** FP32 {@code array} from element {@code offset} on, as a buffer of {@code shape} (cpu backend). */
    public DeviceBuffer wrap(float[] array, int offset, Shape shape) {
        return wrap(DType.FP32, shape, ExternalMemory.floats(array, offset));
    }

    /** FP32 {@code buffer} from its position on, as a buffer of {@code shape} (cpu backend). */
    public DeviceBuffer wrap(java.nio.FloatBuffer buffer, Shape shape) {
        return wrap(DType.FP32, shape, ExternalMemory.floats(buffer));
    }

    /**
     * The native handle of one of this engine's buffers for the caller's own kernels (cpu: a
     * FloatBuffer over its values; opencl: its cl_mem; cuda: its CUdeviceptr). Valid until the buffer
     * is closed; the caller must not free it.
     */
    public Object nativeHandle(DeviceBuffer buffer) {
        checkOwned("buffer", buffer);
        if (buffer instanceof EmptyBuffer) {
            throw new IllegalArgumentException("buffer " + buffer + " has no elements, so no device memory; give a buffer with elements");
        }
        return backend.nativeHandle(buffer);
    }

    /** The raw device address of one of this engine's buffers (cuda only), e.g. for JavaCPP's NCCL presets. */
    public long nativeAddress(DeviceBuffer buffer) {
        checkOwned("buffer", buffer);
        if (buffer instanceof EmptyBuffer) {
            throw new IllegalArgumentException("buffer " + buffer + " has no elements, so no device memory; give a buffer with elements");
        }
        return backend.nativeAddress(buffer);
    }

    /**
     * The in-order queue or stream all of this engine's work runs on: opencl the
     * {@code cl_command_queue}, cuda the {@code CUstream}; null for cpu, whose calls have finished
     * when they return. Ordering rule: work the caller enqueues on this same queue runs after the
     * jconv calls that returned before it was enqueued, and before the jconv calls made after it.
     * Work on any other queue or stream is not ordered with jconv's: finish it (clFinish,
     * cuStreamSynchronize, or an event the caller waits for) before passing its memory to jconv, and call
     * {@link #synchronize()} before reading jconv's results from it. Results reach the host only through
     * a download (which waits for the queue) or after {@link #synchronize()}.
     */
    public Object nativeQueue() {
        return backend.nativeQueue();
    }

    /** The native context buffers must belong to: opencl the {@code cl_context}, cuda the {@code CUcontext}; null for cpu. */
    public Object nativeContext() {
        return backend.nativeContext();
    }

    /** Blocks until every call made so far has finished on the device. */
    public void synchronize() {
        backend.synchronize();
    }

    // ---- the caching allocator ----

    /** The device memory statistics of this engine's caching allocator ({@link MemoryStats#NONE} without one). */
    public MemoryStats memoryStats() {
        CachingAllocator<?> a = backend.allocator();
        return a == null ? MemoryStats.NONE : a.stats();
    }

    /** Gives the allocator's cached blocks back to the device; returns the bytes freed. */
    public long emptyCache() {
        CachingAllocator<?> a = backend.allocator();
        return a == null ? 0 : a.emptyCache();
    }

    /** Caps the device memory this engine reserves (0: no limit); an allocation over it throws IllegalStateException. */
    public void setMemoryLimit(long bytes) {
        CachingAllocator<?> a = backend.allocator();
        if (a == null) throw new UnsupportedOperationException("the " + backend.name() + " backend has no caching allocator to limit");
        a.setLimit(bytes);
    }

    /** Starts new peak measurements (e.g. after warm-up). */
    public void resetPeakMemory() {
        CachingAllocator<?> a = backend.allocator();
        if (a != null) a.resetPeaks();
    }

    /** Allocates a buffer of {@code dtype} and fills it from {@code data} (converted on the way). */
    public DeviceBuffer upload(DType dtype, float[] data, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        checkHost("data", data == null ? -1 : data.length, shape);
        return filled(allocate(dtype, shape), b -> {
            if (data.length > 0) backend.upload(b, 0, data, 0, data.length);
        });
    }

    /** An FP64 buffer filled from {@code data}. */
    public DeviceBuffer upload(double[] data, Shape shape) {
        return upload(DType.FP64, data, shape);
    }

    /** Allocates a buffer of {@code dtype} and fills it from FP64 {@code data} (rounded to {@code dtype} on the way). */
    public DeviceBuffer upload(DType dtype, double[] data, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        checkHost("data", data == null ? -1 : data.length, shape);
        return filled(allocate(dtype, shape), b -> {
            if (data.length > 0) backend.upload(b, 0, data, 0, data.length);
        });
    }

    /** Copies {@code src[srcOffset, srcOffset + length)} into {@code dst} from element {@code dstOffset}, after checking every range. */
    public void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        checkRange("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        if (length > 0) backend.upload(dst, dstOffset, src, srcOffset, length);
    }

    public void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        checkRange("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        if (length > 0) backend.upload(dst, dstOffset, src, srcOffset, length);
    }

    /** Copies {@code length} elements of {@code src} from element {@code srcOffset} into {@code dst[dstOffset…]}, after checking every range. */
    public void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        checkRange("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        if (length > 0) backend.download(src, srcOffset, dst, dstOffset, length);
    }

    public void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        checkRange("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        if (length > 0) backend.download(src, srcOffset, dst, dstOffset, length);
    }

    /** Runs {@code fill} on a fresh buffer; a failure closes it, so nothing leaks. */
    private static DeviceBuffer filled(DeviceBuffer b, java.util.function.Consumer<DeviceBuffer> fill) {
        try {
            fill.accept(b);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    public float[] downloadFloats(DeviceBuffer buffer) {
        checkOwned("buffer", buffer);
        float[] out = new float[hostLength(buffer)];
        if (out.length > 0) backend.download(buffer, 0, out, 0, out.length);
        return out;
    }

    public double[] downloadDoubles(DeviceBuffer buffer) {
        checkOwned("buffer", buffer);
        double[] out = new double[hostLength(buffer)];
        if (out.length > 0) backend.download(buffer, 0, out, 0, out.length);
        return out;
    }

    private static int hostLength(DeviceBuffer b) {
        if (b.elementCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("buffer has " + b.elementCount()
                    + " elements: a Java array holds at most " + (Integer.MAX_VALUE - 8)
                    + "; download it in ranges with download(buffer, offset, dst, 0, length)");
        }
        return (int) b.elementCount();
    }

    private static void checkHost(String name, int length, Shape shape) {
        if (length < 0) throw new IllegalArgumentException(name + " = null: pass the host values");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(" + length + ")");
        if (length != shape.elementCount()) {
            throw new IllegalArgumentException(name + ".length = " + length + ": must equal the element count of shape "
                    + shape + " (" + shape.elementCount() + ")");
        }
    }

    /** Checks a ranged transfer between device buffer {@code dev} and host array {@code host} (length -1: null). */
    private void checkRange(String devName, DeviceBuffer dev, long devOffset, String hostName, int hostLength, int hostOffset, int length) {
        checkOwned(devName, dev);
        if (hostLength < 0) throw new IllegalArgumentException(hostName + " = null: pass a host array");
        if (length < 0) {
            throw new IllegalArgumentException("length = " + length + ": must be non-negative; e.g. length = "
                    + Math.min(hostLength, dev.elementCount()));
        }
        if (hostOffset < 0 || hostOffset > hostLength) {
            throw new IllegalArgumentException(hostName + "Offset = " + hostOffset + ": must be in 0.." + hostLength
                    + " (" + hostName + ".length = " + hostLength + "); e.g. " + hostName + "Offset = 0");
        }
        if (length > hostLength - hostOffset) {
            throw new IllegalArgumentException("length = " + length + ": " + hostName + "Offset + length must be at most "
                    + hostName + ".length = " + hostLength + "; with " + hostName + "Offset = " + hostOffset + " use length <= "
                    + (hostLength - hostOffset));
        }
        long n = dev.elementCount();
        if (devOffset < 0 || devOffset > n) {
            throw new IllegalArgumentException(devName + "Offset = " + devOffset + ": must be in 0.." + n + " (" + devName
                    + " has " + n + " elements); e.g. " + devName + "Offset = 0");
        }
        if (length > n - devOffset) {
            throw new IllegalArgumentException("length = " + length + ": " + devName + "Offset + length must be at most the "
                    + n + " elements of " + devName + "; with " + devName + "Offset = " + devOffset + " use length <= " + (n - devOffset));
        }
    }

    private boolean ownsBuffer(DeviceBuffer b) {
        return b instanceof EmptyBuffer e ? e.engine == this : backend.owns(b);
    }

    private void checkOwned(String name, DeviceBuffer b) {
        if (b == null) throw new IllegalArgumentException(name + " = null: pass a buffer of this engine");
        if (b.isClosed()) throw new IllegalStateException(name + " is closed: allocate a new one");
        if (!ownsBuffer(b)) {
            ConvBackend o = b.owner();
            if (o != null && o.name().equals(backend.name())) {
                throw new IllegalArgumentException(name + " belongs to another engine (another " + o.name() + " session on "
                        + o.device().name() + "): a buffer is usable only by the engine that allocated it, even between engines "
                        + "of the same backend; allocate it with this engine, or copy it through the host");
            }
            throw new IllegalArgumentException(name + " belongs to backend session " + (o == null ? "null" : o.name() + " ("
                    + o.device().name() + ")") + ", not to this engine's " + backend.name() + " ("
                    + backend.device().name() + "); copy it through the host first");
        }
    }

    /** A buffer with no elements (batch 0): nothing on the device; the engine never hands it to the backend. */
    private static final class EmptyBuffer implements DeviceBuffer {
        private final ConvEngine engine;
        private final DType dtype;
        private final Shape shape;
        private volatile boolean closed;

        EmptyBuffer(ConvEngine engine, DType dtype, Shape shape) {
            this.engine = engine;
            this.dtype = dtype;
            this.shape = shape;
        }

        @Override
        public DType dtype() {
            return dtype;
        }

        @Override
        public Shape shape() {
            return shape;
        }

        @Override
        public ConvBackend owner() {
            return engine.backend;
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void close() {
            closed = true;
        }

        @Override
        public String toString() {
            return "empty " + dtype + shape + (closed ? " (closed)" : "");
        }
    }

    // ---- operations ----

    /** Checks everything about a call that can be checked without running it; then runs it. */
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        DType dtype = validate(pass, spec, args);
        // support does not depend on the batch; a backend is never asked about batch 0
        ConvSpec asked = spec.batch() == 0 ? spec.toBuilder().batch(1).build() : spec;
        Support s = backend.supports(asked, pass, dtype);
        if (!s.supported()) {
            throw new UnsupportedOperationException("backend " + backend.name() + " does not support " + pass + " "
                    + dtype + " of " + spec + ": " + s.reason());
        }
        if (spec.batch() == 0) {
            emptyBatch(pass, spec, args);
            return;
        }
        engineAlgorithm.remove();
        backend.execute(pass, spec, args);
    }

    /**
     * Runs several passes of one spec on one set of buffers, in {@link Pass} order (the forward first): e.g. every
     * gradient of a training step's backward, {@code EnumSet.of(BACKWARD_DATA, BACKWARD_WEIGHT, BACKWARD_OFFSET_MASK)}.
     * {@code args} holds the buffers of all of them. Each pass is checked as by {@link #execute(Pass, ConvSpec, ConvArgs)};
     * in addition no output may be a buffer that any pass of the call uses under another role. The backend may share
     * work between the passes (the CPU backend computes a deformable layer's data and offset/mask gradients from one
     * column gradient Wᵀ·dY); the results equal the passes run one by one within the op's tolerance (on the CPU: bit
     * for bit).
     */
    public void executeAll(Set<Pass> passes, ConvSpec spec, ConvArgs args) {
        if (passes == null) {
            throw new IllegalArgumentException("passes = null: name the passes to run, e.g. EnumSet.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT)");
        }
        for (Pass p : passes) {
            if (p == null) throw new IllegalArgumentException("passes = " + passes + ": contains null; name only passes, e.g. EnumSet.of(Pass.BACKWARD_DATA)");
        }
        if (passes.isEmpty()) {
            throw new IllegalArgumentException("passes = []: name at least one pass, e.g. EnumSet.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT)");
        }
        java.util.EnumSet<Pass> set = java.util.EnumSet.copyOf(passes);
        DType dtype = null;
        Pass first = null;
        java.util.EnumSet<Role> used = java.util.EnumSet.noneOf(Role.class), written = java.util.EnumSet.noneOf(Role.class);
        for (Pass p : set) {
            DType d = validate(p, spec, args);
            if (dtype == null) {
                dtype = d;
                first = p;
            } else if (d != dtype) {
                throw new IllegalArgumentException("dtype = " + d + " in the buffers of " + p + ": every buffer of one call has the same dtype, and those of "
                        + first + " are " + dtype + "; use " + dtype);
            }
            used.addAll(p.inputs(spec));
            used.addAll(p.outputs(spec));
            written.addAll(p.outputs(spec));
        }
        for (Role o : written) {
            for (Role r : used) {
                if (r != o && args.get(r) == args.get(o)) {
                    throw new IllegalArgumentException(o.label() + " is the same buffer as " + r.label()
                            + ": an output may not alias another buffer of the call; allocate a separate one");
                }
            }
        }
        ConvSpec asked = spec.batch() == 0 ? spec.toBuilder().batch(1).build() : spec;
        for (Pass p : set) {
            Support s = backend.supports(asked, p, dtype);
            if (!s.supported()) {
                throw new UnsupportedOperationException("backend " + backend.name() + " does not support " + p + " "
                        + dtype + " of " + spec + ": " + s.reason());
            }
        }
        if (spec.batch() == 0) {
            for (Pass p : set) emptyBatch(p, spec, args);
            return;
        }
        engineAlgorithm.remove();
        backend.executeAll(set, spec, args);
    }

    /**
     * Batch 0, answered here without the backend (PyTorch semantics): outputs shaped by the batch
     * are empty; dw and db, sums over an empty batch, are zeros.
     */
    private void emptyBatch(Pass pass, ConvSpec spec, ConvArgs args) {
        for (Role r : pass.outputs(spec)) {
            DeviceBuffer b = args.get(r);
            long n = b.elementCount();
            float[] zeros = new float[(int) Math.min(n, 1 << 16)];
            for (long at = 0; at < n; at += zeros.length) {
                backend.upload(b, at, zeros, 0, (int) Math.min(zeros.length, n - at));
            }
        }
        engineAlgorithm.set("none (batch 0: answered by the engine)");
    }

    /** Validates a call: nulls, presence of every buffer, no buffer the spec does not use, shapes, one dtype, ownership, no aliasing. */
    public DType validate(Pass pass, ConvSpec spec, ConvArgs args) {
        return validate(pass, spec, args, true);
    }

    /** As {@link #validate(Pass, ConvSpec, ConvArgs)}; with {@code outputs} false the pass's outputs are not required yet. */
    private DType validate(Pass pass, ConvSpec spec, ConvArgs args, boolean outputs) {
        if (pass == null) throw new IllegalArgumentException("pass = null: choose one, e.g. Pass.FORWARD");
        if (spec == null) throw new IllegalArgumentException("spec = null: build one, e.g. ConvSpec.parse(\"mb1ic3ih32oc8kh3ph1\")");
        if (args == null) throw new IllegalArgumentException("args = null: build them with ConvArgs.builder()");
        if (pass == Pass.BACKWARD_OFFSET_MASK && spec.type() != ConvType.DEFORMABLE) {
            throw new IllegalArgumentException("pass = " + pass + ": only deformable convolution has offsets and a mask; this spec is "
                    + spec.type() + " (" + spec + ")");
        }
        for (Role r : args.asMap().keySet()) {
            String unused = unusedBy(spec, r);
            if (unused != null) throw new IllegalArgumentException(unused);
        }
        Set<Role> in = pass.inputs(spec);
        Set<Role> out = outputs ? pass.outputs(spec) : Set.of();
        DType dtype = null;
        Role first = null;
        for (Set<Role> roles : List.of(in, out)) {
            for (Role r : roles) {
                DeviceBuffer b = args.get(r);
                if (b == null) {
                    throw missing(r, pass, spec);
                }
                checkOwned(r.label(), b);
                Shape want = r.shapeFor(spec);
                if (!b.shape().equals(want)) {
                    throw new IllegalArgumentException(r.label() + " shape = " + b.shape() + ": " + pass + " of " + spec
                            + " needs " + want);
                }
                if (dtype == null) {
                    dtype = b.dtype();
                    first = r;
                } else if (b.dtype() != dtype) {
                    throw new IllegalArgumentException(r.label() + " dtype = " + b.dtype() + ": every buffer of one call has the same dtype, and "
                            + first.label() + " is " + dtype + "; use " + dtype);
                }
            }
        }
        for (Role o : out) {
            for (Map.Entry<Role, DeviceBuffer> e : args.asMap().entrySet()) {
                if (e.getKey() != o && e.getValue() == args.get(o) && (in.contains(e.getKey()) || out.contains(e.getKey()))) {
                    throw new IllegalArgumentException(o.label() + " is the same buffer as " + e.getKey().label()
                            + ": an output may not alias another buffer of the call; allocate a separate one");
                }
            }
        }
        return dtype;
    }

    /**
     * Why a buffer in role {@code r} would be ignored by every pass of {@code spec} (null if some
     * pass uses it): refused rather than silently dropped.
     */
    private static String unusedBy(ConvSpec spec, Role r) {
        boolean deform = spec.type() == ConvType.DEFORMABLE;
        return switch (r) {
            case B -> spec.bias() ? null : "b is given, but the spec " + spec + " has no bias (bias(false), bia0), so it would be "
                    + "ignored; build the spec with .bias(true) to add it, or pass b = null";
            case OFFSET, DOFFSET -> deform ? null : r.label() + " is given, but the spec " + spec + " is " + spec.type()
                    + ", which has no offsets, so it would be ignored; use a deformable spec (ConvSpec.deformable()), or pass "
                    + r.label() + " = null";
            case MASK, DMASK -> deform && spec.modulated() ? null : r.label() + " is given, but the spec " + spec
                    + (deform ? " is deformable v1 (no mask), so it would be ignored; build the spec with .mask(true) (msk1) to use it"
                    : " is " + spec.type() + ", which has no mask, so it would be ignored; use ConvSpec.deformable() with .mask(true)")
                    + ", or pass " + r.label() + " = null";
            default -> null;
        };
    }

    private static IllegalArgumentException missing(Role r, Pass pass, ConvSpec spec) {
        return new IllegalArgumentException(r.label() + " = null: " + pass + " of " + spec + " needs " + r.label()
                + " with shape " + r.shapeFor(spec) + (r == Role.B ? " (or a spec built with bias(false))" : ""));
    }

    /** y = x ⋆ w (+ b), allocating y. {@code b} may be null only if the spec has no bias, and must be null then. */
    public DeviceBuffer forward(ConvSpec spec, DeviceBuffer x, DeviceBuffer w, DeviceBuffer b) {
        return run(Pass.FORWARD, spec, Role.Y, ConvArgs.builder().x(x).w(w).b(b));
    }

    /** Deformable forward: offset [N, 2·G·kh·kw, oh, ow]; mask null for v1 (and must be null then). */
    public DeviceBuffer forward(ConvSpec spec, DeviceBuffer x, DeviceBuffer offset, DeviceBuffer mask, DeviceBuffer w, DeviceBuffer b) {
        return run(Pass.FORWARD, spec, Role.Y, ConvArgs.builder().x(x).offset(offset).mask(mask).w(w).b(b));
    }

    public DeviceBuffer backwardData(ConvSpec spec, DeviceBuffer dy, DeviceBuffer w) {
        return run(Pass.BACKWARD_DATA, spec, Role.DX, ConvArgs.builder().dy(dy).w(w));
    }

    public DeviceBuffer backwardWeight(ConvSpec spec, DeviceBuffer x, DeviceBuffer dy) {
        return run(Pass.BACKWARD_WEIGHT, spec, Role.DW, ConvArgs.builder().x(x).dy(dy));
    }

    public DeviceBuffer backwardBias(ConvSpec spec, DeviceBuffer dy) {
        return run(Pass.BACKWARD_BIAS, spec, Role.DB, ConvArgs.builder().dy(dy));
    }

    /** Validates every input first, then allocates the output (so a bad call allocates nothing), then runs. */
    private DeviceBuffer run(Pass pass, ConvSpec spec, Role outRole, ConvArgs.Builder args) {
        DType dtype = validate(pass, spec, args.build(), false);
        return filled(allocate(dtype, outRole.shapeFor(spec)), out -> execute(pass, spec, args.put(outRole, out).build()));
    }

    @Override
    public void close() {
        backend.close();
    }

    @Override
    public String toString() {
        return "ConvEngine[" + report + "]";
    }
}
