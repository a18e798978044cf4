package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * NCCL all-reduce between CUDA engines and the data-parallel loop of docs/training.md ("More than one
 * GPU"). GPU and NCCL only; skips elsewhere, and the two-device cases skip on a machine with one GPU.
 * Written without a GPU: unverified until a GPU run.
 */
class NcclAllReduceGpuTest {
    private static int devicesOrSkip() {
        CudaTrainingLoopGpuTest.openCudaOrSkip().close(); // skips (or fails under JCONV_REQUIRE_BACKENDS) without CUDA
        NcclAllReduce.Status s = NcclAllReduce.status();
        assumeTrue(s.ok(), () -> "NCCL unavailable: " + s.reason() + "; " + s.fix());
        return new CudaBackendProvider().probe().devices().size();
    }

    private static List<ConvEngine> engines(int n) {
        List<ConvEngine> es = new ArrayList<>();
        for (int d = 0; d < n; d++) es.add(ConvEngine.open(new CudaBackendProvider(), d));
        return es;
    }

    private static void closeAll(List<ConvEngine> es) {
        for (ConvEngine e : es) e.close();
    }

    /** Multiples of 1/4 in -32..31.75: the mean of two is a multiple of 1/8, exact in FP32 and FP64. */
    private static float[] values(int n, int salt) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = ((i * 5 + salt) % 256 - 128) * 0.25f;
        return v;
    }

    @Test
    void theMeanOverOneEngineIsTheBufferItself() {
        devicesOrSkip();
        List<ConvEngine> es = engines(1);
        try (NcclAllReduce reduce = NcclAllReduce.open(es)) {
            ConvEngine e = es.get(0);
            float[] a = values(1001, 3);
            try (DeviceBuffer f = e.upload(a, Shape.of(1001)); DeviceBuffer d = e.upload(DType.FP64, a, Shape.of(1001))) {
                reduce.allReduceMean(0, f, d);
                assertArrayEquals(a, e.downloadFloats(f));
                assertArrayEquals(a, e.downloadFloats(d));
            }
            assertEquals(1, reduce.size());
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> reduce.allReduceMean(1));
            assertTrue(bad.getMessage().startsWith("rank = 1"), bad.getMessage());
        } finally {
            closeAll(es);
        }
    }

    @Test
    void twoEnginesOnTwoDevicesAverageFromTheirOwnThreadsAndFromOne() throws Exception {
        int devices = devicesOrSkip();
        assumeTrue(devices >= 2, "two-device all-reduce needs two GPUs; this machine has " + devices);
        List<ConvEngine> es = engines(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (NcclAllReduce reduce = NcclAllReduce.open(es)) {
            int n = 70_001;
            float[][] in = {values(n, 1), values(n, 77)};
            float[] mean = new float[n];
            for (int i = 0; i < n; i++) mean[i] = (in[0][i] + in[1][i]) / 2; // exact: multiples of 1/8 in -32..32
            DeviceBuffer[] bufs = {es.get(0).upload(in[0], Shape.of(n)), es.get(1).upload(in[1], Shape.of(n))};
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int r = 0; r < 2; r++) {
                    int rank = r;
                    done.add(pool.submit(() -> reduce.allReduceMean(rank, bufs[rank])));
                }
                for (Future<?> f : done) f.get();
                for (int r = 0; r < 2; r++) assertArrayEquals(mean, es.get(r).downloadFloats(bufs[r]), "rank " + r + ", own threads");
                // again from one thread: the mean of equal buffers is unchanged
                reduce.allReduceMeanAll(List.of(new DeviceBuffer[]{bufs[0]}, new DeviceBuffer[]{bufs[1]}));
                for (int r = 0; r < 2; r++) assertArrayEquals(mean, es.get(r).downloadFloats(bufs[r]), "rank " + r + ", one thread");
            } finally {
                bufs[0].close();
                bufs[1].close();
            }
        } finally {
            pool.shutdownNow();
            closeAll(es);
        }
    }

    // ---- the loop of docs/training.md, "More than one GPU" ----
    /** Data-parallel SGD over the engines: rank r trains on the r-th share of the batch; returns each rank's final weights. */
    static float[][] trainDataParallel(List<ConvEngine> engines, ConvSpec shard, float[] input, float[] target,
                                       float[] w0, float[] b0, int steps) throws Exception {
        int n = engines.size();
        int xPer = (int) shard.inputShape().elementCount(), yPer = (int) shard.outputShape().elementCount();
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try (NcclAllReduce reduce = NcclAllReduce.open(engines)) {
            List<Future<float[]>> done = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                done.add(pool.submit(() -> {                               // one thread per device
                    ConvEngine engine = engines.get(rank);
                    float[] x = Arrays.copyOfRange(input, rank * xPer, (rank + 1) * xPer);   // this rank's share
                    float[] t = Arrays.copyOfRange(target, rank * yPer, (rank + 1) * yPer);
                    try (ConvLayer conv = new ConvLayer(engine, shard, DType.FP32, 1);
                         DeviceBuffer xb = engine.upload(x, shard.inputShape())) {
                        conv.setWeight(w0);                                  // the same start on every device
                        conv.setBias(b0);
                        for (int step = 0; step < steps; step++) {
                            float[] dy = new float[yPer];
                            try (DeviceBuffer y = conv.forward(xb)) {
                                float[] yv = engine.downloadFloats(y);
                                for (int i = 0; i < yPer; i++) dy[i] = 2 * (yv[i] - t[i]) / yPer; // d(mean squared error of the share)/dy
                            }
                            try (DeviceBuffer g = engine.upload(dy, shard.outputShape())) {
                                conv.backward(g).close();
                            }
                            // the mean over equal shares of each share's gradient is the whole batch's gradient
                            reduce.allReduceMean(rank, conv.gradWeight(), conv.gradBias());
                            conv.sgdStep(0.05f);
                        }
                        return conv.weightValues();
                    }
                }));
            }
            float[][] w = new float[n][];
            for (int r = 0; r < n; r++) w[r] = done.get(r).get();
            return w;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The same SGD on one engine with the whole batch (the reference for the data-parallel run). */
    static float[] trainWhole(ConvEngine engine, ConvSpec whole, float[] input, float[] target, float[] w0, float[] b0, int steps) {
        int yn = (int) whole.outputShape().elementCount();
        try (ConvLayer conv = new ConvLayer(engine, whole, DType.FP32, 1);
             DeviceBuffer xb = engine.upload(input, whole.inputShape())) {
            conv.setWeight(w0);
            conv.setBias(b0);
            for (int step = 0; step < steps; step++) {
                float[] dy = new float[yn];
                try (DeviceBuffer y = conv.forward(xb)) {
                    float[] yv = engine.downloadFloats(y);
                    for (int i = 0; i < yn; i++) dy[i] = 2 * (yv[i] - target[i]) / yn;
                }
                try (DeviceBuffer g = engine.upload(dy, whole.outputShape())) {
                    conv.backward(g).close();
                }
                conv.sgdStep(0.05f);
            }
            return conv.weightValues();
        }
    }

    @Test
    void dataParallelTrainingMatchesOneEngineOnTheWholeBatch() throws Exception {
        int devices = devicesOrSkip();
        int n = Math.min(devices, 2); // N = 2 where two GPUs exist, else N = 1
        ConvSpec shard = ConvSpec.convolution().batch(2).channels(3, 4).input(10, 10).kernel(3).padding(1).build();
        ConvSpec whole = shard.toBuilder().batch(2 * n).build();
        SplittableRandom rnd = new SplittableRandom(5);
        float[] input = new float[(int) whole.inputShape().elementCount()];
        float[] target = new float[(int) whole.outputShape().elementCount()];
        float[] w0 = new float[4 * 3 * 3 * 3];
        float[] b0 = new float[4];
        for (int i = 0; i < input.length; i++) input[i] = (float) rnd.nextDouble(-1, 1);
        for (int i = 0; i < target.length; i++) target[i] = (float) rnd.nextDouble(-1, 1);
        for (int i = 0; i < w0.length; i++) w0[i] = (float) rnd.nextDouble(-0.2, 0.2);
        for (int i = 0; i < b0.length; i++) b0[i] = (float) rnd.nextDouble(-0.1, 0.1);
        int steps = 4;

        List<ConvEngine> es = engines(n);
        float[][] parallel;
        try {
            parallel = trainDataParallel(es, shard, input, target, w0, b0, steps);
        } finally {
            closeAll(es);
        }
        for (int r = 1; r < n; r++) assertArrayEquals(parallel[0], parallel[r], "every rank steps with the same averaged gradient");
        float[] reference;
        try (ConvEngine one = ConvEngine.open(new CudaBackendProvider(), 0)) {
            reference = trainWhole(one, whole, input, target, w0, b0, steps);
        }
        boolean moved = false;
        for (int i = 0; i < w0.length; i++) {
            // FP32 sums in another order (per share, then averaged): agree to 1e-4 relative
            assertEquals(reference[i], parallel[0][i], 1e-4 * (1 + Math.abs(reference[i])), "weight " + i + ", N = " + n);
            moved |= Math.abs(reference[i] - w0[i]) > 1e-3;
        }
        assertTrue(moved, "the weights moved: the test compares trained weights, not the start");
    }
}
