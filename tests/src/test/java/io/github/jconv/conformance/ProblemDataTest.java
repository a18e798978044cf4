package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProblemDataTest {
    private static final ConvSpec V2 = ConvSpec.parse("dg2msk1mb2ic4ih9oc4kh3ph1");

    @ParameterizedTest
    @EnumSource(Offsets.class)
    void everyValueIsAnFp32NumberSoFp32AndFp64BackendsReadTheSameInputs(Offsets offsets) {
        ProblemData d = ProblemData.generate(V2, offsets, 11);
        for (Role r : d.asMap().keySet()) {
            for (double v : d.get(r)) assertEquals(v, (double) (float) v, r + " holds " + v);
        }
    }

    @Test
    void offsetsStayAwayFromIntegersSoFp32SamplesStayInTheirBilinearCell() {
        for (Offsets o : new Offsets[] {Offsets.NORMAL, Offsets.FAR}) {
            for (double v : ProblemData.generate(V2, o, 3).get(Role.OFFSET)) {
                double f = v - Math.floor(v);
                assertTrue(f >= 0.0099 && f <= 0.9901, o + " offset " + v);
            }
        }
    }

    @Test
    void farOffsetsSendAboutHalfTheSamplesBeyondTheBorder() {
        double[] off = ProblemData.generate(V2, Offsets.FAR, 5).get(Role.OFFSET);
        long far = java.util.Arrays.stream(off).filter(v -> Math.abs(v) > V2.input(0) + 1).count();
        assertTrue(far > off.length / 3 && far < 2 * off.length / 3, far + " of " + off.length);
    }

    @Test
    void zeroOffsetsComeWithAUnitMaskAndNormalOnesWithAMaskInTheUnitInterval() {
        ProblemData zero = ProblemData.generate(V2, Offsets.ZERO, 1);
        for (double v : zero.get(Role.OFFSET)) assertEquals(0.0, v);
        for (double v : zero.get(Role.MASK)) assertEquals(1.0, v);
        for (double v : ProblemData.generate(V2, Offsets.NORMAL, 1).get(Role.MASK)) assertTrue(v >= 0 && v < 1, "mask " + v);
    }

    @Test
    void theSameSeedGivesTheSameDataAndAProblemWithoutBiasHasNoB() {
        assertArrayEquals(ProblemData.generate(V2, Offsets.NORMAL, 9).get(Role.X), ProblemData.generate(V2, Offsets.NORMAL, 9).get(Role.X));
        assertNull(ProblemData.generate(ConvSpec.parse("mb1ic2ih5oc2kh3bia0"), Offsets.NORMAL, 1).get(Role.B));
    }
}
