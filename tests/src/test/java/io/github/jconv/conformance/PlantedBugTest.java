package io.github.jconv.conformance;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.equivalence.ForwardingBackend;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.Support;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kit catches a backend with a planted bug, and says where: problem line, worst element, errors. */
class PlantedBugTest {
    private static final List<Problem> PROBLEMS = List.of(
            Problem.of("mb2ic3ih7iw6oc4kh3ph1"),
            Problem.of("mb2ic4ih5oc4kh1bia0"),
            Problem.of("tr1mb2ic4ih5oc3kh3sh2ph1oph1"),
            Problem.of("dg1msk1mb1ic4ih6oc4kh3ph1"));

    private static ConvBackendProvider cpu() {
        for (ConvBackendProvider p : ConvEngine.providers()) {
            if (p.name().equals("cpu") && p.probe().available()) return p;
        }
        Assumptions.abort("the CPU backend (jconv-cpu) is not on the test classpath; its planted-bug test needs it");
        return null;
    }

    /** Forward runs without the bias: the spec handed on says bias(false) and b is left out. */
    static final class DropsBias extends ForwardingBackend {
        DropsBias(ConvBackend inner) {
            super(inner, "cpu-drops-bias");
        }

        @Override
        protected void run(Pass pass, ConvSpec spec, ConvArgs a) {
            if (pass != Pass.FORWARD || !spec.bias()) {
                super.run(pass, spec, a);
                return;
            }
            ConvArgs.Builder b = ConvArgs.builder();
            a.asMap().forEach((r, buf) -> {
                if (r != Role.B) b.put(r, buf);
            });
            inner.execute(pass, spec.toBuilder().bias(false).build(), b.build());
        }
    }

    /** Reads the weight with its two spatial loop bounds swapped: w[.., ky, kx] as w[.., kx, ky]. */
    static final class SwapsKernelAxes extends ForwardingBackend {
        SwapsKernelAxes(ConvBackend inner) {
            super(inner, "cpu-swaps-kernel-axes");
        }

        @Override
        protected void run(Pass pass, ConvSpec spec, ConvArgs a) {
            boolean readsW = pass.inputs(spec).contains(Role.W);
            if (!readsW || spec.rank() != 2 || spec.kernel(0) != spec.kernel(1)) {
                super.run(pass, spec, a);
                return;
            }
            DeviceBuffer w = a.get(Role.W);
            float[] v = new float[Math.toIntExact(w.elementCount())];
            inner.download(w, 0, v, 0, v.length);
            int k = spec.kernel(0);
            float[] t = new float[v.length];
            for (int s = 0; s < v.length / (k * k); s++) {
                for (int y = 0; y < k; y++) {
                    for (int x = 0; x < k; x++) t[s * k * k + y * k + x] = v[s * k * k + x * k + y];
                }
            }
            try (DeviceBuffer swapped = inner.allocate(w.dtype(), w.shape())) {
                inner.upload(swapped, 0, t, 0, t.length);
                ConvArgs.Builder b = ConvArgs.builder();
                a.asMap().forEach((r, buf) -> b.put(r, r == Role.W ? swapped : buf));
                inner.execute(pass, spec, b.build());
            }
        }
    }

    /** Says no to FP64 in supports(): every FP64 case must come out UNSUPPORTED with that reason. */
    static final class RefusesFp64 extends ForwardingBackend {
        RefusesFp64(ConvBackend inner) {
            super(inner, "cpu-without-fp64");
        }

        @Override
        public Support supports(ConvSpec spec, Pass pass, DType dtype) {
            return dtype == DType.FP64 ? Support.no("planted: no FP64 here") : super.supports(spec, pass, dtype);
        }
    }

    /** Declares every pass supported but refuses the weight gradient when asked to run it. */
    static final class ClaimsButRefuses extends ForwardingBackend {
        ClaimsButRefuses(ConvBackend inner) {
            super(inner, "cpu-claims-but-refuses");
        }

        @Override
        protected void run(Pass pass, ConvSpec spec, ConvArgs a) {
            if (pass == Pass.BACKWARD_WEIGHT) throw new UnsupportedOperationException("planted: weight gradient not written yet");
            super.run(pass, spec, a);
        }
    }

    /** Adds the forward result to what the output held before, instead of overwriting it. */
    static final class Accumulates extends ForwardingBackend {
        Accumulates(ConvBackend inner) {
            super(inner, "cpu-accumulates");
        }

