package io.github.jconv.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.DoubleAdder;

/** {@link FmaPeak}'s loop; loaded only when the JVM has the Vector API. */
final class VectorFmaPeak {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Independent chains: more than FMA latency (4-5 cycles) × 2 units, within 16 registers. */
    static final int CHAINS = 12;
    /** Keeps the sums observable so that C2 cannot drop the loop. */
    static volatile float sink;

    private VectorFmaPeak() {
    }

    static String shape() {
        return S.vectorBitSize() + "-bit FP32 (" + S.length() + " lanes)";
    }

    /** Multiply-adds of {@code iterations} rounds of CHAINS chains: acc = acc·m + d, which stays finite and normal. */
    static float chains(long iterations) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f), d = FloatVector.broadcast(S, 1e-6f);
        FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0.add(d), a2 = a1.add(d), a3 = a2.add(d);
        FloatVector a4 = a3.add(d), a5 = a4.add(d), a6 = a5.add(d), a7 = a6.add(d);
        FloatVector a8 = a7.add(d), a9 = a8.add(d), a10 = a9.add(d), a11 = a10.add(d);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, d); a1 = a1.fma(m, d); a2 = a2.fma(m, d); a3 = a3.fma(m, d);
            a4 = a4.fma(m, d); a5 = a5.fma(m, d); a6 = a6.fma(m, d); a7 = a7.fma(m, d);
            a8 = a8.fma(m, d); a9 = a9.fma(m, d); a10 = a10.fma(m, d); a11 = a11.fma(m, d);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /** The sum over threads of each one's multiply-add rate over its own CPU time, GFLOP/s. */
    static double gflops(int threads, long millis) {
        // Warm-up: enough short calls that C2 compiles the whole method (it needs several hundred
        // invocations; a loop compiled only on stack replacement left the threads' first calls slow),
        // then probes until the rate stops rising (at most about 2 s: a busy compiler queue can delay
        // the compiled code), then size each timed slice so that all slices last about millis.
        for (int i = 0; i < 4000; i++) sink = chains(256);
        long probe = 1 << 16;
        double perIteration = Double.MAX_VALUE;
        long until = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < until) {
            long t = System.nanoTime();
            sink = chains(probe);
            double p = Math.max(1e-3, (System.nanoTime() - t) / (double) probe);
            if (p > 0.9 * perIteration) {
                perIteration = Math.min(perIteration, p);
                break;
            }
            perIteration = Math.min(perIteration, p);
        }
        final int slices = 5;
        long iterations = Math.max(1, (long) (millis * 1e6 / perIteration / slices));
        DoubleAdder rates = new DoubleAdder();
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        CountDownLatch start = new CountDownLatch(1), done = new CountDownLatch(threads);
        for (int w = 0; w < threads; w++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    // This thread's best slice, rated over the CPU time it got: other load on the machine
                    // does not lower it, and a slice still waiting for compiled code does not count.
                    double best = 0;
                    for (int sl = 0; sl < slices; sl++) {
                        long c0 = cpu.getCurrentThreadCpuTime();
                        sink = chains(iterations);
                        long c1 = cpu.getCurrentThreadCpuTime();
                        if (c1 > c0) best = Math.max(best, 2.0 * CHAINS * S.length() * iterations / (c1 - c0));
                    }
                    rates.add(best);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            }, "jconv-fma-peak-" + w);
            th.setDaemon(true);
            th.start();
        }
        start.countDown();
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
        return rates.sum();
    }
}
