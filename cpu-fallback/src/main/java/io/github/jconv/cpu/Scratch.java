package io.github.jconv.cpu;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One worker's reusable scratch arrays, by slot. Arrays only grow, and their sizes depend on the
 * spec's tile sizes, never on the batch; the session adds up the bytes held for peak reporting.
 */
final class Scratch {
    static final int SLOTS = 6;
    private final float[][] floats = new float[SLOTS][];
    private final double[][] doubles = new double[SLOTS][];
    private final int[][] ints = new int[SLOTS][];
    private final float[][][] floatRows = {new float[0][], new float[0][]};
    private final double[][][] doubleRows = {new double[0][], new double[0][]};
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

    /** {@code rows} separate arrays of at least {@code width} (slot 0 or 1): rows C2 can vectorise together. */
    float[][] floatRows(int slot, int rows, int width) {
        float[][] r = floatRows[slot];
        if (r.length < rows || r[0].length < width) {
            int nr = Math.max(rows, r.length), nw = Math.max(width, r.length == 0 ? 0 : r[0].length);
            grow(4L * r.length * (r.length == 0 ? 0 : r[0].length), 4L * nr * nw);
            r = new float[nr][nw];
            floatRows[slot] = r;
        }
        return r;
    }

    double[][] doubleRows(int slot, int rows, int width) {
        double[][] r = doubleRows[slot];
        if (r.length < rows || r[0].length < width) {
            int nr = Math.max(rows, r.length), nw = Math.max(width, r.length == 0 ? 0 : r[0].length);
            grow(8L * r.length * (r.length == 0 ? 0 : r[0].length), 8L * nr * nw);
            r = new double[nr][nw];
            doubleRows[slot] = r;
        }
        return r;
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
        java.util.Arrays.fill(floatRows, new float[0][]);
        java.util.Arrays.fill(doubleRows, new double[0][]);
    }
}
