package io.github.jconv.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * How many (input, tap) pairs of a transposed convolution land on each output position along one
 * axis: output o receives input i through tap t when i·s + t·d = o (no padding). Uneven counts in
 * the interior are the checkerboard pattern.
 */
record Overlap(int kernel, int stride, int dilation, int input, int[] counts) {

    /** Longest output per axis that is counted and drawn. */
    static final int MAX_OUTPUT = 2048;

    static Overlap of(int kernel, int stride, int dilation, int input) {
        positive("kernel", kernel, 4);
        positive("stride", stride, 2);
        positive("dilation", dilation, 1);
        positive("input", input, 8);
        long length = (long) stride * (input - 1) + (long) dilation * (kernel - 1) + 1;
        if (length > MAX_OUTPUT) {
            long span = (long) dilation * (kernel - 1) + 1;
            long fits = span <= MAX_OUTPUT ? (MAX_OUTPUT - span) / stride + 1 : 0; // the largest input that still fits
            String eg = fits >= 1 ? "--input " + Math.min(fits, 6) : "-k 4 -s 2";
            throw new IllegalArgumentException("output = stride*(input-1) + dilation*(kernel-1) + 1 = " + length + " per axis: over "
                    + MAX_OUTPUT + ", the largest map drawn; use a smaller --input, kernel, stride or dilation, e.g. " + eg);
        }
        int span = dilation * (kernel - 1) + 1;
        int[] c = new int[stride * (input - 1) + span];
        for (int i = 0; i < input; i++) for (int t = 0; t < kernel; t++) c[i * stride + t * dilation]++;
        return new Overlap(kernel, stride, dilation, input, c);
    }

    private static void positive(String name, int v, int example) {
        if (v < 1) throw new IllegalArgumentException(name + " = " + v + ": must be positive; e.g. " + name + " = " + example);
    }

    int effectiveKernel() {
        return dilation * (kernel - 1) + 1;
    }

    /** Counts per residue o mod s, i.e. the interior pattern, which repeats with period s. */
    int[] period() {
        int[] p = new int[stride];
        for (int t = 0; t < kernel; t++) p[(t * dilation) % stride]++;
        return p;
    }

    /** Even when every output position away from the borders receives the same number of contributions. */
    boolean even() {
        int[] p = period();
        for (int v : p) if (v != p[0]) return false;
        return true;
    }

    /** The rule of thumb from the notes: even when the effective kernel is a multiple of the stride. */
    boolean ruleOfThumbEven() {
        return effectiveKernel() % stride == 0;
    }

    /** 2D map for a square kernel: the product of the per-axis counts. */
    double[][] map2d() {
        double[][] m = new double[counts.length][counts.length];
        for (int y = 0; y < counts.length; y++) for (int x = 0; x < counts.length; x++) m[y][x] = (double) counts[y] * counts[x];
        return m;
    }

    /**
     * Kernel sizes up to {@code max} with even overlap at this stride and dilation. The taps t·d fall
     * on the residues mod s that are multiples of g = gcd(d, s), cycling with period s/g: when g > 1
     * the other residues get nothing (uneven for every kernel); when g = 1 every residue gets the same
     * count exactly when the kernel is a whole number of cycles, a multiple of s.
     */
    static List<Integer> evenKernels(int stride, int dilation, int max) {
        List<Integer> out = new ArrayList<>();
        if (java.math.BigInteger.valueOf(stride).gcd(java.math.BigInteger.valueOf(dilation)).intValue() != 1) return out;
        for (long k = stride; k <= max; k += stride) out.add((int) k);
        return out;
    }

    /** The smallest input whose output has a whole period of positions that every tap can reach (the interior). */
    static long inputForInterior(int kernel, int stride, int dilation) {
        // interior positions o satisfy (k-1)·d <= o <= s·(input-1); a period needs s of them
        long span = (long) dilation * (kernel - 1);
        return (span + stride - 1 + stride - 1) / stride + 1;
    }

    boolean hasInterior() {
        return input >= inputForInterior(kernel, stride, dilation);
    }
}