        @Override
        protected void run(Pass pass, ConvSpec spec, ConvArgs a) {
            if (pass != Pass.FORWARD) {
                super.run(pass, spec, a);
                return;
            }
            DeviceBuffer y = a.get(Role.Y);
            float[] before = new float[Math.toIntExact(y.elementCount())];
            inner.download(y, 0, before, 0, before.length);
            super.run(pass, spec, a);
            float[] after = new float[before.length];
            inner.download(y, 0, after, 0, after.length);
            for (int i = 0; i < after.length; i++) after[i] += before[i];
            inner.upload(y, 0, after, 0, after.length);
        }
    }

    @Test
    void aDtypeTheBackendDeclinesIsUnsupportedWithItsReasonAndTheRestStillRuns() {
        ConformanceSuite.Report rep = ConformanceSuite.of(ForwardingBackend.provider(cpu(), "cpu-without-fp64", RefusesFp64::new))
                .problems(PROBLEMS).run();
        for (CaseResult r : rep.results()) {
            assertEquals(r.dtype() == DType.FP64 ? Status.UNSUPPORTED : Status.PASSED, r.status(), r.toString());
            if (r.dtype() == DType.FP64) assertEquals("planted: no FP64 here", r.message());
        }
        assertEquals(rep.passed(), rep.unsupported(), rep.summary());
    }

    @Test
    void aPassDeclaredSupportedThatRefusesToRunFailsInsteadOfBeingSkipped() {
        ConformanceSuite.Report rep = run(ForwardingBackend.provider(cpu(), "cpu-claims-but-refuses", ClaimsButRefuses::new));
        // the weight gradient of every problem, and the deformable problem's gradients in one executeAll call
        assertEquals(PROBLEMS.size() + 1, rep.failed(), rep.summary());
        for (CaseResult r : rep.failures()) {
            boolean all = r.check().equals(ConformanceSuite.ALL_GRADIENTS);
            assertTrue(all || r.check().equals("BACKWARD_WEIGHT"), r.toString());
            assertTrue(r.toString().contains(all ? "but the call refused to run: planted: weight gradient not written yet"
                    : "supports() said yes but the pass refused to run: planted: weight gradient not written yet")
                    && r.toString().contains(r.problem().line()), r.toString());
        }
        assertEquals(0, rep.unsupported());
    }

    @Test
    void aPassThatAccumulatesIntoItsOutputFails() {
        ConformanceSuite.Report rep = run(ForwardingBackend.provider(cpu(), "cpu-accumulates", Accumulates::new));
        List<CaseResult> failed = rep.failures();
        assertEquals(PROBLEMS.size() + 1, failed.size(), "every forward and the deformable identity: " + rep.summary());
        for (CaseResult r : failed) assertTrue(r.message().contains("got NaN"), r.toString());
    }

    @Test
    void theShrinkerTurnsABiasBugIntoTheSmallestProblemWithABias() {
        ConvBackendProvider planted = ForwardingBackend.provider(cpu(), "cpu-drops-bias", DropsBias::new);
        Problem min = Shrinker.minimize(planted, PROBLEMS.get(0), DType.FP32, "FORWARD");
        assertEquals(ConvSpec.parse("mb1ic1ih1iw1oc1kh1kw1"), min.spec(), min.label());
    }

    @Test
    void theShrinkerKeepsASquareKernelWhenTheBugNeedsOne() {
        ConvBackendProvider planted = ForwardingBackend.provider(cpu(), "cpu-swaps-kernel-axes", SwapsKernelAxes::new);
        Problem min = Shrinker.minimize(planted, PROBLEMS.get(0), DType.FP32, "FORWARD");
        assertEquals(2, min.spec().kernel(0), min.label());
        assertEquals(2, min.spec().kernel(1), min.label());
        assertEquals(1, min.spec().batch(), min.label());
        assertEquals(1, min.spec().outChannels(), min.label());
    }

    private static ConformanceSuite.Report run(ConvBackendProvider planted) {
        return ConformanceSuite.of(planted).dtypes(DType.FP32).problems(PROBLEMS).run();
    }

    private static void assertUsefulLine(CaseResult r) {
        String m = r.toString();
        assertTrue(m.startsWith("FAILED "), m);
        assertTrue(m.contains(r.problem().line()), "the problem line: " + m);
        assertTrue(m.contains("worst at [") && m.contains("expected ") && m.contains("got "), "the worst element: " + m);
        assertTrue(m.contains("abs error ") && m.contains("rel error "), "its errors: " + m);
        String afterCase = m.substring(("FAILED " + r.backend() + " " + r.caseName() + " ").length());
        assertEquals(r.problem().spec(), ConvSpec.parse(afterCase.split(" ")[0]), "the line in the message parses back: " + m);
        // the line ends with the case in the one repro form, which reads back as the same pass, dtype and problem
        int at = m.lastIndexOf(" -- repro: ");
        assertTrue(at > 0, "the repro: " + m);
        Repro back = Repro.parse(m.substring(at + " -- repro: ".length()));
        assertEquals(r.dtype(), back.dtype(), m);
        assertEquals(r.check().equals(ConformanceSuite.IDENTITY) ? Pass.FORWARD
                : r.check().equals(ConformanceSuite.ALL_GRADIENTS) ? Pass.BACKWARD_DATA : Pass.valueOf(r.check()), back.pass(), m);
        assertEquals(r.problem().spec(), back.problem().spec(), m);
    }

