package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The key of what PreparedPlans prepares once per (problem, pass, dtype): equal problems hit, any difference misses. */
class PreparedKeyTest {
    static final ConvSpec SPEC = ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build();

    static PreparedKey key(ConvSpec s, Pass p, DType d) {
        return new PreparedKey(s, p, d);
    }

    @Test
    void theSameProblemBuiltTwiceOrParsedFromItsLineIsTheSameKey() {
        PreparedKey a = key(SPEC, Pass.FORWARD, DType.FP32);
        PreparedKey b = key(ConvSpec.parse(SPEC.toString()), Pass.FORWARD, DType.FP32);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        Map<PreparedKey, String> m = new HashMap<>();
        m.put(a, "prepared");
        assertEquals("prepared", m.get(b));
    }

    @Test
    void everyFieldOfTheProblemThePassAndTheDtypeSeparateKeys() {
        PreparedKey base = key(SPEC, Pass.FORWARD, DType.FP32);
        List<PreparedKey> others = List.of(
                key(SPEC.toBuilder().batch(16).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().channels(32, 64).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().channels(64, 32).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().groups(2).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().bias(false).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().input(56, 57).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().kernel(3, 5).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().stride(2).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().paddingLo(1, 2).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().paddingHi(2, 1).build(), Pass.FORWARD, DType.FP32),
                key(SPEC.toBuilder().dilation(2).build(), Pass.FORWARD, DType.FP32),
                key(ConvSpec.transposed().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build(), Pass.FORWARD, DType.FP32),
                key(ConvSpec.transposed().batch(8).channels(64, 64).input(56, 56).kernel(3).stride(2).padding(1).outputPadding(1).build(),
                        Pass.FORWARD, DType.FP32),
                key(SPEC, Pass.BACKWARD_DATA, DType.FP32),
                key(SPEC, Pass.BACKWARD_WEIGHT, DType.FP32),
                key(SPEC, Pass.FORWARD, DType.FP16),
                key(SPEC, Pass.FORWARD, DType.BF16));
        Map<PreparedKey, String> m = new HashMap<>();
        m.put(base, "base");
        for (PreparedKey k : others) {
            assertNotEquals(base, k, k.spec + " " + k.pass + " " + k.dtype);
            assertNull(m.get(k), k.spec + " " + k.pass + " " + k.dtype);
        }
        assertEquals(others.size(), new java.util.HashSet<>(others).size(), "the variants differ from each other too");
    }
}
