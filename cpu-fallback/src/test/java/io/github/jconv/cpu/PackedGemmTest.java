package io.github.jconv.cpu;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packed GEMMs (the Vector API one with both register tiles, and the plain one) against a naive
 * triple loop in FP64: sizes that are not multiples of the tile or the blocks, K = 1, tiny and empty
 * operands, transposed and strided operands, overwrite and accumulate. The error allowed for an
 * element is the classic bound for a K-term FP32 dot product, (K + 2)·2⁻²⁴·Σ|a·b| (+ the same for C),
 * so a wrong or missing term (|a·b| ≈ 0.25 on average here) fails it.
 */
class PackedGemmTest {
    /** (m, n, k) triples: edges of 6×16, 8×24 (AVX2) and 8×48 (AVX-512) tiles and of the small test blocks. */
    private static final int[][] SIZES = {
            {1, 1, 1}, {1, 7, 1}, {5, 1, 3}, {6, 16, 1}, {7, 17, 2}, {8, 24, 8}, {9, 25, 9}, {3, 50, 17},
            {13, 71, 40}, {16, 48, 33}, {25, 33, 64}, {12, 100, 5}, {2, 3, 300}, {31, 9, 70},
    };

    private static Scratch scratch() {
        return new Scratch(new AtomicLong(), new AtomicLong());
    }

    /** One case: A (m × k) with strides (aRs, aCs), B (k × n) with (bRs, bCs), C with ldc = n + 3, padding untouched. */
    private interface Gemm {
        void run(int m, int n, int k, float[] a, int aOff, int aRs, int aCs, float[] b, int bOff, int bRs, int bCs,
                 float[] c, int cOff, int ldc, boolean accumulate, Scratch s);
    }

