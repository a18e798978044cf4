package io.github.jconv.opencl.tune;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The tuner's search, free of any device: candidates are timed in list order until the list or the time
 * budget runs out, and the fastest wins. The choice depends only on the timings (ties go to the earlier
 * candidate), so a given timing table always gives the same winner; the budget is checked on the injected
 * clock before each candidate after the first, so a search never starts a candidate past its budget.
 */
public final class TunerSearch {
    /** Times one candidate: nanoseconds per run, or throws when the candidate cannot run on the device. */
    @FunctionalInterface
    public interface Timer<C> {
        double nanos(C candidate) throws Exception;
    }

    /** One timed (or failed) candidate. */
    public record Trial<C>(C candidate, double nanos, String failure) {
        public boolean ok() {
            return failure == null;
        }
    }

    /** The winner (null when no candidate ran), every trial in order, and how many candidates the budget left out. */
    public record Result<C>(C best, double bestNanos, List<Trial<C>> trials, int skipped) {
    }

    private TunerSearch() {
    }

    /**
     * Times {@code candidates} in order with {@code timer} while {@code clock} (nanoseconds) stays within
     * {@code budgetNanos} of the start; the first candidate always runs.
     */
    public static <C> Result<C> search(List<C> candidates, Timer<C> timer, long budgetNanos, LongSupplier clock) {
        if (candidates == null || candidates.isEmpty()) {
            throw new IllegalArgumentException("candidates = " + candidates + ": the search needs at least one; e.g. List.of(defaults)");
        }
        if (budgetNanos < 0) {
            throw new IllegalArgumentException("budgetNanos = " + budgetNanos + ": must be >= 0; e.g. 30_000_000_000L (30 s)");
        }
        long start = clock.getAsLong();
        List<Trial<C>> trials = new ArrayList<>();
        C best = null;
        double bestNanos = Double.POSITIVE_INFINITY;
        int i = 0;
        for (; i < candidates.size(); i++) {
            if (i > 0 && clock.getAsLong() - start >= budgetNanos) break;
            C c = candidates.get(i);
            double t;
            try {
                t = timer.nanos(c);
            } catch (Exception e) {
                trials.add(new Trial<>(c, Double.NaN, e.getClass().getSimpleName() + ": " + e.getMessage()));
                continue;
            }
            if (!(t >= 0) || Double.isInfinite(t)) {
                trials.add(new Trial<>(c, t, "timing " + t + " is not a finite non-negative time"));
                continue;
            }
            trials.add(new Trial<>(c, t, null));
            if (t < bestNanos) {
                bestNanos = t;
                best = c;
            }
        }
        return new Result<>(best, best == null ? Double.NaN : bestNanos, List.copyOf(trials), candidates.size() - i);
    }
}
