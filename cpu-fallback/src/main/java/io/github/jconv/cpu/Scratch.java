package io.github.jconv.cpu;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One worker's reusable scratch arrays, by slot. Arrays only grow, and their sizes depend on the
 * spec's tile sizes, never on the batch; the session adds up the bytes held for peak reporting.
 */
final class Scratch {
    static final int SLOTS = 4;
    private final float[][] floats = new float[SLOTS][];
    private final double[][] doubles = new double[SLOTS][];
    private final int[][] ints = new int[SLOTS][];
    private float[][] floatRows = new float[0][];
    private double[][] doubleRows = new double[0][];
    private final AtomicLong held;
    private final AtomicLong peak;

    Scratch(AtomicLong held, AtomicLong peak) {
        this.held = held;
        this.peak = peak;
    }

    float[] floats(int slot, int n) {
        float[] a = floats[slot];
        if (a == null || a.length < n) {
            grow(a == null ? 0 : 4L * a.length, 4L * n);
            a = new float[n];
            floats[slot] = a;
        }
        return a;
    }

    double[] doubles(int slot, int n) {
        double[] a = doubles[slot];
        if (a == null || a.length < n) {
            grow(a == null ? 0 : 8L * a.length, 8L * n);
            a = new double[n];
            doubles[slot] = a;
        }
        return a;
    }

    int[] ints(int slot, int n) {
        int[] a = ints[slot];
        if (a == null || a.length < n) {
            grow(a == null ? 0 : 4L * a.length, 4L * n);
            a = new int[n];
            ints[slot] = a;
        }
        return a;
    }

    /** {@code rows} separate arrays of at least {@code width}: GEMM panels whose rows C2 can vectorise together. */
    float[][] floatRows(int rows, int width) {
        if (floatRows.length < rows || floatRows[0].length < width) {
            int r = Math.max(rows, floatRows.length), w = Math.max(width, floatRows.length == 0 ? 0 : floatRows[0].length);
            grow(4L * floatRows.length * (floatRows.length == 0 ? 0 : floatRows[0].length), 4L * r * w);
            floatRows = new float[r][w];
        }
        return floatRows;
    }

    double[][] doubleRows(int rows, int width) {
        if (doubleRows.length < rows || doubleRows[0].length < width) {
            int r = Math.max(rows, doubleRows.length), w = Math.max(width, doubleRows.length == 0 ? 0 : doubleRows[0].length);
            grow(8L * doubleRows.length * (doubleRows.length == 0 ? 0 : doubleRows[0].length), 8L * r * w);
            doubleRows = new double[r][w];
        }
        return doubleRows;
    }

    private void grow(long oldBytes, long newBytes) {
        long now = held.addAndGet(newBytes - oldBytes);
        peak.accumulateAndGet(now, Math::max);
    }

    /** Drops every array (the session's byte count is reset by the caller). */
    void clear() {
        java.util.Arrays.fill(floats, null);
        java.util.Arrays.fill(doubles, null);
        java.util.Arrays.fill(ints, null);
        floatRows = new float[0][];
        doubleRows = new double[0][];
    }
}
