package io.github.jconv.cpu;

/** Development timing of the Vector API register tile alone, operands in L1 (single thread). Not a test. */
public final class KernelTiming {
    public static void main(String[] args) {
        int kc = FloatVectorGemm.KC, mr = FloatVectorGemm.MR, nr = FloatVectorGemm.NR;
        float[] ap = new float[mr * kc], bp = new float[nr * kc];
        float[] c = new float[mr * 64], tile = new float[mr * nr];
        java.util.Arrays.fill(ap, 1e-3f);
        java.util.Arrays.fill(bp, 1e-3f);
        int its = 200_000;
        for (int round = 0; round < 5; round++) {
            long t = System.nanoTime();
            for (int it = 0; it < its; it++) {
                if (mr == 8) FloatVectorKernels.kernel8x3(kc, ap, 0, bp, 0, c, 0, 64, mr, nr, true, tile);
                else FloatVectorKernels.kernel6x2(kc, ap, 0, bp, 0, c, 0, 64, mr, nr, true, tile);
            }
            long d = System.nanoTime() - t;
            System.out.printf("kernel %dx%d, kc %d: %.1f GFLOP/s%n", mr, nr, kc, 2.0 * mr * nr * kc * its / d);
        }
    }
}
