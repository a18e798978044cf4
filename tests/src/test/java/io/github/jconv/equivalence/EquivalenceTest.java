package io.github.jconv.equivalence;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Capabilities;
import io.github.jconv.conformance.Catalogue;
import io.github.jconv.conformance.ConformanceSuite;
import io.github.jconv.conformance.CrossCheck;
import io.github.jconv.conformance.Problem;
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
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every backend on the classpath against the FP64 reference (the whole conformance suite), and every
 * pair of available backends against each other. A backend named in JCONV_REQUIRE_BACKENDS that is
 * missing or unavailable fails; any other unavailable backend is skipped with its probe's reason.
 */
class EquivalenceTest {
    private static final Set<String> REQUIRED = RequiredBackends.fromEnvironment();
    /** Backends against each other: the corners, the deformable heads and the fuzz problems. */
    private static final List<Problem> CROSS_PROBLEMS = Stream.of(Catalogue.load("corners"), Catalogue.load("deformable"),
            Catalogue.fuzz(Catalogue.FUZZ_SEED, 40)).flatMap(List::stream).toList();

    private static List<ConvBackendProvider> available() {
        List<ConvBackendProvider> out = new ArrayList<>();
        for (ConvBackendProvider p : ConvEngine.providers()) if (p.probe().available()) out.add(p);
        return out;
    }

    @Test
    void everyRequiredBackendIsOnTheClasspath() {
        List<String> names = ConvEngine.providers().stream().map(ConvBackendProvider::name).toList();
        Assumptions.assumeFalse(REQUIRED.isEmpty(), "JCONV_REQUIRE_BACKENDS is not set; backends found: " + names);
        for (String r : REQUIRED) {
            Assertions.assertTrue(names.contains(r), "JCONV_REQUIRE_BACKENDS names " + r
                    + " but no provider of that name is on the classpath (found: " + names + ")");
        }
    }

    @TestFactory
    Stream<DynamicNode> everyBackendConformsToTheReference() {
        List<DynamicNode> nodes = new ArrayList<>();
        for (ConvBackendProvider p : ConvEngine.providers()) {
            ProbeResult probe = p.probe();
            if (probe.available()) {
                nodes.add(DynamicContainer.dynamicContainer("backend " + p.name(), ConformanceSuite.of(p).dynamicTests()));
                // FP16 storage with FP32 sums has its own tolerance row; run for the backends that store FP16
                if (storesFp16(p)) {
                    nodes.add(DynamicContainer.dynamicContainer("backend " + p.name() + " FP16",
                            ConformanceSuite.of(p).dtypes(DType.FP16).dynamicTests()));
                }
            } else {
                nodes.add(DynamicTest.dynamicTest("backend " + p.name() + " is unavailable", () -> {
                    String why = p.name() + " unavailable: " + probe.reason() + (probe.fix().isEmpty() ? "" : " (fix: " + probe.fix() + ")");
                    if (REQUIRED.contains(p.name())) Assertions.fail("required by JCONV_REQUIRE_BACKENDS, but " + why);
                    Assumptions.abort(why);
                }));
            }
        }
        return nodes.stream();
    }

    /** Whether device 0 of {@code p} supports an FP16 forward of the representative 2D convolution. */
    private static boolean storesFp16(ConvBackendProvider p) {
        try (ConvEngine e = ConvEngine.open(p, 0)) {
            return e.backend().supports(Capabilities.representative(ConvType.CONVOLUTION, 2), Pass.FORWARD, DType.FP16).supported();
        }
    }

    @TestFactory
    Stream<DynamicNode> everyPairOfAvailableBackendsAgrees() {
        List<ConvBackendProvider> av = available();
        List<DynamicNode> nodes = new ArrayList<>();
        for (int i = 0; i < av.size(); i++) {
            for (int j = i + 1; j < av.size(); j++) {
                nodes.add(DynamicContainer.dynamicContainer(av.get(i).name() + " vs " + av.get(j).name(),
                        CrossCheck.of(av.get(i), av.get(j)).problems(CROSS_PROBLEMS).dynamicTests()));
            }
        }
        if (nodes.isEmpty()) {
            nodes.add(DynamicTest.dynamicTest("fewer than two backends available", () -> Assumptions.abort(
                    "only " + av.stream().map(ConvBackendProvider::name).toList() + " available; nothing to compare")));
        }
        return nodes.stream();
    }

    @Test
    void theRequiredListIsACommaListOfNames() {
        assertEquals(Set.of("cpu", "opencl"), RequiredBackends.parse(" CPU, opencl ,"));
        assertEquals(Set.of(), RequiredBackends.parse(""));
        assertEquals(Set.of(), RequiredBackends.parse(null));
    }
}
