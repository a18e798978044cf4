package io.github.jconv.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GEMM without the Vector API ({@link FloatGemm#plain}, called directly so that it is tested with
 * and without the module): three- and four-row kernels, narrow-block path, padded and balanced K and N blocks,
 * B read transposed (packed eight rows at a time, with a remainder).
 * Against a triple loop in FP64, with the error bound of PackedGemmTest ((K + 2)·2⁻²⁴·Σ|a·b|, plus the
 * same for C), and bit for bit against itself however the rows and columns are split.
 */
class ScalarGemmTest {
    private static Scratch scratch() {
        return new Scratch(new AtomicLong(), new AtomicLong());
    }

    /**
     * (m, n, k): m around the four-row groups (1 to 9, 13); n below, at and above the narrow limit
     * (SMALL_N = 16) and past NC = 1024 (1100 and 2100 split into balanced blocks); k = 1, around the
     * padding to multiples of 4 (3, 4, 5) and around KC = 64 (63, 64, 65, 130).
     */
    private static final int[][] SIZES = {
            {1, 1, 1}, {2, 15, 3}, {3, 16, 4}, {4, 17, 5}, {5, 40, 1}, {6, 33, 63}, {7, 64, 64}, {8, 9, 65},
            {9, 100, 130}, {13, 513, 7}, {3, 1100, 20}, {4, 16, 1}, {1, 200, 66}, {5, 2100, 9},
    };

    @Test
    void plainGemmMatchesTheFp64TripleLoop() {
        Random r = new Random(11);
        Scratch s = scratch();
        for (int[] size : SIZES) {
            int m = size[0], n = size[1], k = size[2];
            for (int layout = 0; layout < 4; layout++) {
                boolean aT = (layout & 1) != 0, bT = (layout & 2) != 0;
                for (boolean acc : new boolean[]{false, true}) {
                    // A at offset 3 of its array, B at offset 2, C at 5 with ldc = n + 2: padding untouched.
                    float[] a = new float[3 + m * k], b = new float[2 + k * n];
                    for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
                    for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
                    int aRs = aT ? 1 : k, aCs = aT ? m : 1, bRs = bT ? 1 : n, bCs = bT ? k : 1;
                    int ldc = n + 2;
                    float[] c = new float[5 + m * ldc];
                    for (int i = 0; i < c.length; i++) c[i] = r.nextFloat() * 2 - 1;
                    float[] c0 = c.clone();
                    FloatGemm.plain(m, n, k, a, 3, aRs, aCs, b, 2, bRs, bCs, c, 5, ldc, acc, s);
                    String what = "m" + m + " n" + n + " k" + k + (aT ? " A^T" : "") + (bT ? " B^T" : "") + (acc ? " accumulate" : "");
                    for (int i = 0; i < 5; i++) assertEquals(c0[i], c[i], what + ": C before cOff is untouched");
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < ldc; j++) {
                            int at = 5 + i * ldc + j;
                            if (j >= n) {
                                assertEquals(c0[at], c[at], what + ": c[" + i + "][" + j + "] is past n and must stay untouched");
                                continue;
                            }
                            double want = acc ? c0[at] : 0, mag = Math.abs(want);
                            for (int q = 0; q < k; q++) {
                                double p = (double) a[3 + i * aRs + q * aCs] * b[2 + q * bRs + j * bCs];
                                want += p;
                                mag += Math.abs(p);
                            }
                            assertEquals(want, c[at], (k + 2) * 0x1p-24 * mag + 1e-30, what + ": c[" + i + "][" + j + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void everyElementIsTheSameBitsHoweverRowsAndColumnsAreSplit() {
        // The whole product (four-row groups, 100 wide columns), then every row alone (a group with three
        // zero rows), then columns in slices of 7 (the narrow path) and of 20: callers split rows and
        // columns by thread count, so the bits may not depend on the split.
        int m = 6, n = 100, k = 70;
        Random r = new Random(5);
        float[] a = new float[m * k], b = new float[k * n], c0 = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
        for (int i = 0; i < c0.length; i++) c0[i] = r.nextFloat() * 2 - 1;
        for (boolean acc : new boolean[]{false, true}) {
            float[] whole = c0.clone();
            FloatGemm.plain(m, n, k, a, 0, k, 1, b, 0, n, 1, whole, 0, n, acc, scratch());
            float[] byRow = c0.clone();
            for (int i = 0; i < m; i++) FloatGemm.plain(1, n, k, a, i * k, k, 1, b, 0, n, 1, byRow, i * n, n, acc, scratch());
            for (int width : new int[]{7, 20}) {
                float[] bySlice = c0.clone();
                for (int j0 = 0; j0 < n; j0 += width) {
                    int w = Math.min(width, n - j0);
                    FloatGemm.plain(m, w, k, a, 0, k, 1, b, j0, n, 1, bySlice, j0, n, acc, scratch());
                }
                for (int e = 0; e < m * n; e++) {
                    assertEquals(Float.floatToRawIntBits(whole[e]), Float.floatToRawIntBits(bySlice[e]),
                            "element " + e + " in column slices of " + width + (acc ? " (accumulate)" : ""));
                }
            }
            for (int e = 0; e < m * n; e++) {
                assertEquals(Float.floatToRawIntBits(whole[e]), Float.floatToRawIntBits(byRow[e]), "element " + e + " row by row" + (acc ? " (accumulate)" : ""));
            }
        }
    }

    @Test
    void threeRowKernelIsUsedExceptWherePaddingToThreeCostsMore() {
        // Padded rows: m = 32 → 33 by threes, 32 by fours: 33 · 25 = 825 ≤ 32 · 27 = 864, three rows.
        assertTrue(FloatGemm.threeRows(32));
        // m = 128 → 129 / 128: 3225 ≤ 3456; m = 64 → 66 / 64: 1650 ≤ 1728; m = 1 → 3 / 4: 75 ≤ 108.
        assertTrue(FloatGemm.threeRows(128));
        assertTrue(FloatGemm.threeRows(64));
        assertTrue(FloatGemm.threeRows(1));
        // m = 16 → 18 / 16: 450 > 432; m = 8 → 9 / 8: 225 > 216; m = 4 → 6 / 4: 150 > 108: four rows.
        assertTrue(!FloatGemm.threeRows(16));
        assertTrue(!FloatGemm.threeRows(8));
        assertTrue(!FloatGemm.threeRows(4));
    }

    @Test
    void threeAndFourRowKernelsGiveTheSameBits() {
        // m = 16 runs the four-row kernel (threeRows(16) is false); its first 15 rows alone (m = 15) run the
        // three-row kernel, and row 15 alone (m = 1) the three-row kernel with two zero rows. Both orientations of
        // B and both starts of C: every element must have the same bits, as the kernel choice depends on m only.
        int m = 16, n = 150, k = 77;
        Random r = new Random(17);
        float[] a = new float[m * k], b = new float[k * n], c0 = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
        for (int i = 0; i < c0.length; i++) c0[i] = r.nextFloat() * 2 - 1;
        for (boolean bT : new boolean[]{false, true}) {
            int bRs = bT ? 1 : n, bCs = bT ? k : 1;
            for (boolean acc : new boolean[]{false, true}) {
                float[] four = c0.clone(), three = c0.clone();
                FloatGemm.plain(m, n, k, a, 0, k, 1, b, 0, bRs, bCs, four, 0, n, acc, scratch());
                FloatGemm.plain(15, n, k, a, 0, k, 1, b, 0, bRs, bCs, three, 0, n, acc, scratch());
                FloatGemm.plain(1, n, k, a, 15 * k, k, 1, b, 0, bRs, bCs, three, 15 * n, n, acc, scratch());
                for (int e = 0; e < m * n; e++) {
                    assertEquals(Float.floatToRawIntBits(four[e]), Float.floatToRawIntBits(three[e]),
                            "element " + e + (bT ? ", B transposed" : "") + (acc ? ", accumulate" : ""));
                }
            }
        }
    }

    @Test
    void narrowAndWideBlocksTreatNegativeZeroAlike() {
        // C = -0 accumulated with products 0·(-1) = -0: each real term keeps -0 (-0 + -0 = -0), and K = 5 is
        // padded to 8 with zero terms, fma(0, 0, -0) = +0 + -0 = +0 in round to nearest. So the kernel (20
        // columns) ends with +0, and the narrow path (5 columns) must too, or a column's sign would depend on
        // the width of its block.
        int k = 5;
        for (int n : new int[]{5, 20}) {
            float[] a = new float[k], b = new float[k * n], c = new float[n];
            java.util.Arrays.fill(b, -1f);
            java.util.Arrays.fill(c, -0f);
            FloatGemm.plain(1, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, true, scratch());
            for (int j = 0; j < n; j++) {
                assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(c[j]), "n = " + n + ", column " + j + " is +0");
            }
        }
    }

    @Test
    void blocksAreBalancedMultiplesOfTheUnit() {
        // 576 columns in blocks of at most 512: two blocks of 288, not 512 + 64.
        assertEquals(288, FloatGemm.block(576, 512, 8));
        // 448 fits one block as it is.
        assertEquals(448, FloatGemm.block(448, 512, 8));
        // 1100 = three blocks: ceil(1100 / 3) = 367, rounded up to a multiple of 8 = 368 (3 · 368 ≥ 1100).
        assertEquals(368, FloatGemm.block(1100, 512, 8));
        // K = 144 in blocks of at most 64: three blocks of 48, not 64 + 64 + 16.
        assertEquals(48, FloatGemm.block(144, 64, 4));
        // K = 5: one block, 5 rounded up to 8 (the padded size), within the limit.
        assertEquals(8, FloatGemm.block(5, 64, 4));
        // 513 columns: two blocks, ceil(513 / 2) = 257 → 264; never above the limit.
        assertEquals(264, FloatGemm.block(513, 512, 8));
        assertEquals(512, FloatGemm.block(1024, 512, 8));
    }

    @Test
    void scratchIsBoundedByTheBlockingNotByTheProblem() {
        AtomicLong held = new AtomicLong(), peak = new AtomicLong();
        Scratch s = new Scratch(held, peak);
        int m = 37, n = 3 * FloatGemm.NC + 5, k = 5 * FloatGemm.KC + 3;
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        FloatGemm.plain(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, s);
        // Packed B (KC rows), the four C rows (MR), each NC wide plus one 64-byte line, and the four coefficient
        // rows (MR × KC), in floats.
        long bound = 4L * ((long) FloatGemm.KC * (FloatGemm.NC + 16) + (long) FloatGemm.MR * (FloatGemm.NC + 16) + (long) FloatGemm.MR * FloatGemm.KC);
        assertTrue(peak.get() <= bound, "peak scratch " + peak.get() + " B > " + bound + " B");
        assertTrue(peak.get() > 0, "the scratch is counted");
    }
}
