package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Development timing (not a test) of the steps of one forward tile of a convolution, single-threaded,
 * thread CPU time, best of many: im2col of the tile, packing its columns as B panels, the whole GEMM.
 * Run: java -cp ... io.github.jconv.cpu.PassStepTiming [problem line]
 */
public final class PassStepTiming {
    static void packAll(int rows, int kcMax, int nr, int t, float[] col, float[] bp) {
        int kBlocks = (rows + kcMax - 1) / kcMax;
        int kc = (rows + kBlocks - 1) / kBlocks;
        for (int pc = 0; pc < rows; pc += kc) FloatVectorGemm.packB(nr, Math.min(kc, rows - pc), t, col, pc * t, t, 1, bp);
    }

    /** The micro-kernel calls of the whole GEMM on already packed panels (one K block's panels, reused). */
    static void kernels(int m, int n, int k, int kcMax, float[] ap, float[] bp, float[] c, int ldc, float[] tile) {
        int kBlocks = (k + kcMax - 1) / kcMax;
        int kc = (k + kBlocks - 1) / kBlocks;
        for (int pc = 0; pc < k; pc += kc) {
            for (int jr = 0; jr < n; jr += 16) {
                int nw = Math.min(16, n - jr);
                for (int ir = 0; ir < m; ir += 6) {
                    FloatVectorKernels.kernel6x2(kc, ap, ir * kc, bp, jr * kc, c, ir * ldc + jr, ldc, Math.min(6, m - ir), nw, pc > 0, tile);
                }
            }
        }
    }

