package io.github.jconv.conformance;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.Support;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The conformance suite: every catalogue problem (and 40 fuzz problems), every pass, on FP32 and FP64, through
 * {@link ConvEngine#open(ConvBackendProvider, int)}, against the FP64 {@link Reference}.
 *
 * <pre>{@code
 * class MyBackendConformanceTest {
 *     @TestFactory
 *     Stream<DynamicNode> conformance() {
 *         return ConformanceSuite.of(new MyProvider()).dynamicTests();
 *     }
 * }
 * }</pre>
 *
 * Each case ends PASSED, UNSUPPORTED (the backend's {@code supports()} said no; shown as a skipped
 * test with the reason) or FAILED (with the problem line, the worst element and its errors). A
 * case the backend declares it supports may not refuse to run. Outputs are filled with NaN before
 * each pass, so a pass that reads or accumulates into its output fails.
 */
public final class ConformanceSuite {
    private static final List<DType> DEFAULT_DTYPES = List.of(DType.FP32, DType.FP64);

    private final ConvBackendProvider provider;
    private int device;
    private List<DType> dtypes = DEFAULT_DTYPES;
    private MathMode fp32Mode = MathMode.EXACT;
    private List<Problem> problems;

    private ConformanceSuite(ConvBackendProvider provider) {
        this.provider = provider;
    }

    /** The suite for this provider's device 0, on the whole catalogue, FP32 and FP64. */
    public static ConformanceSuite of(ConvBackendProvider provider) {
        if (provider == null) throw new IllegalArgumentException("provider = null: pass your ConvBackendProvider");
        return new ConformanceSuite(provider);
    }

    public ConformanceSuite device(int index) {
        if (index < 0) throw new IllegalArgumentException("device = " + index + ": a device index is non-negative, e.g. 0");
        this.device = index;
        return this;
    }

    /** The dtypes to run (default FP32 and FP64); FP16 and BF16 use their own tolerance rows. */
    public ConformanceSuite dtypes(DType... types) {
        if (types == null || types.length == 0) {
            throw new IllegalArgumentException("dtypes = " + (types == null ? "null" : "[]") + ": give at least one, e.g. DType.FP32");
        }
        this.dtypes = List.of(types);
        return this;
    }

    /** The math mode of the backend's FP32 (EXACT by default; TF32 for tensor-core FP32). */
    public ConformanceSuite fp32Mode(MathMode mode) {
        if (mode != MathMode.EXACT && mode != MathMode.TF32) {
            throw new IllegalArgumentException("fp32Mode = " + mode + ": FP32 runs EXACT or TF32; e.g. MathMode.EXACT");
        }
        this.fp32Mode = mode;
        return this;
    }

    /** Runs these problems instead of the whole catalogue. */
    public ConformanceSuite problems(List<Problem> list) {
        if (list == null || list.isEmpty()) {
            throw new IllegalArgumentException("problems = " + list + ": give at least one, e.g. Catalogue.load(\"corners\")");
        }
        this.problems = List.copyOf(list);
        return this;
    }

    /** The default: every catalogue file, then 40 fuzz problems of {@link Catalogue#FUZZ_SEED}. */
    List<Problem> problemList() {
        if (problems != null) return problems;
        List<Problem> all = new ArrayList<>(Catalogue.all());
        all.addAll(Catalogue.fuzz(Catalogue.FUZZ_SEED, 40));
        return all;
    }

    // ---- running ----

    /**
     * JUnit 5 dynamic tests: one container per problem, one test per dtype and check, and a final
     * summary test that prints the counts and the run time. The engine opens at the first test and
     * closes when JUnit closes the stream.
     */
    public Stream<DynamicNode> dynamicTests() {
        Run run = new Run();
        List<DynamicNode> nodes = new ArrayList<>();
        for (Problem p : problemList()) {
            List<DynamicTest> tests = new ArrayList<>();
            ProblemRun pr = new ProblemRun(p);
            pr.remaining = dtypes.size() * checks(p).size();
            for (DType dt : dtypes) {
                for (String check : checks(p)) {
                    tests.add(DynamicTest.dynamicTest(dt + " " + check, () -> {
                        CaseResult r;
                        try {
                            r = run.execute(pr, dt, check);
                        } finally {
                            pr.done();
                        }
                        switch (r.status()) {
                            case PASSED -> { }
                            case UNSUPPORTED -> Assumptions.abort("UNSUPPORTED by " + r.backend() + ": " + r.message());
                            case FAILED -> Assertions.fail(r.toString(), r.error());
                        }
                    }));
                }
            }
            nodes.add(DynamicContainer.dynamicContainer(p.label(), tests.stream()));
        }
        nodes.add(DynamicTest.dynamicTest("summary: counts and run time", () -> {
            Report rep = run.report();
            run.close();
            System.out.println(rep.summary());
            Assertions.assertTrue(rep.passed() > 0, "conformance " + provider.name()
                    + ": no case passed; a backend must support at least FP32 forward convolution. " + rep.summary());
            Assertions.assertEquals(0, rep.liveBuffersLeft(), "conformance " + provider.name()
                    + ": buffers still live after every case closed its own; the backend's tracker miscounts");
        }));
        return nodes.stream().onClose(run::close);
    }

    /** Runs every case without JUnit and returns the results (also what the kit's own tests use). */
    public Report run() {
        try (Run run = new Run()) {
            for (Problem p : problemList()) {
                ProblemRun pr = new ProblemRun(p);
                for (DType dt : dtypes) {
                    for (String check : checks(p)) run.execute(pr, dt, check);
                }
            }
            return run.report();
        }
    }

    static final String IDENTITY = "zero offsets and unit mask equal plain convolution";
    /** Every gradient in one {@link ConvEngine#executeAll} call, each against its reference (deformable problems). */
    static final String ALL_GRADIENTS = "every gradient in one executeAll call";

    private static List<String> checks(Problem p) {
        List<String> out = new ArrayList<>();
        out.add(Pass.FORWARD.name());
        if (!p.forwardOnly()) {
            out.add(Pass.BACKWARD_DATA.name());
            out.add(Pass.BACKWARD_WEIGHT.name());
            if (p.spec().bias()) out.add(Pass.BACKWARD_BIAS.name());
            if (p.spec().type() == ConvType.DEFORMABLE) out.add(Pass.BACKWARD_OFFSET_MASK.name());
        }
        if (p.spec().type() == ConvType.DEFORMABLE) out.add(IDENTITY);
        // the multi-pass call where a backend is most likely to share work between passes (the CPU backend does)
        if (p.spec().type() == ConvType.DEFORMABLE && !p.forwardOnly()) out.add(ALL_GRADIENTS);
        return out;
    }

    /**
     * The counts of a run; {@code worstPassingRatio} is the largest error / bound among the elements
     * of passing cases (how close the backend came to its tolerance).
     */
    public record Report(String backend, List<CaseResult> results, long nanos, long referenceNanos,
                         double worstPassingRatio, long liveBuffersLeft) {
        public long count(Status s) {
            return results.stream().filter(r -> r.status() == s).count();
        }

        public long passed() {
            return count(Status.PASSED);
        }

        public long unsupported() {
            return count(Status.UNSUPPORTED);
        }

        public long failed() {
            return count(Status.FAILED);
        }

        public List<CaseResult> failures() {
            return results.stream().filter(r -> r.status() == Status.FAILED).toList();
        }

        public String summary() {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                    "conformance %s: %d cases executed: %d passed, %d unsupported, %d failed, in %.1f s (%.1f s of it in the FP64 reference)",
                    backend, results.size(), passed(), unsupported(), failed(), nanos / 1e9, referenceNanos / 1e9));
            b.append(String.format(Locale.ROOT, "%n  largest error / bound among passing cases: %.3g", worstPassingRatio));
            results.stream().sorted(java.util.Comparator.comparingLong(CaseResult::nanos).reversed()).limit(3)
                    .forEach(r -> b.append(String.format(Locale.ROOT, "%n  slowest: %.2f s %s %s", r.nanos() / 1e9,
                            r.caseName(), r.problem().label())));
            for (CaseResult r : failures()) b.append(System.lineSeparator()).append("  ").append(r);
            if (failed() > 0) {
                CaseResult f = failures().get(0);
                b.append(String.format(Locale.ROOT, "%n  smallest failing problem: java io.github.jconv.conformance.Shrinker %s %s",
                        backend, f.repro()));
            }
            return b.toString();
        }
    }

    /**
     * Reference results kept across suites in one JVM (every backend runs the same problems), held
     * softly so that memory pressure drops them rather than failing the run.
     */
    private static final class ReferenceCache {
        private final java.util.concurrent.ConcurrentHashMap<String, java.lang.ref.SoftReference<Map<Role, Reference.Output>>> map =
                new java.util.concurrent.ConcurrentHashMap<>();

        Map<Role, Reference.Output> computeIfAbsent(Problem p, Pass pass, java.util.function.Supplier<Map<Role, Reference.Output>> make) {
            String key = p.line() + " " + p.offsets() + " " + pass;
            java.lang.ref.SoftReference<Map<Role, Reference.Output>> ref = map.get(key);
            Map<Role, Reference.Output> v = ref == null ? null : ref.get();
            if (v == null) {
                v = make.get();
                map.put(key, new java.lang.ref.SoftReference<>(v));
            }
            return v;
        }
    }

    private static final ReferenceCache SHARED = new ReferenceCache();

    /** The data and reference results of one problem, made on first use. */
    private static final class ProblemRun {
        final Problem problem;
        private ProblemData data;
        private ProblemData zero;
        private final Map<Pass, Map<Role, Reference.Output>> reference = new EnumMap<>(Pass.class);
        private Reference.Output plainForward;

        /** Tests of this problem still to run; at zero its tensors are dropped (JUnit keeps every test object). */
        int remaining;

        ProblemRun(Problem problem) {
            this.problem = problem;
        }

        synchronized void done() {
            if (--remaining <= 0) {
                data = null;
                zero = null;
                reference.clear();
                storedOffsets.clear();
                plainForward = null;
            }
        }

        synchronized ProblemData data() {
            if (data == null) data = ProblemData.generate(problem.spec(), problem.offsets(), problem.seed());
            return data;
        }

        synchronized Map<Role, Reference.Output> reference(Pass pass) {
            return reference.computeIfAbsent(pass, p -> SHARED.computeIfAbsent(problem, p, () -> Reference.run(p, problem.spec(), data().asMap())));
        }

        /** References of deformable problems run in a 16-bit dtype: on the offsets as that dtype stores them. */
        private final Map<DType, Map<Pass, Map<Role, Reference.Output>>> storedOffsets = new EnumMap<>(DType.class);

        /**
         * The reference a backend running in {@code dtype} is compared with. Deformable sampling is discontinuous in
         * the offsets (the cell changes at integers): an offset of k - 2^-20 stored in FP16 or BF16 is exactly k, a
         * different cell, which no tolerance on the arithmetic covers. So a deformable problem in a 16-bit dtype is
         * compared with the reference on its offsets rounded to that dtype (round to nearest even, as every upload
         * rounds), where rounding changes any; the other inputs' rounding is smooth and stays in the tolerance.
         */
        synchronized Map<Role, Reference.Output> reference(Pass pass, DType dtype) {
            Map<Role, double[]> in = referenceInputs(problem.spec(), data().asMap(), dtype);
            if (in == null) return reference(pass);
            return storedOffsets.computeIfAbsent(dtype, d -> new EnumMap<>(Pass.class))
                    .computeIfAbsent(pass, p -> Reference.run(p, problem.spec(), in));
        }

        /** Deformable problem's data with zero offsets and unit mask. */
        synchronized ProblemData zeroOffsets() {
            if (zero == null) zero = ProblemData.generate(problem.spec(), Offsets.ZERO, problem.seed());
            return zero;
        }

        /** The plain convolution with the deformable problem's geometry, on the same x, w, b. */
        synchronized Reference.Output plainForward() {
            if (plainForward == null) {
                plainForward = Reference.run(Pass.FORWARD, plainSpec(problem.spec()), zeroOffsets().asMap()).get(Role.Y);
            }
            return plainForward;
        }
    }

    /**
     * The inputs of the reference for a run in {@code dtype} where they differ from the generated data, else null: a
     * deformable problem in FP16 or BF16 gets its offsets as that dtype stores them (round to nearest even, as every
     * upload rounds), because sampling is discontinuous in the offsets and their rounding can move a sample to
     * another cell (see {@link ProblemRun#reference(Pass, DType)}).
     */
    static Map<Role, double[]> referenceInputs(ConvSpec spec, Map<Role, double[]> data, DType dtype) {
        if (spec.type() != ConvType.DEFORMABLE || (dtype != DType.FP16 && dtype != DType.BF16)) return null;
        double[] off = data.get(Role.OFFSET);
        double[] stored = new double[off.length];
        boolean changed = false;
        for (int i = 0; i < off.length; i++) {
            stored[i] = dtype == DType.FP16 ? io.github.jconv.spi.HalfFloats.halfToDouble(io.github.jconv.spi.HalfFloats.toHalf(off[i]))
                    : io.github.jconv.spi.HalfFloats.fromBf16(io.github.jconv.spi.HalfFloats.toBf16(off[i]));
            changed |= stored[i] != off[i];
        }
        if (!changed) return null;
        Map<Role, double[]> in = new EnumMap<>(data);
        in.put(Role.OFFSET, stored);
        return in;
    }

    /** The convolution a deformable spec is at zero offsets. */
    static ConvSpec plainSpec(ConvSpec d) {
        return ConvSpec.convolution().batch(d.batch()).channels(d.inChannels(), d.outChannels()).groups(d.groups())
                .input(d.input()).kernel(d.kernel()).stride(d.stride()).paddingLo(d.paddingLo()).paddingHi(d.paddingHi())
                .dilation(d.dilation()).bias(d.bias()).build();
    }

    /** One engine for the whole run, opened on first use, and the results so far. */
    private final class Run implements AutoCloseable {
        private ConvEngine engine;
        private final List<CaseResult> results = new ArrayList<>();
        private long nanos;
        private long referenceNanos;
        private double worstPassingRatio;
        private String backendName = provider.name();

        private ConvEngine engine() {
            if (engine == null) {
                engine = ConvEngine.open(provider, device);
                backendName = engine.backendName();
            }
            return engine;
        }

        synchronized CaseResult execute(ProblemRun pr, DType dtype, String check) {
            long t0 = System.nanoTime();
            CaseResult r;
            try {
                r = check.equals(IDENTITY) ? identity(pr, dtype) : check.equals(ALL_GRADIENTS) ? allGradients(pr, dtype)
                        : pass(pr, dtype, Pass.valueOf(check));
            } catch (RuntimeException | AssertionError | LinkageError e) { // a missing class of the backend fails its cases too
                r = new CaseResult(Status.FAILED, backendName, pr.problem, dtype, check, "threw " + e).withError(e);
            }
            long spent = System.nanoTime() - t0;
            nanos += spent;
            r = r.withNanos(spent);
            results.add(r);
            return r;
        }

        private CaseResult pass(ProblemRun pr, DType dtype, Pass pass) {
            ConvSpec spec = pr.problem.spec();
            ConvEngine e = engine();
            Support s = e.backend().supports(spec, pass, dtype);
            if (!s.supported()) {
                return new CaseResult(Status.UNSUPPORTED, backendName, pr.problem, dtype, pass.name(), s.reason());
            }
            Map<Role, double[]> got;
            try {
                got = executeOnBackend(e, pass, spec, dtype, pr.data());
            } catch (UnsupportedOperationException ex) {
                return new CaseResult(Status.FAILED, backendName, pr.problem, dtype, pass.name(),
                        "supports() said yes but the pass refused to run: " + ex.getMessage()).withError(ex);
            }
            List<String> bad = new ArrayList<>();
            compare(pr, dtype, pass, got, bad);
            if (bad.isEmpty()) return new CaseResult(Status.PASSED, backendName, pr.problem, dtype, pass.name(), "");
            return new CaseResult(Status.FAILED, backendName, pr.problem, dtype, pass.name(),
                    String.join("; ", bad) + algorithm(e));
        }

        /** Compares the outputs of {@code pass} in {@code got} with the reference; adds a description of each failing one to {@code bad}. */
        private void compare(ProblemRun pr, DType dtype, Pass pass, Map<Role, double[]> got, List<String> bad) {
            ConvSpec spec = pr.problem.spec();
            long tr = System.nanoTime();
            Map<Role, Reference.Output> ref = pr.reference(pass, dtype);
            referenceNanos += System.nanoTime() - tr;
            for (Role role : pass.outputs(spec)) {
                Tolerance tol = tolerance(spec, role, dtype, pr.data());
                Reference.Output o = ref.get(role);
                Comparison c = Comparison.of(role.label(), role.shapeFor(spec), o.values(), o.magnitude(), got.get(role), tol);
                if (!c.passed()) bad.add(c.describe());
                else worstPassingRatio = Math.max(worstPassingRatio, c.worstRatio());
            }
        }

        /** The backward passes the backend supports in one {@link ConvEngine#executeAll} call, each output against its reference. */
        private CaseResult allGradients(ProblemRun pr, DType dtype) {
            ConvSpec spec = pr.problem.spec();
            ConvEngine e = engine();
            java.util.EnumSet<Pass> passes = java.util.EnumSet.noneOf(Pass.class);
            String declined = null;
            for (Pass p : Pass.values()) {
                if (p == Pass.FORWARD || !checks(pr.problem).contains(p.name())) continue;
                Support s = e.backend().supports(spec, p, dtype);
                if (s.supported()) passes.add(p);
                else if (declined == null) declined = s.reason();
            }
            if (passes.size() < 2) {
                // with no backward pass supported, the backend's own reason (as the single-pass cases give it)
                return new CaseResult(Status.UNSUPPORTED, backendName, pr.problem, dtype, ALL_GRADIENTS, passes.isEmpty() ? declined
                        : "only " + passes + " of the backward passes supported in " + dtype + "; the others: " + declined);
            }
            Map<Role, double[]> got;
            try {
                got = executeOnBackend(e, passes, spec, dtype, pr.data());
            } catch (UnsupportedOperationException ex) {
                return new CaseResult(Status.FAILED, backendName, pr.problem, dtype, ALL_GRADIENTS,
                        "supports() said yes to each of " + passes + " but the call refused to run: " + ex.getMessage()).withError(ex);
            }
            List<String> bad = new ArrayList<>();
            for (Pass pass : passes) compare(pr, dtype, pass, got, bad);
            if (bad.isEmpty()) return new CaseResult(Status.PASSED, backendName, pr.problem, dtype, ALL_GRADIENTS, "");
            return new CaseResult(Status.FAILED, backendName, pr.problem, dtype, ALL_GRADIENTS,
                    passes + ": " + String.join("; ", bad) + algorithm(e));
        }

        private CaseResult identity(ProblemRun pr, DType dtype) {
            ConvSpec spec = pr.problem.spec();
            ConvEngine e = engine();
            Support s = e.backend().supports(spec, Pass.FORWARD, dtype);
            if (!s.supported()) {
                return new CaseResult(Status.UNSUPPORTED, backendName, pr.problem, dtype, IDENTITY, s.reason());
            }
            Map<Role, double[]> got;
            try {
                got = executeOnBackend(e, Pass.FORWARD, spec, dtype, pr.zeroOffsets());
            } catch (UnsupportedOperationException ex) {
                return new CaseResult(Status.FAILED, backendName, pr.problem, dtype, IDENTITY,
                        "supports() said yes but the pass refused to run: " + ex.getMessage()).withError(ex);
            }
            ConvSpec plain = plainSpec(spec);
            long tr = System.nanoTime();
            Reference.Output o = pr.plainForward();
            referenceNanos += System.nanoTime() - tr;
            Tolerance tol = Tolerance.of(dtype, mode(dtype), Reference.reductionLength(plain, Role.Y));
            Comparison c = Comparison.of("y vs plain convolution " + plain, plain.outputShape(), o.values(), o.magnitude(),
                    got.get(Role.Y), tol);
            if (c.passed()) worstPassingRatio = Math.max(worstPassingRatio, c.worstRatio());
            return new CaseResult(c.passed() ? Status.PASSED : Status.FAILED, backendName, pr.problem, dtype, IDENTITY,
                    c.passed() ? "" : c.describe() + algorithm(e));
        }

        /** Which algorithm the backend says it ran, so the failure points at one code path. */
        private String algorithm(ConvEngine e) {
            try {
                String a = e.lastAlgorithm();
                return a == null || a.isEmpty() ? "" : "; algorithm " + a;
            } catch (RuntimeException ex) {
                return "; algorithm unknown (" + ex + ")";
            }
        }

        private MathMode mode(DType dtype) {
            return dtype == DType.FP32 ? fp32Mode : Tolerance.defaultMode(dtype);
        }

        private Tolerance tolerance(ConvSpec spec, Role role, DType dtype, ProblemData data) {
            Tolerance t = Tolerance.of(dtype, mode(dtype), Reference.reductionLength(spec, role));
            if (spec.type() == ConvType.DEFORMABLE) t = t.withSamplingPosition(maxSamplingPosition(spec, data));
            return t;
        }

        private long live;

        Report report() {
            if (engine != null) live = engine.backend().tracker().liveBuffers();
            return new Report(backendName, List.copyOf(results), nanos, referenceNanos, worstPassingRatio, live);
        }

        @Override
        public void close() {
            if (engine != null) engine.close();
            engine = null;
        }
    }

    /** An upper bound of |py| and |px| over the problem: for the position term of the tolerance. */
    static double maxSamplingPosition(ConvSpec spec, ProblemData data) {
        double maxOff = 0;
        for (double v : data.get(Role.OFFSET)) maxOff = Math.max(maxOff, Math.abs(v));
        double grid = 0;
        for (int a = 0; a < 2; a++) {
            grid = Math.max(grid, (double) spec.output(a) * spec.stride(a) + spec.paddingLo(a)
                    + (double) (spec.kernel(a) - 1) * spec.dilation(a));
        }
        return grid + maxOff;
    }

    /**
     * Uploads the pass's inputs in {@code dtype}, fills its outputs with NaN, runs it through the
     * engine (which validates) and downloads the outputs as doubles. Every buffer is closed.
     */
    static Map<Role, double[]> executeOnBackend(ConvEngine e, Pass pass, ConvSpec spec, DType dtype, ProblemData data) {
        return executeOnBackend(e, java.util.EnumSet.of(pass), spec, dtype, data);
    }

    /** As {@link #executeOnBackend(ConvEngine, Pass, ConvSpec, DType, ProblemData)} for several passes in one {@link ConvEngine#executeAll} call. */
    static Map<Role, double[]> executeOnBackend(ConvEngine e, Set<Pass> passes, ConvSpec spec, DType dtype, ProblemData data) {
        Set<Role> inputs = java.util.EnumSet.noneOf(Role.class), outputs = java.util.EnumSet.noneOf(Role.class);
        for (Pass pass : passes) {
            inputs.addAll(pass.inputs(spec));
            outputs.addAll(pass.outputs(spec));
        }
        List<DeviceBuffer> open = new ArrayList<>();
        try {
            ConvArgs.Builder args = ConvArgs.builder();
            for (Role r : inputs) {
                DeviceBuffer b = upload(e, dtype, data.get(r), r.shapeFor(spec));
                open.add(b);
                args.put(r, b);
            }
            for (Role r : outputs) {
                double[] nan = new double[Math.toIntExact(r.shapeFor(spec).elementCount())];
                java.util.Arrays.fill(nan, Double.NaN);
                DeviceBuffer b = upload(e, dtype, nan, r.shapeFor(spec));
                open.add(b);
                args.put(r, b);
            }
            ConvArgs a = args.build();
            if (passes.size() == 1) e.execute(passes.iterator().next(), spec, a);
            else e.executeAll(passes, spec, a);
            e.backend().synchronize();
            Map<Role, double[]> out = new EnumMap<>(Role.class);
            for (Role r : outputs) out.put(r, download(e, a.get(r)));
            return out;
        } finally {
            for (DeviceBuffer b : open) b.close();
        }
    }

    /** FP64 buffers come back as doubles, the rest through the float[] path that every backend offers. */
    static double[] download(ConvEngine e, DeviceBuffer b) {
        if (b.dtype() == DType.FP64) return e.downloadDoubles(b);
        float[] f = e.downloadFloats(b);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static DeviceBuffer upload(ConvEngine e, DType dtype, double[] v, io.github.jconv.Shape shape) {
        if (dtype == DType.FP64) return e.upload(v, shape);
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return e.upload(dtype, f, shape);
    }
}
