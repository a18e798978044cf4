package io.github.jconv.cpu;

import io.github.jconv.conformance.Catalogue;
import io.github.jconv.conformance.ConformanceSuite;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/**
 * The conformance kit run from this backend's own module, as a backend author would: the corner problems
 * (every option and its edges) in FP32 and FP64 against the kit's FP64 reference. The tests module runs
 * the whole catalogue against every backend.
 */
class ConformanceCpuTest {
    @TestFactory
    Stream<DynamicNode> corners() {
        return ConformanceSuite.of(new CpuBackendProvider(2)).problems(Catalogue.load("corners")).dynamicTests();
    }
}