    /** The weight gradient's GEMM of one task and tile: im2col, then the GEMM on the tile read transposed. */
    static void weight(ConvSpec spec) {
        Geometry g = Geometry.of(spec);
        int rb = g.rows / 2, t = FloatPasses.tile(rb, g.os), m = g.kg;
        float[] x = new float[g.c * g.is], dy = new float[g.k * g.os], dw = new float[g.k * g.rows], col = new float[rb * t];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < dy.length; i++) dy[i] = r.nextFloat();
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        var mx = ManagementFactory.getThreadMXBean();
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE};
        for (int it = 0; it < 300; it++) {
            long a = mx.getCurrentThreadCpuTime();
            FloatColumns.im2col(g, x, 0, 0, rb, 0, t, col, 0);
            long b = mx.getCurrentThreadCpuTime();
            FloatGemm.gemm(m, rb, t, dy, 0, g.os, 1, col, 0, 1, t, dw, 0, g.rows, true, s);
            long c = mx.getCurrentThreadCpuTime();
            best[0] = Math.min(best[0], b - a);
            best[1] = Math.min(best[1], c - b);
        }
        double flops = 2.0 * m * rb * t;
        System.out.printf("weight %s: %d x %d x %d; im2col %.1f us, gemm (B transposed) %.1f us (%.1f GFLOP/s)%n",
                spec, m, rb, t, best[0] / 1e3, best[1] / 1e3, flops / best[1]);
    }

    /** One deformable forward tile: the sampling plan, the bilinear gather, the GEMM. */
    static void deformable(ConvSpec spec) {
        Geometry g = Geometry.of(spec);
        int t = FloatPasses.columnTile(g.rows, g.os, g.ow), len = t;
        float[] x = new float[g.c * g.is], w = new float[g.k * g.rows], y = new float[g.k * g.os];
        float[] off = new float[2 * g.kv * g.os], mask = new float[g.kv * g.os];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < w.length; i++) w[i] = r.nextFloat();
        for (int i = 0; i < off.length; i++) off[i] = (float) (2 * r.nextGaussian());
        for (int i = 0; i < mask.length; i++) mask[i] = r.nextFloat();
        int[] idx = new int[4 * g.kv * len];
        float[] wt = new float[4 * g.kv * len], col = new float[g.rows * len];
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        var mx = ManagementFactory.getThreadMXBean();
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
        for (int it = 0; it < 200; it++) {
            long a = mx.getCurrentThreadCpuTime();
            FloatColumns.sample(g, off, 0, mask, 0, 0, t, idx, wt);
            long b = mx.getCurrentThreadCpuTime();
            FloatColumns.gather(g, x, 0, 0, g.c, len, idx, wt, col, 0);
            long c = mx.getCurrentThreadCpuTime();
            FloatGemm.gemm(g.kg, len, g.rows, w, 0, g.rows, 1, col, 0, len, 1, y, 0, g.os, false, s);
            long d = mx.getCurrentThreadCpuTime();
            best[0] = Math.min(best[0], b - a);
            best[1] = Math.min(best[1], c - b);
            best[2] = Math.min(best[2], d - c);
            if (FloatGemm.VECTOR) FloatVectorGemm.bilinearGather(g, x, 0, 0, g.c, len, idx, wt, col, 0, s);
            best[3] = Math.min(best[3], mx.getCurrentThreadCpuTime() - d);
        }
        System.out.printf("deformable %s: tile %d; sample %.1f us, gather %.1f us (Vector API %.1f us), gemm %.1f us; tiles per image %d%n",
                spec, t, best[0] / 1e3, best[1] / 1e3, best[3] / 1e3, best[2] / 1e3, (g.os + t - 1) / t);
    }

    public static void main(String[] args) {
        if (args.length > 1 && args[1].equals("d")) {
            deformable(ConvSpec.parse(args[0]));
            return;
        }
        if (args.length > 1 && args[1].equals("w")) {
            weight(ConvSpec.parse(args[0]));
            return;
        }
        ConvSpec spec = ConvSpec.parse(args.length > 0 ? args[0] : "mb8ic64ih56oc64kh3ph1");
        Geometry g = Geometry.of(spec);
        int t = FloatPasses.columnTile(g.rows, g.os, g.ow);
        float[] x = new float[g.c * g.is];
        float[] w = new float[g.k * g.rows];
        float[] y = new float[g.k * g.os];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < w.length; i++) w[i] = r.nextFloat();
        Scratch s = new Scratch(new AtomicLong(), new AtomicLong());
        float[] col = new float[g.rows * t];
        int kc = FloatVectorGemm.KC, nr = FloatVectorGemm.NR;
        float[] bp = new float[kc * ((t + nr - 1) / nr * nr)];
        var mx = ManagementFactory.getThreadMXBean();
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
        int ld = (t + 15) & ~15;
        if ((ld / 16) % 2 == 0) ld += 16;
        float[] col2 = new float[g.rows * ld];
        float[] ap = new float[(g.kg + 5) / 6 * 6 * kc];
        float[] tile = new float[6 * 16];
        for (int it = 0; it < 400; it++) {
            long a = mx.getCurrentThreadCpuTime();
            FloatColumns.im2col(g, x, 0, 0, g.rows, 0, t, col, 0);
            long b = mx.getCurrentThreadCpuTime();
            packAll(g.rows, kc, nr, t, col, bp);
            long c = mx.getCurrentThreadCpuTime();
            FloatGemm.gemm(g.kg, t, g.rows, w, 0, g.rows, 1, col, 0, t, 1, y, 0, g.os, false, s);
            long d = mx.getCurrentThreadCpuTime();
            kernels(g.kg, t, g.rows, kc, ap, bp, y, g.os, tile);
            long e = mx.getCurrentThreadCpuTime();
            best[3] = Math.min(best[3], e - d);
            long f = mx.getCurrentThreadCpuTime();
            for (int row = 0; row < g.rows; row++) FloatColumns.im2col(g, x, 0, row, row + 1, 0, t, col2, row * ld);
            FloatGemm.gemm(g.kg, t, g.rows, w, 0, g.rows, 1, col2, 0, ld, 1, y, 0, g.os, false, s);
            best[5] = Math.min(best[5], mx.getCurrentThreadCpuTime() - f);
            best[0] = Math.min(best[0], b - a);
            best[1] = Math.min(best[1], c - b);
            best[2] = Math.min(best[2], d - c);
        }
        double flops = 2.0 * g.kg * t * g.rows;
        System.out.printf("%s: tile %d cols, M %d K %d; im2col %.1f us, packB %.1f us, gemm %.1f us (%.1f GFLOP/s), kernels alone %.1f us (%.1f GFLOP/s), im2col(ld %d)+direct gemm %.1f us; tiles per image %d%n",
                spec, t, g.kg, g.rows, best[0] / 1e3, best[1] / 1e3, best[2] / 1e3, flops / best[2], best[3] / 1e3, flops / best[3], ld, best[5] / 1e3, (g.os + t - 1) / t);
    }
}
