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
}
