package io.github.jconv.conformance;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ToleranceTest {
    @Test
    void theTableOrdersThePrecisionsFromFp64ToBf16() {
        double fp64 = Tolerance.of(DType.FP64, MathMode.EXACT, 576).rel();
        double fp32 = Tolerance.of(DType.FP32, MathMode.EXACT, 576).rel();
        double tf32 = Tolerance.of(DType.FP32, MathMode.TF32, 576).rel();
        double fp16 = Tolerance.of(DType.FP16, MathMode.FP16, 576).rel();
        double bf16 = Tolerance.of(DType.BF16, MathMode.BF16, 576).rel();
        assertTrue(fp64 < fp32 && fp32 < tf32 && tf32 < fp16 && fp16 < bf16, fp64 + " " + fp32 + " " + tf32 + " " + fp16 + " " + bf16);
        // FP32 exact at K = 576: 2^-24 · (8·24 + 32) = 224 · 2^-24
        assertEquals(224 * 0x1p-24, fp32, 0);
    }

    @Test
    void fp16AllowsItsSubnormalRoundingAsAnAbsoluteFloor() {
        // A one-term FP16 result of 1.74577249e-06 lies in half's subnormal range (below 2^-14), where the step is
        // 2^-24: it is 29.29 steps, so the nearest half is 29 · 2^-24 = 1.72853470e-06, an error of 1.72e-08. The
        // relative bound alone at K = 9, (3 · 2^-11 + 2^-24 · 56) · 1.75e-06 = 2.6e-09, refused that correct rounding;
        // the floor (2 · 9 + 1) · 2^-25 = 5.66e-07 admits it.
        Tolerance t = Tolerance.of(DType.FP16, MathMode.FP16, 9);
        double expected = 1.74577249e-06;
        double got = 29 * 0x1p-24;
        assertTrue(Math.abs(got - expected) > t.rel() * expected);
        assertTrue(Math.abs(got - expected) <= t.bound(expected));
        assertEquals(19 * 0x1p-25, t.absoluteFloor(), 0);
        // an element with no terms must still be exactly zero, and the other types get no floor
        assertEquals(0, t.bound(0), 0);
        assertEquals(0, Tolerance.of(DType.FP32, MathMode.EXACT, 9).absoluteFloor(), 0);
        assertEquals(0, Tolerance.of(DType.BF16, MathMode.BF16, 9).absoluteFloor(), 0);
    }

    @Test
    void longerReductionsGetLooserBoundsAsTheSquareRootOfTheirLength() {
        double k9 = Tolerance.of(DType.FP32, MathMode.EXACT, 9).rel();
        double k900 = Tolerance.of(DType.FP32, MathMode.EXACT, 900).rel();
        assertEquals((8 * 30 + 32) / (8 * 3.0 + 32), k900 / k9, 1e-12);
    }

    @Test
    void aModeThatDoesNotGoWithItsDtypeIsRefusedNamingTheMode() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tolerance.of(DType.FP64, MathMode.TF32, 9));
        assertTrue(e.getMessage().startsWith("mode = TF32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tolerance.of(DType.FP16, MathMode.EXACT, 9));
        IllegalArgumentException k = assertThrows(IllegalArgumentException.class, () -> Tolerance.of(DType.FP32, MathMode.EXACT, 0));
        assertTrue(k.getMessage().startsWith("reductionLength = 0"), k.getMessage());
    }

    @Test
    void theSamplingPositionTermGrowsWithThePosition() {
        Tolerance t = Tolerance.of(DType.FP32, MathMode.EXACT, 9);
        assertEquals(t.rel() + 0x1p-24 * 32, t.withSamplingPosition(30).rel(), 0);
    }

    @Test
    void aComparisonReportsTheWorstElementByItsRatioToTheBound() {
        Tolerance t = Tolerance.of(DType.FP32, MathMode.EXACT, 1);
        double[] ref = {1, 2, 100, 0};
        double[] mag = {1, 2, 100, 0};
        // element 1 is off by 1e-3 (ratio huge), element 2 by 1e-2 but its magnitude is 50x larger
        double[] got = {1, 2 + 1e-3, 100 + 1e-2, 0};
        Comparison c = Comparison.of("y", Shape.of(2, 2), ref, mag, got, t);
        assertFalse(c.passed());
        assertEquals(2, c.failures());
        assertEquals(1, c.worstIndex());
        assertArrayEquals(new int[] {0, 1}, c.worstCoordinates());
        assertEquals(1e-3, c.absError(), 1e-12);
        assertEquals(5e-4, c.relError(), 1e-9);
        String d = c.describe();
        assertTrue(d.contains("worst at [0, 1] (flat 1)") && d.contains("abs error 0.00100") && d.contains("2 of 4"), d);
    }

    @Test
    void anElementWithNoTermsMustBeExactlyZeroAndNanNeverPasses() {
        Tolerance t = Tolerance.of(DType.FP32, MathMode.EXACT, 1);
        Comparison tiny = Comparison.of("y", Shape.of(1), new double[] {0}, new double[] {0}, new double[] {1e-30}, t);
        assertFalse(tiny.passed(), tiny.describe());
        Comparison nan = Comparison.of("y", Shape.of(2), new double[] {1, 1}, new double[] {1, 1}, new double[] {1, Double.NaN}, t);
        assertFalse(nan.passed());
        assertEquals(1, nan.worstIndex());
        Comparison ok = Comparison.of("y", Shape.of(2), new double[] {1, -0.0}, new double[] {1, 0}, new double[] {1 + 0x1p-24, 0.0}, t);
        assertTrue(ok.passed(), ok.describe());
    }

    @Test
    void coordinatesAreRowMajor() {
        assertArrayEquals(new int[] {1, 2, 3}, Comparison.coordinates(Shape.of(2, 3, 4), 1 * 12 + 2 * 4 + 3));
    }
}
