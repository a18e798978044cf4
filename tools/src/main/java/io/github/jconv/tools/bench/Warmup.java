package io.github.jconv.tools.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * When warm-up is over and how many calls to time: a pure rule, fed with the mean time per call of
 * each warm-up batch, so that first-call costs (JIT compilation, kernel compilation, cuDNN plan and
 * algorithm search, caches, clocks ramping up) stay out of the reported numbers.
 * <p>
 * Warm-up is steady when the median of the last {@link #WINDOW} batch means is within
 * {@link #TOLERANCE} of the median of the {@link #WINDOW} batches before them, and the JIT compiled
 * nothing during those last batches (where the JVM reports compilation time: a kernel still being compiled
 * runs slowly but evenly, and the compiler threads take cores from the timed ones); it also ends when
 * {@code maxBatches} batches ran or {@code capSeconds} of warm-up passed (then it is reported as
 * not steady). The user's {@code --warmup N} is a minimum number of calls, counted first.
 */
final class Warmup {
    /** Batches compared on each side. */
    static final int WINDOW = 3;
    /** Relative change of the median batch time still counted as steady. */
    static final double TOLERANCE = 0.05;
    /** A warm-up batch runs calls for at least this long, so that a fast call's batch mean is not just clock noise. */
    static final double BATCH_MS = 5;

    private final int minCalls;
    private final int maxBatches;
    private final double capSeconds;
    private final List<Double> means = new ArrayList<>();
    /** Milliseconds the JIT compiled during each batch (0 where not measured). */
    private final List<Double> compiling = new ArrayList<>();
    private int calls;

    Warmup(int minCalls, int maxBatches, double capSeconds) {
        if (minCalls < 0) throw new IllegalArgumentException("minCalls = " + minCalls + ": must be >= 0; e.g. 3");
        if (maxBatches < 1) throw new IllegalArgumentException("maxBatches = " + maxBatches + ": must be >= 1; e.g. 50");
        if (!(capSeconds >= 0)) throw new IllegalArgumentException("capSeconds = " + capSeconds + ": must be >= 0; e.g. 10");
        this.minCalls = minCalls;
        this.maxBatches = maxBatches;
        this.capSeconds = capSeconds;
    }

    /** Records one warm-up batch: its call count and mean milliseconds per call. */
    void add(int batchCalls, double meanMs) {
        add(batchCalls, meanMs, 0);
    }

    /** Records one warm-up batch, with the milliseconds the JIT spent compiling while it ran. */
    void add(int batchCalls, double meanMs, double compileMs) {
        if (batchCalls < 1 || !(meanMs >= 0) || !(compileMs >= 0)) {
            throw new IllegalArgumentException("batch = " + batchCalls + " calls, " + meanMs + " ms, " + compileMs
                    + " ms compiling: needs >= 1 call and times >= 0");
        }
        calls += batchCalls;
        means.add(meanMs);
        compiling.add(compileMs);
    }

    /** Whether the JIT compiled nothing during the last {@link #WINDOW} batches. */
    private boolean jitQuiet() {
        int n = compiling.size();
        if (n < WINDOW) return false;
        for (double c : compiling.subList(n - WINDOW, n)) if (c > 0) return false;
        return true;
    }

    /** True when the last batches agree with the ones before them (see the class comment). */
    static boolean steady(List<Double> means) {
        int n = means.size();
        if (n < 2 * WINDOW) return false;
        double last = Stats.median(means.subList(n - WINDOW, n));
        double before = Stats.median(means.subList(n - 2 * WINDOW, n - WINDOW));
        return Math.abs(last - before) <= TOLERANCE * before;
    }

    boolean steady() {
        return calls >= minCalls && steady(means) && jitQuiet();
    }

    /** Whether to run another warm-up batch, after {@code elapsedSeconds} of warm-up. */
    boolean more(double elapsedSeconds) {
        if (calls < minCalls) return elapsedSeconds < capSeconds;
        if (steady(means) && jitQuiet()) return false;
        return means.size() < maxBatches && elapsedSeconds < capSeconds;
    }

    /** Calls in the next batch: the minimum first, then enough for {@link #BATCH_MS} at the last mean, at most 1000. */
    int nextBatchCalls() {
        if (means.isEmpty()) return Math.max(1, Math.min(minCalls, 1000));
        return callsFor(BATCH_MS, means.get(means.size() - 1), 1, 1000);
    }

    int batches() {
        return means.size();
    }

    int calls() {
        return calls;
    }

    /** The steady time per call: the median of the last batches (NaN before any). */
    double perCallMs() {
        int n = means.size();
        return n == 0 ? Double.NaN : Stats.median(means.subList(Math.max(0, n - WINDOW), n));
    }

    /**
     * Calls to time: at least {@code reps}, and enough that they last {@code minWindowMs} at {@code perCallMs},
     * but no more than fit in {@code budgetMs} (never fewer than one).
     */
    static int timedCalls(double perCallMs, int reps, double minWindowMs, double budgetMs) {
        if (!(perCallMs > 0)) return Math.max(1, reps);
        int n = Math.max(reps, callsFor(minWindowMs, perCallMs, 1, 10_000_000));
        if (perCallMs > 0 && n * perCallMs > budgetMs) n = (int) Math.floor(budgetMs / perCallMs);
        return Math.max(1, n);
    }

    private static int callsFor(double ms, double perCallMs, int lo, int hi) {
        if (!(perCallMs > 0)) return hi;
        double c = Math.ceil(ms / perCallMs);
        return (int) Math.max(lo, Math.min(hi, c));
    }
}
