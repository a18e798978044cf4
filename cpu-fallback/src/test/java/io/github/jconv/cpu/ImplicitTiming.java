package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;

/**
 * Development timing harness (not a test): thread CPU time of the implicit GEMM forward alone on one
 * worker, median of reps, for problem lines. Run: java -cp ... io.github.jconv.cpu.ImplicitTiming reps line...
 */
public final class ImplicitTiming {
    public static void main(String[] args) {
        int reps = Integer.parseInt(args[0]);
        for (int round = 0; round < 2; round++) {
            for (int a = 1; a < args.length; a++) {
                Geometry g = Geometry.of(ConvSpec.parse(args[a]));
                float[] x = new float[g.batch * g.c * g.is], w = new float[g.k * g.rows], y = new float[g.batch * g.k * g.os];
                java.util.SplittableRandom r = new java.util.SplittableRandom(1);
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
                for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble();
                float[] b = new float[g.k];
                try (WorkerPool pool = new WorkerPool(1)) {
                    for (float[] bias : new float[][]{null, b}) {
                        double t = StepTiming.time(reps, () -> FloatConvPasses.forward(g, CpuAlgorithm.IMPLICIT_GEMM, x, w, bias, y, pool));
                        double flops = 2.0 * g.batch * g.k * g.rows * g.os;
                        System.out.printf("%-45s %-7s %8.2f ms %6.1f GF/s%n", args[a], bias == null ? "" : "+bias", t * 1e3, flops / t / 1e9);
                    }
                }
            }
        }
    }
}
