package io.github.jconv.cpu;

/** Development timing of the register-tiled Vector API micro-kernel alone. Not a test. */
public final class KernelTiming {
    public static void main(String[] args) {
        int kc = 256;
        float[] ap = new float[FloatVectorGemm.MR * kc], bp = new float[FloatVectorGemm.NR * kc];
        float[] c = new float[FloatVectorGemm.MR * 64], tile = new float[FloatVectorGemm.MR * FloatVectorGemm.NR];
        for (int i = 0; i < ap.length; i++) ap[i] = i % 7;
        for (int i = 0; i < bp.length; i++) bp[i] = i % 5;
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 5; round++) {
            long t = mx.getCurrentThreadCpuTime();
            int its = 20000;
            for (int it = 0; it < its; it++) FloatVectorGemm.kernel(kc, ap, 0, bp, 0, FloatVectorGemm.NR, c, 0, 64, FloatVectorGemm.MR, FloatVectorGemm.NR, tile);
            long d = mx.getCurrentThreadCpuTime() - t;
            System.out.printf("kernel: %.1f GFLOP/s%n", 2.0 * FloatVectorGemm.MR * FloatVectorGemm.NR * kc * its / d);
        }
    }
}
