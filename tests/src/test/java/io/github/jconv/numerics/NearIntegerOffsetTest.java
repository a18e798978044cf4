package io.github.jconv.numerics;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.conformance.Offsets;
import io.github.jconv.conformance.ProblemData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sampling positions whose offset is a tiny fraction away from an integer (issue 18, item 9): the
 * position must be kept as an integer cell plus the offset's own fraction, so that FP32 does not
 * round the fraction against a large base coordinate (16 + 10⁻⁴ in FP32 keeps only 8 bits of it).
 */
class NearIntegerOffsetTest {

    static Stream<String> backends() {
        return Runs.backends();
    }

    /**
     * {@code dg1mb1ic1ih20iw1oc1kh1kw1bia0}: x[17] = 1, every other x 0, w = 1; offset (dy) 10⁻⁴ (as FP32:
     * 9.99999974737875e-05) at output row 16, 0 elsewhere. Row 16 samples 16 + 10⁻⁴: cell 16, fraction
     * f = the FP32 offset itself, so y[16] = (1 − f)·x[16] + f·x[17] = f exactly, in FP32 as well.
     * Every other row samples its own pixel: y = x there (y[17] = 1, the rest 0).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aTinyOffsetAtAFarRowKeepsEveryBitOfItsFraction(String backend) {
        ConvSpec s = ConvSpec.parse("dg1mb1ic1ih20iw1oc1kh1kw1bia0");
        Map<Role, double[]> in = new EnumMap<>(Role.class);
        double[] x = new double[20];
        x[17] = 1;
        double[] off = new double[40];
        double f = (float) 1e-4;
        off[16] = f;
        in.put(Role.X, x);
        in.put(Role.W, new double[] {1});
        in.put(Role.OFFSET, off);
        assertEquals(f, Runs.reference(Pass.FORWARD, s, in).get(Role.Y)[16], 0, "reference");
        try (ConvEngine e = Runs.open(backend)) {
            for (DType d : Runs.dtypes(e, s, Pass.FORWARD)) {
                double[] y = Runs.backend(e, d, Pass.FORWARD, s, in).get(Role.Y);
                assertEquals(f, y[16], 0, backend + " " + d + ": y[16] = the offset's fraction, exactly");
                assertEquals(1, y[17], 0, backend + " " + d + ": y[17]");
            }
        }
    }

    /**
     * Offsets N(0, 10⁻⁵) on a 3×3, padding-1 problem: every sample sits within 10⁻⁴ of an integer, half
     * of them just below one (cell p − 1, slope towards p − 1) and half just above (cell p). The offset
     * gradient jumps between the two slopes, so a backend that rounds the position into the wrong
     * cell is off by the full slope difference. Against the FP64 reference, the offset gradient and
     * the output must agree to 10⁻⁴ of their largest magnitude in every element (the old FP32 OpenCL
     * kernels missed that in hundreds of elements).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void offsetsWithinATinyDistanceOfIntegersKeepTheirCells(String backend) {
        ConvSpec s = ConvSpec.parse("dg1mb2ic4ih12oc4kh3ph1bia0");
        ProblemData data = ProblemData.generate(s, Offsets.NORMAL, 18);
        Map<Role, double[]> in = new EnumMap<>(data.asMap());
        SplittableRandom r = new SplittableRandom(9);
        double[] off = new double[in.get(Role.OFFSET).length];
        for (int i = 0; i < off.length; i++) off[i] = (float) (1e-5 * r.nextGaussian());
        in.put(Role.OFFSET, off);
        Map<Role, double[]> ref = Runs.reference(Pass.BACKWARD_OFFSET_MASK, s, in);
        double[] refY = Runs.reference(Pass.FORWARD, s, in).get(Role.Y);
        try (ConvEngine e = Runs.open(backend)) {
            for (DType d : Runs.dtypes(e, s, Pass.BACKWARD_OFFSET_MASK)) {
                compare(backend + " " + d + " d offset", ref.get(Role.DOFFSET),
                        Runs.backend(e, d, Pass.BACKWARD_OFFSET_MASK, s, in).get(Role.DOFFSET));
                compare(backend + " " + d + " y", refY, Runs.backend(e, d, Pass.FORWARD, s, in).get(Role.Y));
            }
        }
    }

    private static void compare(String what, double[] want, double[] have) {
        double max = 0;
        for (double v : want) max = Math.max(max, Math.abs(v));
        int bad = 0;
        int first = -1;
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(want[i] - have[i]) <= 1e-4 * max)) {
                bad++;
                if (first < 0) first = i;
            }
        }
        int f = first;
        double m = max;
        assertEquals(0, bad, () -> what + ": " + "elements off by more than 1e-4 of the largest |value| " + m
                + "; first at " + f + ": want " + want[f] + ", got " + have[f]);
    }

    @Test
    void nearIntegerConformanceOffsetsAreIntegersAndTinyFractionsOnBothSides() {
        ConvSpec s = ConvSpec.parse("dg1msk1mb2ic4ih6oc4kh3ph1");
        double[] off = ProblemData.generate(s, Offsets.NEAR_INTEGER, 3).get(Role.OFFSET);
        int exact = 0;
        int above = 0;
        int below = 0;
        for (double v : off) {
            assertEquals(v, (float) v, 0, "an FP32 number");
            double k = Math.rint(v);
            double eps = v - k;
            assertTrue(Math.abs(k) <= 3 && Math.abs(eps) <= 1.001e-3, "offset " + v);
            if (eps == 0) exact++;
            else if (eps > 0) above++;
            else below++;
        }
        assertTrue(exact > off.length / 4 && above > off.length / 8 && below > off.length / 8,
                exact + " integers, " + above + " just above, " + below + " just below of " + off.length);
    }
}
