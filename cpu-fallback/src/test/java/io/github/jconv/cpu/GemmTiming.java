package io.github.jconv.cpu;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/** Development timing of the GEMM kernels alone (thread CPU time, single thread). Not a test. */
public final class GemmTiming {
    public static void main(String[] args) {
        int m = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 448;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 576;
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat();
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat();
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        if (args.length > 3 && args[3].equals("nt")) {
            // C (m × n) += A (m × k) · Bᵀ with B stored n × k (k contiguous): the weight gradient's shape
            var mx = ManagementFactory.getThreadMXBean();
            for (int round = 0; round < 3; round++) {
                long best = Long.MAX_VALUE;
                for (int it = 0; it < 300; it++) {
                    long t = mx.getCurrentThreadCpuTime();
                    FloatGemm.gemm(m, n, k, a, 0, k, 1, b, 0, 1, k, c, 0, n, true, s);
                    best = Math.min(best, mx.getCurrentThreadCpuTime() - t);
                }
                if (round == 2) System.out.printf("%dx%dx%d, B transposed: %.1f GFLOP/s%n", m, n, k, 2.0 * m * n * k / best);
            }
            return;
        }
        for (int round = 0; round < 3; round++) {
            run(m, n, k, a, b, c, s, round == 2);
        }
    }

    static void run(int m, int n, int k, float[] a, float[] b, float[] c, Scratch s, boolean print) {
        var mx = ManagementFactory.getThreadMXBean();
        for (int v = 0; v < (FloatGemm.VECTOR ? 2 : 1); v++) {
            long best = Long.MAX_VALUE;
            for (int it = 0; it < 300; it++) {
                long t = mx.getCurrentThreadCpuTime();
                if (v == 0) FloatGemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, s);
                else FloatVectorGemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false, s);
                best = Math.min(best, mx.getCurrentThreadCpuTime() - t);
            }
            if (print && v == 1) System.out.printf("blocking MR %d NR %d KC %d MC %d NC %d (caches %s)%n", FloatVectorGemm.MR, FloatVectorGemm.NR, FloatVectorGemm.KC, FloatVectorGemm.MC, FloatVectorGemm.NC, CacheSizes.SOURCE);
            if (print) System.out.printf("%s %dx%dx%d: %.1f GFLOP/s%n", v == 0 ? "FloatGemm" : "FloatVectorGemm", m, n, k, 2.0 * m * n * k / best);
        }
    }
}
