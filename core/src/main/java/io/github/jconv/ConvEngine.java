package io.github.jconv;

import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceBuffer;
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
 * {@code JCONV_BACKEND}, else by priority) and close when done.
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
        List<BackendSelection.Candidate> cs = new ArrayList<>();
        for (ConvBackendProvider p : providers) cs.add(new BackendSelection.Candidate(p, probe(p)));
        BackendSelection.Decision d = BackendSelection.choose(cs, options);
        if (d.fellBack() && options.fallback() == FallbackPolicy.WARN) {
            LOG.log(System.Logger.Level.WARNING, d.report());
        }
        ProbeResult probe = d.chosen().probe();
        int device = d.fellBack() ? 0 : options.device();
        if (device >= probe.devices().size()) {
            throw new IllegalArgumentException("device = " + device + ": backend " + d.chosen().provider().name()
                    + " has " + probe.devices().size() + " device(s); use 0.." + (probe.devices().size() - 1));
        }
        ConvBackend b = d.chosen().provider().open(device);
        return new ConvEngine(b, d.report() + "; device " + device + ": " + b.device().name());
    }

    /** Opens exactly this provider's device, with no selection (conformance runs, probes). */
    public static ConvEngine open(ConvBackendProvider provider, int device) {
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
        ConvBackend b = provider.open(device);
        return new ConvEngine(b, "backend " + provider.name() + " chosen explicitly; device " + device + ": " + b.device().name());
    }

    /** Wraps an already open session (tests of wrappers, fault injection). */
    public static ConvEngine wrap(ConvBackend backend) {
        if (backend == null) throw new IllegalArgumentException("backend = null: pass an open ConvBackend");
        return new ConvEngine(backend, "backend " + backend.name() + " given directly");
    }

    /** A provider's probe that cannot throw: a broken probe becomes an unavailable result naming what it threw. */
    public static ProbeResult probe(ConvBackendProvider p) {
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
        return backend.lastAlgorithm();
    }

    // ---- buffers ----

    public DeviceBuffer allocate(DType dtype, Shape shape) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (shape == null) throw new IllegalArgumentException("shape = null: give one, e.g. Shape.of(1, 3, 32, 32)");
        return backend.allocate(dtype, shape);
    }

    public DeviceBuffer upload(float[] data, Shape shape) {
        return upload(DType.FP32, data, shape);
    }

    /** Allocates a buffer of {@code dtype} and fills it from {@code data} (converted on the way). */
    public DeviceBuffer upload(DType dtype, float[] data, Shape shape) {
        checkHost("data", data == null ? -1 : data.length, shape);
        return filled(allocate(dtype, shape), b -> backend.upload(b, 0, data, 0, data.length));
    }

    public DeviceBuffer upload(double[] data, Shape shape) {
        checkHost("data", data == null ? -1 : data.length, shape);
        return filled(allocate(DType.FP64, shape), b -> backend.upload(b, 0, data, 0, data.length));
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
        backend.download(buffer, 0, out, 0, out.length);
        return out;
    }

    public double[] downloadDoubles(DeviceBuffer buffer) {
        checkOwned("buffer", buffer);
        double[] out = new double[hostLength(buffer)];
        backend.download(buffer, 0, out, 0, out.length);
        return out;
    }

    private static int hostLength(DeviceBuffer b) {
        if (b.elementCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("buffer has " + b.elementCount()
                    + " elements: a Java array holds at most " + (Integer.MAX_VALUE - 8)
                    + "; download it in ranges with backend().download(buffer, offset, dst, 0, length)");
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

    private void checkOwned(String name, DeviceBuffer b) {
        if (b == null) throw new IllegalArgumentException(name + " = null: pass a buffer of this engine");
        if (b.isClosed()) throw new IllegalStateException(name + " is closed: allocate a new one");
        if (!backend.owns(b)) {
            throw new IllegalArgumentException(name + " belongs to backend session " + b.owner().name() + " ("
                    + b.owner().device().name() + "), not to this engine's " + backend.name() + " ("
                    + backend.device().name() + "); copy it through the host first");
        }
    }

    // ---- operations ----

    /** Checks everything about a call that can be checked without running it; then runs it. */
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        DType dtype = validate(pass, spec, args);
        Support s = backend.supports(spec, pass, dtype);
        if (!s.supported()) {
            throw new UnsupportedOperationException("backend " + backend.name() + " does not support " + pass + " "
                    + dtype + " of " + spec + ": " + s.reason());
        }
        backend.execute(pass, spec, args);
    }

    /** Validates a call: nulls, presence of every buffer, shapes, one dtype, ownership, no aliasing. */
    public DType validate(Pass pass, ConvSpec spec, ConvArgs args) {
        if (pass == null) throw new IllegalArgumentException("pass = null: choose one, e.g. Pass.FORWARD");
        if (spec == null) throw new IllegalArgumentException("spec = null: build one, e.g. ConvSpec.parse(\"mb1ic3ih32oc8kh3ph1\")");
        if (args == null) throw new IllegalArgumentException("args = null: build them with ConvArgs.builder()");
        if (pass == Pass.BACKWARD_OFFSET_MASK && spec.type() != ConvType.DEFORMABLE) {
            throw new IllegalArgumentException("pass = " + pass + ": only deformable convolution has offsets and a mask; this spec is "
                    + spec.type() + " (" + spec + ")");
        }
        Set<Role> in = pass.inputs(spec);
        Set<Role> out = pass.outputs(spec);
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

    private static IllegalArgumentException missing(Role r, Pass pass, ConvSpec spec) {
        return new IllegalArgumentException(r.label() + " = null: " + pass + " of " + spec + " needs " + r.label()
                + " with shape " + r.shapeFor(spec) + (r == Role.B ? " (or a spec built with bias(false))" : ""));
    }

    /** y = x ⋆ w (+ b), allocating y. {@code b} may be null only if the spec has no bias. */
    public DeviceBuffer forward(ConvSpec spec, DeviceBuffer x, DeviceBuffer w, DeviceBuffer b) {
        return run(Pass.FORWARD, spec, Role.Y, ConvArgs.builder().x(x).w(w).b(b));
    }

    /** Deformable forward: offset [N, 2·G·kh·kw, oh, ow]; mask null for v1. */
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

    private DeviceBuffer run(Pass pass, ConvSpec spec, Role outRole, ConvArgs.Builder args) {
        if (spec == null) throw new IllegalArgumentException("spec = null: build one, e.g. ConvSpec.parse(\"mb1ic3ih32oc8kh3ph1\")");
        ConvArgs probe = args.build();
        DeviceBuffer any = probe.asMap().values().stream().findFirst().orElse(null);
        DType dtype = any == null ? DType.FP32 : any.dtype();
        validateInputsOnly(pass, spec, probe);
        return filled(allocate(dtype, outRole.shapeFor(spec)), out -> execute(pass, spec, args.put(outRole, out).build()));
    }

    private void validateInputsOnly(Pass pass, ConvSpec spec, ConvArgs args) {
        for (Role r : pass.inputs(spec)) {
            if (args.get(r) == null) {
                throw missing(r, pass, spec);
            }
        }
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
