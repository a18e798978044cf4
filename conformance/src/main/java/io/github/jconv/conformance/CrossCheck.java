package io.github.jconv.conformance;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackendProvider;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Two backends against each other, element by element, on every pass of the given problems in one
 * dtype. Each may differ from the reference by its tolerance, so they may differ from each other
 * by twice that; the bound uses the reference's magnitudes. A case either backend does not support
 * is skipped with both reasons.
 */
public final class CrossCheck {
    private final ConvBackendProvider a;
    private final ConvBackendProvider b;
    private List<Problem> problems = Catalogue.load("corners");
    private DType dtype = DType.FP32;

    private CrossCheck(ConvBackendProvider a, ConvBackendProvider b) {
        this.a = a;
        this.b = b;
    }

    public static CrossCheck of(ConvBackendProvider a, ConvBackendProvider b) {
        if (a == null || b == null) throw new IllegalArgumentException((a == null ? "a" : "b") + " = null: pass two providers");
        return new CrossCheck(a, b);
    }

    /** The problems to compare on (default: the corners catalogue). */
    public CrossCheck problems(List<Problem> list) {
        if (list == null || list.isEmpty()) throw new IllegalArgumentException("problems = " + list + ": give at least one");
        this.problems = List.copyOf(list);
        return this;
    }

    public CrossCheck dtype(DType t) {
        if (t == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        this.dtype = t;
        return this;
    }

    /** One container per problem, one test per pass; both engines close after the last test. */
    public Stream<DynamicNode> dynamicTests() {
        ConvEngine[] engines = new ConvEngine[2];
        List<DynamicNode> nodes = new ArrayList<>();
        for (Problem p : problems) {
            List<DynamicTest> tests = new ArrayList<>();
            for (Pass pass : Pass.values()) {
                if (!applies(p, pass)) continue;
                tests.add(DynamicTest.dynamicTest(dtype + " " + pass, () -> {
                    if (engines[0] == null) {
                        engines[0] = ConvEngine.open(a, 0);
                        engines[1] = ConvEngine.open(b, 0);
                    }
                    String verdict;
                    try {
                        verdict = compare(engines[0], engines[1], p, pass);
                    } catch (RuntimeException | LinkageError e) {
                        throw new AssertionError("FAILED " + dtype + " " + pass + " " + p.label() + " -- " + a.name() + " vs "
                                + b.name() + " threw " + e + " -- repro: " + new Repro(pass, dtype, p), e);
                    }
                    if (verdict.startsWith("UNSUPPORTED")) Assumptions.abort(verdict);
                    if (!verdict.isEmpty()) Assertions.fail(verdict);
                }));
            }
            nodes.add(DynamicContainer.dynamicContainer(p.label(), tests.stream()));
        }
        nodes.add(DynamicTest.dynamicTest("close both engines", () -> {
            boolean opened = engines[0] != null;
            close(engines);
            Assertions.assertTrue(opened, "no case ran: " + a.name() + " vs " + b.name());
        }));
        return nodes.stream().onClose(() -> close(engines));
    }

    private static void close(ConvEngine[] engines) {
        for (int i = 0; i < engines.length; i++) {
            if (engines[i] != null) engines[i].close();
            engines[i] = null;
        }
    }

    private static boolean applies(Problem p, Pass pass) {
        if (p.forwardOnly() && pass != Pass.FORWARD) return false;
        if (pass == Pass.BACKWARD_BIAS && !p.spec().bias()) return false;
        return pass != Pass.BACKWARD_OFFSET_MASK || p.spec().type() == io.github.jconv.ConvType.DEFORMABLE;
    }

    /** "" when they agree; "UNSUPPORTED ..." when either declines; otherwise the failure line. */
    String compare(ConvEngine ea, ConvEngine eb, Problem p, Pass pass) {
        ConvSpec spec = p.spec();
        var sa = ea.backend().supports(spec, pass, dtype);
        var sb = eb.backend().supports(spec, pass, dtype);
        if (!sa.supported() || !sb.supported()) {
            return "UNSUPPORTED " + (sa.supported() ? "" : ea.backendName() + ": " + sa.reason() + " ")
                    + (sb.supported() ? "" : eb.backendName() + ": " + sb.reason());
        }
        ProblemData data = ProblemData.generate(spec, p.offsets(), p.seed());
        Map<Role, double[]> ga = ConformanceSuite.executeOnBackend(ea, pass, spec, dtype, data);
        Map<Role, double[]> gb = ConformanceSuite.executeOnBackend(eb, pass, spec, dtype, data);
        Map<Role, Reference.Output> ref = Reference.run(pass, spec, data.asMap());
        List<String> bad = new ArrayList<>();
        for (Role r : pass.outputs(spec)) {
            Tolerance t = Tolerance.of(dtype, Tolerance.defaultMode(dtype), Reference.reductionLength(spec, r));
            if (spec.type() == io.github.jconv.ConvType.DEFORMABLE) {
                t = t.withSamplingPosition(ConformanceSuite.maxSamplingPosition(spec, data));
            }
            Tolerance twice = new Tolerance(t.dtype(), t.mode(), t.reductionLength(), 2 * t.rel());
            Comparison c = Comparison.of(r.label() + " " + ea.backendName() + " (expected) vs " + eb.backendName() + " (got)",
                    r.shapeFor(spec), ga.get(r), ref.get(r).magnitude(), gb.get(r), twice);
            if (!c.passed()) bad.add(c.describe());
        }
        return bad.isEmpty() ? "" : "FAILED " + dtype + " " + pass + " " + p.label() + ": " + String.join("; ", bad)
                + " -- repro: " + new Repro(pass, dtype, p);
    }
}
