package io.github.jconv.numerics;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvType;
import io.github.jconv.conformance.Catalogue;
import io.github.jconv.conformance.ConformanceSuite;
import io.github.jconv.conformance.Offsets;
import io.github.jconv.conformance.Problem;
import io.github.jconv.equivalence.RequiredBackends;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite on the deformable problems of the corner catalogue (the border and
 * near-integer cases among them) for every backend: quick, so the border rule is checked on every
 * backend in every run. With {@code -Djconv.numerics.allDeformable=true} it adds the detector heads
 * of deformable.txt and the deformable fuzz problems (what EquivalenceTest runs among everything else).
 */
class DeformableConformanceTest {

    static List<Problem> problems() {
        List<Problem> out = new ArrayList<>(Catalogue.load("corners"));
        if (Boolean.getBoolean("jconv.numerics.allDeformable")) {
            out.addAll(Catalogue.load("deformable"));
            out.addAll(Catalogue.fuzz(Catalogue.FUZZ_SEED, 40));
        }
        out.removeIf(p -> p.spec().type() != ConvType.DEFORMABLE);
        return out;
    }

    @Test
    void theProblemsIncludeTapsOnTheBorderAndNearIntegerOffsets() {
        List<Problem> ps = problems();
        assertTrue(ps.stream().anyMatch(p -> p.offsets() == Offsets.ZERO && p.spec().paddingLo(0) >= 1), "taps on -1 and H");
        assertTrue(ps.stream().anyMatch(p -> p.offsets() == Offsets.NEAR_INTEGER && p.spec().modulated()), "near-integer v2");
        assertTrue(ps.stream().anyMatch(p -> p.offsets() == Offsets.NEAR_INTEGER && !p.spec().modulated()), "near-integer v1");
    }

    @TestFactory
    Stream<DynamicNode> everyBackendConformsOnTheDeformableProblems() {
        List<DynamicNode> nodes = new ArrayList<>();
        for (ConvBackendProvider p : ConvEngine.providers()) {
            ProbeResult probe = p.probe();
            if (probe.available()) {
                nodes.add(DynamicContainer.dynamicContainer("backend " + p.name(),
                        ConformanceSuite.of(p).problems(problems()).dynamicTests()));
            } else {
                nodes.add(DynamicTest.dynamicTest("backend " + p.name() + " is unavailable", () -> {
                    String why = p.name() + " unavailable: " + probe.reason();
                    if (RequiredBackends.fromEnvironment().contains(p.name())) Assertions.fail("required by JCONV_REQUIRE_BACKENDS, but " + why);
                    Assumptions.abort(why);
                }));
            }
        }
        return nodes.stream();
    }
}
