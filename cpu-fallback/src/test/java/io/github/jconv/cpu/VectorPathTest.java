package io.github.jconv.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Vector API kernel is used exactly when the JVM has the module, and agrees with a plain triple loop. */
class VectorPathTest {
    @Test
    void vectorKernelIsChosenExactlyWhenTheModuleIsPresent() {
        boolean present = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertEquals(present, FloatGemm.VECTOR);
        assertEquals(present, VectorSupport.available());
    }

    @Test
    void gemmWithStridedOperandsMatchesATripleLoop() {
        // Odd sizes exercise the partial tiles; A is read transposed and B with a column stride.
        int m = 13, n = 71, k = 300;
        float[] a = new float[k * m], b = new float[k * n * 2], c = new float[m * (n + 3)];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < c.length; i++) c[i] = 1;
        FloatGemm.gemm(m, n, k, a, 0, 1, m, b, 1, 2 * n, 2, c, 0, n + 3, true, new Scratch(new AtomicLong(), new AtomicLong()));
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double want = 1;
                for (int q = 0; q < k; q++) want += (double) a[q * m + i] * b[1 + q * 2 * n + j * 2];
                assertEquals(want, c[i * (n + 3) + j], 1e-4, "c[" + i + "][" + j + "]");
            }
            for (int j = n; j < n + 3; j++) assertEquals(1f, c[i * (n + 3) + j], "column " + j + " past n is untouched");
        }
        assertTrue(m * (long) n * k >= FloatGemm.VECTOR_MIN_WORK, "the problem is large enough for the vector kernel");
    }

    /**
     * The Vector API bilinear gather gives the plain gather's bits: column value w0·x0 + w1·x1 + w2·x2 + w3·x3
     * with a corner outside the image read as zero, its weight still applied (a NaN weight makes a NaN). Plans
     * from {@link FloatColumns#sample} with offsets that put samples inside, on the border, far outside, at an
     * exact -1, and NaN or infinite; lengths that are not a multiple of the vector length (and shorter than
     * one); a channel sub-range at an offset into x and into the column array. The plain value is checked once
     * by hand too: an all-inside sample at fraction (0.25, 0.5) of a 2×2 cell is the bilinear mean.
     */
    @Test
    void vectorBilinearGatherGivesThePlainGathersBits() {
        org.junit.jupiter.api.Assumptions.assumeTrue(FloatGemm.VECTOR, "needs --add-modules jdk.incubator.vector");
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        java.util.Random r = new java.util.Random(31);
        for (String spec : new String[]{"dg1msk1mb1ic5ih7iw6oc3kh3kw3ph1pw1", "dg1mb1ic3ih4iw9oc2kh2kw3sh2sw1ph0pw1", "dg1msk1mb1ic2ih3iw3oc2kh1kw1"}) {
            Geometry g = Geometry.of(io.github.jconv.ConvSpec.parse(spec));
            float[] x = new float[3 + g.c * g.is];
            for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
            float[] off = new float[2 * g.kv * g.os], mask = new float[g.kv * g.os];
            float[] special = {Float.NaN, Float.POSITIVE_INFINITY, -1f, -1e9f, 0.5f, (float) g.ih, -0.999f};
            for (int i = 0; i < off.length; i++) off[i] = i % 11 == 0 ? special[(i / 11) % special.length] : (float) (2 * r.nextGaussian());
            for (int i = 0; i < mask.length; i++) mask[i] = r.nextFloat();
            for (int[] range : new int[][]{{0, g.os}, {1, Math.min(g.os, 4)}, {g.os / 3, g.os}}) {
                int p0 = range[0], p1 = range[1], len = p1 - p0;
                int[] idx = new int[4 * g.kv * len];
                float[] wt = new float[4 * g.kv * len];
                FloatColumns.sample(g, off, 0, g.modulated ? mask : null, 0, p0, p1, idx, wt);
                int c0 = 1, c1 = g.c, colOff = 5;
                float[] plain = new float[colOff + (c1 - c0) * g.kv * len], vec = new float[plain.length];
                FloatColumns.gather(g, x, 3, c0, c1, len, idx, wt, plain, colOff);
                FloatVectorGemm.bilinearGather(g, x, 3, c0, c1, len, idx, wt, vec, colOff, s);
                for (int i = 0; i < plain.length; i++) {
                    assertEquals(Float.floatToIntBits(plain[i]), Float.floatToIntBits(vec[i]), spec + " positions " + p0 + ".." + p1 + ": col[" + i + "]");
                }
            }
        }
        // By hand: a 2×2 image [[1, 2], [3, 5]], one 1×1 tap, offset (0.25, 0.5) at output (0, 0):
        // (1-0.25)(1-0.5)·1 + (1-0.25)·0.5·2 + 0.25·(1-0.5)·3 + 0.25·0.5·5 = 0.375 + 0.75 + 0.375 + 0.625 = 2.125.
        Geometry g = Geometry.of(io.github.jconv.ConvSpec.parse("dg1mb1ic1ih2iw2oc1kh1kw1"));
        float[] off = new float[2 * g.os];
        off[0] = 0.25f;
        off[g.os] = 0.5f;
        int[] idx = new int[4 * g.os];
        float[] wt = new float[4 * g.os], col = new float[g.os];
        FloatColumns.sample(g, off, 0, null, 0, 0, g.os, idx, wt);
        FloatVectorGemm.bilinearGather(g, new float[]{1, 2, 3, 5}, 0, 0, 1, g.os, idx, wt, col, 0, s);
        assertEquals(2.125f, col[0], "the bilinear mean at (0.25, 0.5)");
    }
}
