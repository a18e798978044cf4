package io.github.jconv.cpu;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One worker's reusable scratch arrays, by slot. Arrays only grow, and their sizes depend on the
 * spec's tile sizes, never on the batch; the session adds up the bytes held for peak reporting.
 */
final class Scratch {
    // The slots, by what they hold. Kernels that never run inside one another share a slot: the depthwise kernels
    // (no GEMM) use the GEMM's slots for their row buffers and weights, and COLUMNS for their accumulator row.
    /** The GEMM's first buffer: packed A panels (Vector API) or the accumulator row and packed B rows (scalar). */
    static final int GEMM_A = 0;
    /** The GEMM's second buffer: packed B panels (Vector API) or the A row (scalar); depthwise weights. */
    static final int GEMM_B = 1;
    /** An input staged for a kernel: the padded depthwise input, deformable sampling weights. */
    static final int STAGED = 2;
    /** The column tile a GEMM reads (im2col, deformable sampling); the depthwise accumulator row. */
    static final int COLUMNS = 3;
    /** The Vector API micro-kernel's register tile on its way out to C. */
    static final int GEMM_TILE = 4;
    /** One phase's output of the transposed (phase-split) backward data. */
    static final int PHASE_OUT = 5;
    /** The input of an image's offset group with channels last ({@link FloatChannelsLast}). */
    static final int CHANNELS_LAST_X = 6;
    /** Its input gradient with channels last, accumulated over the tiles. */
    static final int CHANNELS_LAST_DX = 7;
    /** Integer slot: deformable sample indices. */
    static final int SAMPLE_INDEX = 0;
    /** Integer slot: the Vector API bilinear gather's sample indices, corner by corner. */
    static final int PLAN_INDEX = 1;
    /** Shared (pool-wide) float slots: per-chunk partial weight gradients, and flipped weights. */
    static final int SHARED_PARTIALS = 0;
    static final int SHARED_WEIGHTS = 1;
    /** Shared float slot: weights packed once per call for the Vector API GEMM ({@link FloatGemm#prepackA}) and the implicit GEMM's channel tile. */
    static final int SHARED_PACKED_A = 2;
    static final int SLOTS = 8;
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