    @Test
    void aBackendThatDropsTheBiasFailsExactlyTheForwardPassesOfProblemsWithBias() {
        ConformanceSuite.Report rep = run(ForwardingBackend.provider(cpu(), "cpu-drops-bias", DropsBias::new));
        List<CaseResult> failed = rep.failures();
        assertFalse(failed.isEmpty(), rep.summary());
        for (CaseResult r : failed) {
            assertUsefulLine(r);
            boolean forwardWithBias = r.check().equals("FORWARD") && r.problem().spec().bias();
            boolean identityWithBias = r.check().equals(ConformanceSuite.IDENTITY) && r.problem().spec().bias();
            assertTrue(forwardWithBias || identityWithBias, "only forward passes with a bias may fail: " + r);
        }
        long withBias = PROBLEMS.stream().filter(p -> p.spec().bias()).count();
        assertEquals(withBias + 1, failed.size(), "every forward with a bias, and the deformable identity: " + rep.summary());
        assertTrue(rep.passed() > 0, "the passes the bug does not touch still pass: " + rep.summary());
    }

    @Test
    void aBackendThatSwapsTheKernelAxesFailsEveryPassThatReadsASquareNonTrivialKernel() {
        ConformanceSuite.Report rep = run(ForwardingBackend.provider(cpu(), "cpu-swaps-kernel-axes", SwapsKernelAxes::new));
        for (CaseResult r : rep.results()) {
            ConvSpec s = r.problem().spec();
            // the identity case and the gradients in one call (the data gradient reads w) read the kernel too
            boolean readsW = r.check().equals(ConformanceSuite.IDENTITY) || r.check().equals(ConformanceSuite.ALL_GRADIENTS)
                    || Pass.valueOf(r.check()).inputs(s).contains(Role.W);
            boolean hit = readsW && s.kernelVolume() > 1;
            assertEquals(hit ? Status.FAILED : Status.PASSED, r.status(), r.toString());
            if (hit) assertUsefulLine(r);
        }
        assertTrue(rep.failed() >= 6, rep.summary());
    }

    @Test
    void theDynamicTestsOfABuggyBackendFailWithTheProblemLine() throws Throwable {
        ConvBackendProvider planted = ForwardingBackend.provider(cpu(), "cpu-drops-bias", DropsBias::new);
        List<String> failures = new ArrayList<>();
        int run = 0;
        // the suite prints its report; say that its FAILED line is this test's planted bug, caught as it should be
        System.out.println("PlantedBugTest: EXPECTED FAILURE below: the backend cpu-drops-bias has a planted bug (it drops the bias);"
                + " the kit must report it, and this test passes when it does");
        try (Stream<DynamicNode> nodes = ConformanceSuite.of(planted).dtypes(DType.FP32).problems(PROBLEMS.subList(0, 2)).dynamicTests()) {
            for (DynamicTest t : flatten(nodes.toList())) {
                run++;
                try {
                    t.getExecutable().execute();
                } catch (AssertionFailedError e) {
                    failures.add(t.getDisplayName() + ": " + e.getMessage());
                } catch (TestAbortedException e) {
                    failures.add("aborted " + t.getDisplayName());
                }
            }
        }
        System.out.println("PlantedBugTest: end of the expected failure report");
        // problem 1 has 4 checks, problem 2 (no bias) 3, plus the summary
        assertEquals(8, run);
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(failures.get(0).startsWith("FP32 FORWARD: FAILED cpu-drops-bias FP32 FORWARD " + PROBLEMS.get(0).line()),
                failures.get(0));
    }

    private static List<DynamicTest> flatten(List<? extends DynamicNode> nodes) {
        List<DynamicTest> out = new ArrayList<>();
        for (DynamicNode n : nodes) {
            if (n instanceof DynamicTest t) out.add(t);
            else if (n instanceof DynamicContainer c) out.addAll(flatten(c.getChildren().toList()));
        }
        return out;
    }
}
