package io.github.jconv.cpu;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Development timing of the plain (no Vector API) GEMM on the shapes the P problems give it, one
 * thread, thread CPU time. Not a test. Arguments: shapes {@code m,n,k[,At][,Bt]} (At: A read
 * transposed, as backward data does; Bt: B read transposed, as the weight gradient does); without
 * arguments the default list below. Prints, per shape, the best and the median GFLOP/s of the timed
 * calls after a warm-up, so that a run whose kernel C2 left unvectorised shows as a low best.
 * Run each configuration in several fresh JVMs: C2's decisions differ between runs.
 */
public final class ScalarGemmTiming {
    private static final String[] DEFAULT = {
            "64,448,576", "128,392,1152", "256,196,256", "16,784,144", "32,448,864",
            "576,448,64,At", "64,576,448,Bt",
    };

    public static void main(String[] args) {
        String[] shapes = args.length > 0 ? args : DEFAULT;
        StringBuilder out = new StringBuilder(FloatGemm.VECTOR ? "(Vector API present: this times the Vector API kernel)" : "plain");
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        var mx = ManagementFactory.getThreadMXBean();
        for (String shape : shapes) {
            String[] f = shape.split(",");
            int m = Integer.parseInt(f[0]), n = Integer.parseInt(f[1]), k = Integer.parseInt(f[2]);
            boolean at = Arrays.asList(f).contains("At"), bt = Arrays.asList(f).contains("Bt");
            Random r = new Random(1);
            float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
            for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
            int aRs = at ? 1 : k, aCs = at ? m : 1, bRs = bt ? 1 : n, bCs = bt ? k : 1;
            double flops = 2.0 * m * n * k;
            int calls = (int) Math.max(30, Math.min(3000, 4e9 / flops));
            long[] t = new long[calls];
            for (int round = 0; round < 2; round++) { // round 0 is the warm-up
                for (int it = 0; it < calls; it++) {
                    long t0 = mx.getCurrentThreadCpuTime();
                    FloatGemm.gemm(m, n, k, a, 0, aRs, aCs, b, 0, bRs, bCs, c, 0, n, false, s);
                    t[it] = mx.getCurrentThreadCpuTime() - t0;
                }
            }
            Arrays.sort(t);
            out.append(String.format(" | %s best %.1f median %.1f", shape, flops / t[0], flops / t[calls / 2]));
        }
        System.out.println(out);
    }
}
