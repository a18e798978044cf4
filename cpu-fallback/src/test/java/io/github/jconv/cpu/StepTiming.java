package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Development timing harness (not a test): thread CPU time of the steps of one forward task sequence,
 * im2col alone, GEMM alone, both, and the implicit GEMM, for a problem line. Run: java -cp ... io.github.jconv.cpu.StepTiming line [reps]
 */
public final class StepTiming {
    public static void main(String[] args) {
        ConvSpec spec = ConvSpec.parse(args.length > 0 ? args[0] : "mb2ic32id16ih56iw56oc32kd3kh3kw3pd1ph1pw1");
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Geometry g = Geometry.of(spec);
        float[] x = new float[g.batch * g.c * g.is], w = new float[g.k * g.rows], y = new float[g.batch * g.k * g.os];
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble();
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        int t = FloatPasses.columnTile(g.rows, g.os, g.ow);
        int tiles = (g.os + t - 1) / t;
        System.out.printf("%s: rows %d os %d tile %d (%d tiles) kg %d groups %d%n", spec, g.rows, g.os, t, tiles, g.kg, g.g);
        float[] col = s.floats(Scratch.COLUMNS, g.rows * t);
        Runnable im2col = () -> {
            for (int n = 0; n < g.batch; n++) for (int grp = 0; grp < g.g; grp++) for (int p0 = 0; p0 < g.os; p0 += t) {
                FloatColumns.im2col(g, x, (n * g.c + grp * g.cg) * g.is, 0, g.rows, p0, Math.min(g.os, p0 + t), col, 0);
            }
        };
        Runnable gemm = () -> {
            for (int n = 0; n < g.batch; n++) for (int grp = 0; grp < g.g; grp++) for (int p0 = 0; p0 < g.os; p0 += t) {
                int len = Math.min(g.os, p0 + t) - p0;
                FloatGemm.gemm(g.kg, len, g.rows, w, grp * g.kg * g.rows, g.rows, 1, col, 0, len, 1, y, (n * g.k + grp * g.kg) * g.os + p0, g.os, false, s);
            }
        };
        WorkerPool pool = new WorkerPool(1);
        Runnable both = () -> FloatConvPasses.forward(g, CpuAlgorithm.IM2COL_GEMM, x, w, null, y, pool);
        Runnable implicit = () -> FloatConvPasses.forward(g, CpuAlgorithm.IMPLICIT_GEMM, x, w, null, y, pool);
        double flops = 2.0 * g.batch * g.k * g.rows * g.os;
        for (int round = 0; round < 2; round++) {
            double a = time(reps, im2col), b = time(reps, gemm), c = time(reps, both), d = FloatGemm.VECTOR ? time(reps, implicit) : 0;
            System.out.printf("im2col %.1f ms, gemm %.1f ms (%.1f GF/s), forward %.1f ms (%.1f GF/s), implicit %.1f ms (%.1f GF/s)%n",
                    a * 1e3, b * 1e3, flops / b / 1e9, c * 1e3, flops / c / 1e9, d * 1e3, flops / d / 1e9);
        }
        pool.close();
    }

    static double time(int reps, Runnable r) {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 2; i++) r.run();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long s = mx.getCurrentThreadCpuTime();
            r.run();
            t[i] = (mx.getCurrentThreadCpuTime() - s) / 1e9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
