package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Development timing (not a test) of the steps of one tile of the deformable data and offset/mask gradients,
 * single-threaded, thread CPU time, best of many: the column gradient Wᵀ·dY, the coordinate gradients, the
 * sampling plan and the scatter into dx.
 * Run: java -cp cpu-fallback/target/classes:cpu-fallback/target/test-classes:core/target/classes
 *      io.github.jconv.cpu.DeformableBackwardTiming [problem line]
 */
public final class DeformableBackwardTiming {
    public static void main(String[] args) {
        ConvSpec spec = ConvSpec.parse(args.length > 0 ? args[0] : "dg1msk1mb1ic128ih28iw28oc128kh3kw3ph1pw1bia0");
        Geometry g = Geometry.of(spec);
        int t = FloatDeformablePasses.backwardTile(g), len = t;
        float[] x = new float[g.c * g.is], w = new float[g.k * g.rows], dy = new float[g.k * g.os], dx = new float[g.c * g.is];
        float[] off = new float[2 * g.kv * g.os], mask = new float[g.kv * g.os], dOff = new float[off.length], dMask = new float[mask.length];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < w.length; i++) w[i] = r.nextFloat();
        for (int i = 0; i < dy.length; i++) dy[i] = r.nextFloat();
        for (int i = 0; i < off.length; i++) off[i] = (float) (2 * r.nextGaussian());
        for (int i = 0; i < mask.length; i++) mask[i] = r.nextFloat();
        float[] colGrad = new float[g.rows * len];
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        var mx = ManagementFactory.getThreadMXBean();
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
        for (int it = 0; it < 200; it++) {
            long a = mx.getCurrentThreadCpuTime();
            FloatGemm.gemm(g.rows, len, g.k, w, 0, 1, g.rows, dy, 0, g.os, 1, colGrad, 0, len, false, s);
            long b = mx.getCurrentThreadCpuTime();
            FloatColumns.coordinateGrads(g, x, 0, 0, g.c, colGrad, len, off, 0, mask, 0, dOff, dMask, 0, t, s);
            long c = mx.getCurrentThreadCpuTime();
            int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
            float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
            FloatColumns.sample(g, off, 0, mask, 0, 0, t, idx, wt);
            long d = mx.getCurrentThreadCpuTime();
            FloatColumns.scatter(g, colGrad, 0, 0, g.c, len, idx, wt, dx, 0);
            long e = mx.getCurrentThreadCpuTime();
            best[0] = Math.min(best[0], b - a);
            best[1] = Math.min(best[1], c - b);
            best[2] = Math.min(best[2], d - c);
            best[3] = Math.min(best[3], e - d);
        }
        // the fused pass, channels last against channels first, one image
        WorkerPool pool = new WorkerPool(1);
        float[] xs = new float[x.length];
        System.arraycopy(x, 0, xs, 0, x.length);
        long bl = Long.MAX_VALUE, bf = Long.MAX_VALUE;
        for (int it = 0; it < 100; it++) {
            long a = mx.getCurrentThreadCpuTime();
            FloatDeformablePasses.deformableBackwardDataOffsetMask(g, x, off, mask, w, dy, dx, dOff, dMask, pool);
            long b = mx.getCurrentThreadCpuTime();
            bl = Math.min(bl, b - a);
        }
        {
            int ch = g.c, cols = ch * g.kv, plane = ch * g.is;
            float[] wp = new float[w.length], dxT = new float[plane], colJ = new float[len * cols];
            long[] bt = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
            for (int it = 0; it < 100; it++) {
                long a = mx.getCurrentThreadCpuTime();
                FloatChannelsLast.permuteWeights(g, w, wp);
                long b = mx.getCurrentThreadCpuTime();
                float[] xT = FloatChannelsLast.paddedInput(x, 0, ch, g.is, s);
                FloatChannelsLast.fromChannelsLast(dxT, ch, g.is, dx, 0);
                long c = mx.getCurrentThreadCpuTime();
                FloatGemm.gemm(len, cols, g.kg, dy, 0, 1, g.os, wp, 0, cols, 1, colJ, 0, cols, false, s);
                long d = mx.getCurrentThreadCpuTime();
                FloatChannelsLast.coordinateGrads(g, xT, ch, colJ, cols, len, off, 0, mask, 0, dOff, dMask, 0, t, s);
                long e = mx.getCurrentThreadCpuTime();
                int[] idx = s.ints(Scratch.SAMPLE_INDEX, 4 * g.kv * len);
                float[] wt = s.floats(Scratch.STAGED, 4 * g.kv * len);
                FloatColumns.sample(g, off, 0, mask, 0, 0, t, idx, wt);
                long f = mx.getCurrentThreadCpuTime();
                FloatChannelsLast.scatter(g, colJ, cols, ch, len, idx, wt, dxT);
                long h = mx.getCurrentThreadCpuTime();
                long[] v = {b - a, c - b, d - c, e - d, f - e, h - f};
                for (int q = 0; q < 6; q++) bt[q] = Math.min(bt[q], v[q]);
            }
            System.out.printf("channels last: permute %.1f us, both transposes %.1f us, GEMM %.1f us, coordinate %.1f us, sample %.1f us, scatter %.1f us%n",
                    bt[0] / 1e3, bt[1] / 1e3, bt[2] / 1e3, bt[3] / 1e3, bt[4] / 1e3, bt[5] / 1e3);
        }
        {
            // the forward tile: channels first (vector gather, GEMM with B in place) against channels last
            int ft = FloatPasses.columnTile(g.rows, g.os, g.ow), fl = ft;
            float[] col = new float[g.rows * fl], wp = new float[w.length], y = new float[g.k * g.os];
            FloatChannelsLast.permuteWeights(g, w, wp);
            int[] idx = new int[4 * g.kv * fl];
            float[] wt = new float[4 * g.kv * fl];
            long[] bt = new long[6];
            java.util.Arrays.fill(bt, Long.MAX_VALUE);
            for (int it = 0; it < 100; it++) {
                long a = mx.getCurrentThreadCpuTime();
                FloatColumns.sample(g, off, 0, mask, 0, 0, ft, idx, wt);
                FloatDeformablePassesAccess.gather(g, x, 0, 0, g.c, fl, idx, wt, col, 0, s);
                long b = mx.getCurrentThreadCpuTime();
                FloatGemm.gemm(g.kg, fl, g.rows, w, 0, g.rows, 1, col, 0, fl, 1, y, 0, g.os, false, s);
                long c = mx.getCurrentThreadCpuTime();
                float[] xT = FloatChannelsLast.paddedInput(x, 0, g.c, g.is, s);
                long d = mx.getCurrentThreadCpuTime();
                FloatColumns.sample(g, off, 0, mask, 0, 0, ft, idx, wt);
                FloatChannelsLast.gather(g, xT, g.c, fl, idx, wt, col, 0, g.rows);
                long e = mx.getCurrentThreadCpuTime();
                FloatGemm.gemm(g.kg, fl, g.rows, wp, 0, g.rows, 1, col, 0, 1, g.rows, y, 0, g.os, false, s);
                long f = mx.getCurrentThreadCpuTime();
                long[] v = {b - a, c - b, d - c, e - d, f - e};
                for (int q = 0; q < 5; q++) bt[q] = Math.min(bt[q], v[q]);
            }
            System.out.printf("forward tile %d: channels first: sample+gather %.1f us, GEMM %.1f us; channels last: transpose %.1f us, sample+gather %.1f us, GEMM (B transposed) %.1f us%n",
                    fl, bt[0] / 1e3, bt[1] / 1e3, bt[2] / 1e3, bt[3] / 1e3, bt[4] / 1e3);
        }
        System.out.printf("fused (channels last %b): %.1f us per image%n", FloatDeformablePasses.channelsLast(g), bl / 1e3);
        pool.close();
    }
}
