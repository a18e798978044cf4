package io.github.jconv.reliability;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A problem just over 2^31 elements (1×1 kernel, one channel, 46341² = 2,147,488,281 elements):
 * it either runs with correct values at its far end, or is refused up front with the limit named.
 * Tagged out of CI's default run because a backend that accepts it needs ~17 GB; run it with
 * {@code mvn -pl tests test -Dtest=HugeInputTest -Dgroups=huge -Djconv.excludedGroups=none}.
 */
@Tag("huge")
class HugeInputTest {
    static java.util.List<String> backends() {
        return Backends.names();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aProblemOverTwoToTheThirtyOneElementsRunsOrIsRefusedWithTheLimitNamed(String name) {
        ConvSpec spec = ConvSpec.parse("mb1ic1ih46341oc1kh1bia0");
        assertTrue(spec.inputShape().elementCount() > (1L << 31));
        try (ConvEngine e = Backends.open(name)) {
            DeviceBuffer x;
            try {
                x = e.allocate(DType.FP32, spec.inputShape());
            } catch (IllegalArgumentException refused) {
                String m = refused.getMessage();
                long n = spec.inputShape().elementCount();
                assertTrue((m.contains(String.valueOf(n)) || m.contains(String.valueOf(4 * n))) && m.matches("(?s).*(limit|at most|max|largest).*"),
                        "the refusal names the size and the limit: " + m);
                return;
            }
            try (x; DeviceBuffer w = e.upload(new float[] {2f}, spec.weightShape())) {
                long last = spec.inputShape().elementCount() - 1;
                e.backend().upload(x, last, new float[] {3f}, 0, 1);
                e.backend().upload(x, 0, new float[] {5f}, 0, 1);
                try (DeviceBuffer y = e.forward(spec, x, w, null)) {
                    float[] end = new float[1];
                    e.backend().download(y, last, end, 0, 1);
                    assertEquals(6f, end[0], "the last element, past 2^31, is computed");
                    e.backend().download(y, 0, end, 0, 1);
                    assertEquals(10f, end[0]);
                }
            }
        }
    }
}
