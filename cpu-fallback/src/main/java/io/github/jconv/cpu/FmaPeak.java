package io.github.jconv.cpu;

import java.util.OptionalDouble;

/**
 * The machine's FP32 multiply-add peak as the JVM reaches it: every thread runs independent Vector API
 * fma chains on registers only (no memory traffic), so the figure is what the FMA units give a Java
 * program, the ceiling for any GEMM here. Used by {@code jconv bench} to put each problem's rate in
 * proportion. Needs the Vector API module; without it there is no figure.
 */
public final class FmaPeak {
    private FmaPeak() {
    }

    /** The vector shape measured, e.g. "256-bit FP32 (8 lanes)", or empty without the Vector API. */
    public static String shape() {
        return VectorSupport.available() ? VectorFmaPeak.shape() : "";
    }

    /**
     * GFLOP/s of {@code threads} threads running fma chains together for about {@code millis} ms after
     * a warm-up (a multiply-add counts two): the sum of each thread's rate over the CPU time it got, so
     * that other load on the machine does not lower the figure. Empty when the JVM lacks
     * {@code jdk.incubator.vector}.
     */
    public static OptionalDouble gflops(int threads, long millis) {
        if (threads < 1 || threads > 4096) {
            throw new IllegalArgumentException("threads = " + threads + ": must be 1 to 4096; e.g. 2");
        }
        if (millis < 1 || millis > 60_000) {
            throw new IllegalArgumentException("millis = " + millis + ": must be 1 to 60000; e.g. 200");
        }
        if (!VectorSupport.available()) return OptionalDouble.empty();
        return OptionalDouble.of(VectorFmaPeak.gflops(threads, millis));
    }
}
