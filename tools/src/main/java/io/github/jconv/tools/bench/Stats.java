package io.github.jconv.tools.bench;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics of timings; the median is the middle value, or the mean of the two middle ones. */
final class Stats {
    private Stats() {
    }

    static double median(Collection<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static double median(double[] values) {
        if (values == null || values.length == 0) {
            throw new IllegalArgumentException("values = empty: a median needs at least one sample");
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return (n & 1) == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(Collection<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElseThrow(
                () -> new IllegalArgumentException("values = empty: a minimum needs at least one sample"));
    }

    static double max(Collection<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElseThrow(
                () -> new IllegalArgumentException("values = empty: a maximum needs at least one sample"));
    }

    /** FLOPs over milliseconds, in GFLOP/s. */
    static double gflops(long flops, double ms) {
        return flops / (ms * 1e6);
    }

    /** Throughput of ours over theirs for the same work: their time over ours. */
    static double throughputRatio(double oursMs, double theirsMs) {
        if (!(oursMs > 0) || !(theirsMs > 0)) {
            throw new IllegalArgumentException("times = (" + oursMs + ", " + theirsMs + ") ms: both must be positive");
        }
        return theirsMs / oursMs;
    }
}