    private static void check(String what, Gemm gemm, Scratch s) {
        Random r = new Random(what.hashCode());
        for (int[] size : SIZES) {
            int m = size[0], n = size[1], k = size[2];
            for (int layout = 0; layout < 4; layout++) {
                boolean aT = (layout & 1) != 0, bT = (layout & 2) != 0;
                for (boolean acc : new boolean[]{false, true}) {
                    // A at offset 2 of its array, transposed or not; B likewise at offset 1.
                    float[] a = new float[2 + m * k], b = new float[1 + k * n];
                    for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
                    for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
                    int aRs = aT ? 1 : k, aCs = aT ? m : 1, bRs = bT ? 1 : n, bCs = bT ? k : 1;
                    int ldc = n + 3;
                    float[] c = new float[4 + m * ldc];
                    for (int i = 0; i < c.length; i++) c[i] = r.nextFloat() * 2 - 1;
                    float[] c0 = c.clone();
                    gemm.run(m, n, k, a, 2, aRs, aCs, b, 1, bRs, bCs, c, 4, ldc, acc, s);
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < ldc; j++) {
                            int at = 4 + i * ldc + j;
                            String where = what + " m" + m + " n" + n + " k" + k + (aT ? " A^T" : "") + (bT ? " B^T" : "")
                                    + (acc ? " accumulate" : "") + ": c[" + i + "][" + j + "]";
                            if (j >= n) {
                                assertEquals(c0[at], c[at], where + " is past n and must stay untouched");
                                continue;
                            }
                            double want = acc ? c0[at] : 0, mag = Math.abs(want);
                            for (int q = 0; q < k; q++) {
                                double p = (double) a[2 + i * aRs + q * aCs] * b[1 + q * bRs + j * bCs];
                                want += p;
                                mag += Math.abs(p);
                            }
                            double tol = (k + 2) * 0x1p-24 * mag + 1e-30;
                            assertEquals(want, c[at], tol, where);
                        }
                    }
                    for (int i = 0; i < 4; i++) assertEquals(c0[i], c[i], what + ": C before cOff is untouched");
                }
            }
        }
    }

    @Test
    void plainGemmMatchesTheTripleLoop() {
        check("FloatGemm", FloatGemm::gemm, scratch());
    }

    @Test
    void plainGemmAtDoublePrecisionMatchesTheTripleLoop() {
        // The FP64 twin, with a tolerance far below FP32's: a term computed in float would fail it.
        Random r = new Random(3);
        int m = 11, n = 37, k = 29;
        double[] a = new double[m * k], b = new double[k * n], c = new double[m * n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextDouble() * 2 - 1;
        for (int i = 0; i < b.length; i++) b[i] = r.nextDouble() * 2 - 1;
        DoubleGemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, scratch());
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double want = 0;
                for (int q = 0; q < k; q++) want += a[i * k + q] * b[q * n + j];
                assertEquals(want, c[i * n + j], 1e-13, "c[" + i + "][" + j + "]");
            }
        }
    }

    /**
     * B read in place (row-major rows, a stride that {@code directStride} accepts) must give the same bits as B
     * packed, and match the FP64 triple loop; B ends exactly at its array's end, so a kernel that read a full
     * panel row past n on the last, narrower panel would throw. Strides: odd lines (48 floats = 3 lines), not a
     * whole number of lines (41, 37), and even lines (32 = 2 lines: packed after all).
     */
    @Test
    void vectorGemmReadingBInPlaceGivesThePackedBits() {
        Assumptions.assumeTrue(VectorSupport.available(), "needs --add-modules jdk.incubator.vector");
        Scratch s = scratch();
        Random r = new Random(17);
        int vl = FloatVectorGemm.VL;
        int[][] cases = {{7, 37, 37, 19}, {13, 41, 40, 70}, {6, 48, 16, 1}, {9, 48, 33, 300}, {5, 32, 20, 11}, {1, 17, 17, 2}};
        for (int[] tile : new int[][]{{6, 2}, {8, 3}}) {
            for (int[] cs : cases) {
                int m = cs[0], ldb = cs[1], n = cs[2], k = cs[3];
                float[] a = new float[m * k], b = new float[(k - 1) * ldb + n];
                for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
                for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
                for (int[] blocks : new int[][]{{FloatVectorGemm.KC, FloatVectorGemm.MC, FloatVectorGemm.NC}, {8, 2 * tile[0], 2 * tile[1] * vl}}) {
                    float[] c1 = new float[m * n], c2 = new float[m * n];
                    FloatVectorGemm.gemm(tile[0], tile[1], blocks[0], blocks[1], blocks[2], m, n, k, a, 0, k, 1, b, 0, ldb, 1, c1, 0, n, false, s);
                    FloatVectorGemm.gemmPackedB(tile[0], tile[1], blocks[0], blocks[1], blocks[2], m, n, k, a, 0, k, 1, b, 0, ldb, 1, c2, 0, n, false, s);
                    String what = "tile " + tile[0] + "x" + tile[1] + " KC " + blocks[0] + " m" + m + " n" + n + " k" + k + " ldb " + ldb;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            assertEquals(Float.floatToIntBits(c2[i * n + j]), Float.floatToIntBits(c1[i * n + j]), what + ": c[" + i + "][" + j + "] in place vs packed");
                            double want = 0, mag = 0;
                            for (int q = 0; q < k; q++) {
                                double p = (double) a[i * k + q] * b[q * ldb + j];
                                want += p;
                                mag += Math.abs(p);
                            }
                            assertEquals(want, c1[i * n + j], (k + 2) * 0x1p-24 * mag + 1e-30, what + ": c[" + i + "][" + j + "]");
                        }
                    }
                }
            }
        }
        // The stride rule itself: 16 floats per 64-byte line.
        assertTrue(FloatVectorGemm.directStride(48, 16), "3 lines: in place");
        assertTrue(FloatVectorGemm.directStride(392, 16), "24.5 lines: in place");
        assertTrue(!FloatVectorGemm.directStride(448, 16), "28 lines: packed");
        assertTrue(!FloatVectorGemm.directStride(8, 16), "narrower than a panel: packed");
    }

    /**
     * A packed once (prepackA) then used by several GEMMs gives the bits of gemm packing A itself, and matches
     * the FP64 triple loop: two groups side by side in one array and in the packed buffer; A row-major and
     * transposed; sizes off the tile, K across several K blocks, M across two M blocks where MC allows (m = MC + 7).
     */
    @Test
    void vectorGemmWithAPackedOnceGivesTheBitsOfPackingPerCall() {
        Assumptions.assumeTrue(VectorSupport.available(), "needs --add-modules jdk.incubator.vector");
        Scratch s = scratch();
        Random r = new Random(41);
        int[][] sizes = {{7, 37, 19}, {13, 40, FloatVectorGemm.KC * 2 + 5}, {FloatVectorGemm.MC + 7, 20, 70}, {1, 17, 1}};
        for (int[] size : sizes) {
            int m = size[0], n = size[1], k = size[2];
            for (boolean aT : new boolean[]{false, true}) {
                int aRs = aT ? 1 : k, aCs = aT ? m : 1, groupStride = m * k + 3;
                float[] a = new float[2 * groupStride], b = new float[k * n];
                for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() * 2 - 1;
                for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 2 - 1;
                int size1 = FloatVectorGemm.packedASize(m, k);
                float[] ap = new float[2 * size1 + 5];
                for (int grp = 0; grp < 2; grp++) FloatVectorGemm.prepackA(m, k, a, grp * groupStride, aRs, aCs, ap, 5 + grp * size1);
                for (int grp = 0; grp < 2; grp++) {
                    float[] want = new float[m * n], got = new float[m * n];
                    FloatVectorGemm.gemm(m, n, k, a, grp * groupStride, aRs, aCs, b, 0, n, 1, want, 0, n, false, s);
                    FloatVectorGemm.gemmPrepackedA(m, n, k, ap, 5 + grp * size1, b, 0, n, 1, got, 0, n, false, s);
                    String what = "m" + m + " n" + n + " k" + k + (aT ? " A^T" : "") + " group " + grp;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            assertEquals(Float.floatToIntBits(want[i * n + j]), Float.floatToIntBits(got[i * n + j]), what + ": c[" + i + "][" + j + "] vs packing per call");
                            double exact = 0, mag = 0;
                            for (int q = 0; q < k; q++) {
                                double p = (double) a[grp * groupStride + i * aRs + q * aCs] * b[q * n + j];
                                exact += p;
                                mag += Math.abs(p);
                            }
                            assertEquals(exact, got[i * n + j], (k + 2) * 0x1p-24 * mag + 1e-30, what + ": c[" + i + "][" + j + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void vectorGemmMatchesTheTripleLoopWithEitherTileAndSmallBlocks() {
        Assumptions.assumeTrue(VectorSupport.available(), "needs --add-modules jdk.incubator.vector");
        Scratch s = scratch();
        int vl = FloatVectorGemm.VL;
        for (int[] tile : new int[][]{{6, 2}, {8, 3}}) {
            int mr = tile[0], nv = tile[1];
            // The machine's own blocking, then blocks small enough that every size above crosses several
            // K, M and N blocks (KC 8, MC two tiles, NC two tiles).
            check("vector " + mr + "x" + nv + " default blocks", (m, n, k, a, ao, ars, acs, b, bo, brs, bcs, c, co, ldc, acc, sc) ->
                    FloatVectorGemm.gemm(mr, nv, FloatVectorGemm.KC, FloatVectorGemm.MC, FloatVectorGemm.NC,
                            m, n, k, a, ao, ars, acs, b, bo, brs, bcs, c, co, ldc, acc, sc), s);
            check("vector " + mr + "x" + nv + " small blocks", (m, n, k, a, ao, ars, acs, b, bo, brs, bcs, c, co, ldc, acc, sc) ->
                    FloatVectorGemm.gemm(mr, nv, 8, 2 * mr, 2 * nv * vl,
                            m, n, k, a, ao, ars, acs, b, bo, brs, bcs, c, co, ldc, acc, sc), s);
        }
    }

    @Test
    void packedPanelsHoldTheOperandsInTileOrderWithZeroPadding() {
        Assumptions.assumeTrue(VectorSupport.available(), "needs --add-modules jdk.incubator.vector");
        // A 7 × 5 (row-major, and transposed) into 3-row panels: 3 panels, the last with 2 zero rows.
        int m = 7, k = 5, mr = 3;
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) a[i] = i + 1; // A[i][q] = i·k + q + 1, never 0
        float[] at = new float[m * k];
        for (int i = 0; i < m; i++) for (int q = 0; q < k; q++) at[q * m + i] = a[i * k + q];
        for (float[] src : new float[][]{a, at}) {
            boolean t = src == at;
            float[] ap = new float[9 * k];
            java.util.Arrays.fill(ap, Float.NaN);
            FloatVectorGemm.packA(mr, m, k, src, 0, t ? 1 : k, t ? m : 1, ap);
            for (int i = 0; i < 9; i++) {
                for (int q = 0; q < k; q++) {
                    float want = i < m ? i * k + q + 1 : 0;
                    assertEquals(want, ap[(i / mr) * k * mr + q * mr + i % mr], "packed A[" + i + "][" + q + "]" + (t ? " from A^T" : ""));
                }
            }
        }
        // B 4 × 10 into 4-column panels: 3 panels, the last with 2 zero columns.
        int kb = 4, n = 10, nr = 4;
        float[] b = new float[kb * n];
        for (int i = 0; i < b.length; i++) b[i] = i + 1;
        float[] bt = new float[kb * n];
        for (int q = 0; q < kb; q++) for (int j = 0; j < n; j++) bt[j * kb + q] = b[q * n + j];
        for (float[] src : new float[][]{b, bt}) {
            boolean t = src == bt;
            float[] bp = new float[kb * 12];
            java.util.Arrays.fill(bp, Float.NaN);
            FloatVectorGemm.packB(nr, kb, n, src, 0, t ? 1 : n, t ? kb : 1, bp);
            for (int q = 0; q < kb; q++) {
                for (int j = 0; j < 12; j++) {
                    float want = j < n ? q * n + j + 1 : 0;
                    assertEquals(want, bp[(j / nr) * kb * nr + q * nr + j % nr], "packed B[" + q + "][" + j + "]" + (t ? " from B^T" : ""));
                }
            }
        }
    }

    @Test
    void packedScratchIsBoundedByTheBlockingNotByTheProblem() {
        Assumptions.assumeTrue(VectorSupport.available(), "needs --add-modules jdk.incubator.vector");
        AtomicLong held = new AtomicLong(), peak = new AtomicLong();
        Scratch s = new Scratch(held, peak);
        // N and K well past NC and KC: the packed panels may not grow with them.
        int m = 2 * FloatVectorGemm.MC + 5, n = FloatVectorGemm.NC + 37, k = 3 * FloatVectorGemm.KC + 1;
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        FloatVectorGemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, s);
        long bound = 4L * ((long) FloatVectorGemm.MC * FloatVectorGemm.KC + (long) FloatVectorGemm.KC * FloatVectorGemm.NC
                + (long) FloatVectorGemm.MR * FloatVectorGemm.NR);
        assertTrue(peak.get() <= bound, "peak scratch " + peak.get() + " B > MC·KC + KC·NC + MR·NR floats = " + bound + " B");
        assertTrue(peak.get() > 0, "the panels are counted");
    }

    @Test
    void blockingFollowsTheCacheSizes() {
        // KC: a KC × NR panel of B is half of L1: 32 KiB / 2 / (16 floats · 4 B) = 256; 48 KiB with 48 floats: 128.
        assertEquals(256, CacheSizes.kc(16, 4, 32 << 10));
        assertEquals(128, CacheSizes.kc(48, 4, 48 << 10));
        // MC: MC × KC of A is half of L2: 1 MiB / 2 / (256 · 4 B) = 512, rounded down to a multiple of 6: 510.
        assertEquals(510, CacheSizes.mc(6, 256, 4, 1 << 20));
        // NC: KC × NC of B is a quarter of L3: 2 MiB / 4 / (256 · 4 B) = 512, a multiple of 16; capped at 4096.
        assertEquals(512, CacheSizes.nc(16, 256, 4, 2 << 20));
        assertEquals(4096, CacheSizes.nc(16, 256, 4, 1L << 32));
        // Tiny caches stay within the bounds.
        assertEquals(64, CacheSizes.kc(16, 4, 1024));
        assertEquals(6, CacheSizes.mc(6, 256, 4, 1024));
    }

    @Test
    void cacheSizesAreReadFromSysfsLikeFiles(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        write(dir.resolve("index0"), "1", "Data", "48K");
        write(dir.resolve("index1"), "1", "Instruction", "32K");
        write(dir.resolve("index2"), "2", "Unified", "2048K");
        write(dir.resolve("index3"), "3", "Unified", "32M");
        long[] s = {1, 2, 3};
        assertTrue(CacheSizes.readSysfs(dir, s));
        assertEquals(48 << 10, s[0]);
        assertEquals(2048L << 10, s[1]);
        assertEquals(32L << 20, s[2]);
        long[] none = {1, 2, 3};
        assertEquals(false, CacheSizes.readSysfs(dir.resolve("absent"), none));
        assertEquals(1, none[0], "defaults stay when nothing is there");
        assertEquals(-1, CacheSizes.parseSize("12Q"));
        assertEquals(4096, CacheSizes.parseSize("4096"));
    }

    private static void write(Path d, String level, String type, String size) throws Exception {
        Files.createDirectories(d);
        Files.writeString(d.resolve("level"), level + "\n");
        Files.writeString(d.resolve("type"), type + "\n");
        Files.writeString(d.resolve("size"), size + "\n");
    }
}
