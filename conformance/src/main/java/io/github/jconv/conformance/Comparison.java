package io.github.jconv.conformance;

import io.github.jconv.Shape;

import java.util.Locale;

/**
 * The outcome of comparing one tensor against the reference: pass or not, and the worst element
 * (largest error relative to its bound) with its index, values, absolute and relative error.
 */
public record Comparison(String what, boolean passed, long count, long failures, long worstIndex, int[] worstCoordinates,
                         double expected, double actual, double absError, double relError, double bound,
                         Tolerance tolerance) {

    /**
     * Compares {@code actual} with {@code expected} element by element, the bound of each element
     * being {@code tolerance.bound(magnitude[i])}. NaN or infinity where the reference is finite fails.
     */
    public static Comparison of(String what, Shape shape, double[] expected, double[] magnitude, double[] actual,
                                Tolerance tolerance) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException(what + ": actual has " + actual.length + " elements, expected "
                    + expected.length + " for shape " + shape);
        }
        long failures = 0;
        int worst = -1;
        double worstRatio = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            double bound = tolerance.bound(magnitude[i]);
            double ratio;
            if (Double.isNaN(err) || Double.isInfinite(err)) ratio = Double.POSITIVE_INFINITY;
            else if (err == 0) ratio = 0;
            else ratio = bound == 0 ? Double.POSITIVE_INFINITY : err / bound;
            if (ratio > 1) failures++;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worst < 0) {
            return new Comparison(what, true, 0, 0, -1, new int[0], 0, 0, 0, 0, 0, tolerance);
        }
        double err = Math.abs(actual[worst] - expected[worst]);
        double rel = expected[worst] == 0 ? (err == 0 ? 0 : Double.POSITIVE_INFINITY) : err / Math.abs(expected[worst]);
        return new Comparison(what, failures == 0, expected.length, failures, worst, coordinates(shape, worst),
                expected[worst], actual[worst], err, rel, tolerance.bound(magnitude[worst]), tolerance);
    }

    /** The multi-dimensional index of flat element {@code flat} in a row-major {@code shape}. */
    public static int[] coordinates(Shape shape, long flat) {
        int[] c = new int[shape.rank()];
        long rest = flat;
        for (int d = shape.rank() - 1; d >= 0; d--) {
            c[d] = (int) (rest % shape.dim(d));
            rest /= shape.dim(d);
        }
        return c;
    }

    /** The worst element's error over its bound: below 1 passes; how much headroom the tolerance left. */
    public double worstRatio() {
        if (absError == 0) return 0;
        return bound == 0 ? Double.POSITIVE_INFINITY : absError / bound;
    }

    /** One line: what, verdict, failing count, the worst element and its errors, the tolerance. */
    public String describe() {
        if (worstIndex < 0) return what + ": empty";
        return String.format(Locale.ROOT,
                "%s: %s, %d of %d elements out of tolerance; worst at %s (flat %d): expected %.9g, got %.9g, abs error %.3g, rel error %.3g, bound %.3g (%s)",
                what, passed ? "ok" : "MISMATCH", failures, count, java.util.Arrays.toString(worstCoordinates), worstIndex,
                expected, actual, absError, relError, bound, tolerance);
    }

    @Override
    public String toString() {
        return describe();
    }
}
