package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The warm-up rule fed with synthetic batch times (a fake clock: elapsed seconds are passed in). */
class WarmupTest {
    /** Feeds one-call batches of these means, 0.01 s apart, until the rule stops; returns the rule. */
    private static Warmup feed(Warmup w, double... means) {
        double elapsed = 0;
        for (double m : means) {
            if (!w.more(elapsed)) break;
            w.add(1, m);
            elapsed += 0.01;
        }
        return w;
    }

    @Test
    void aJitLikeDropIsWaitedOutAndTheSteadyTimeIsKept() {
        // batch means 10, 8, 6 (interpreted / compiling), then about 1 ms. After batch 8 the last three
        // [0.99, 1.00, 1.02] have median 1.00 and the three before [6, 1.00, 1.01] median 1.01:
        // |1.00 - 1.01| = 0.01 <= 5 % of 1.01, steady. After batch 7 the medians were 1.00 and 6: not steady.
        Warmup w = feed(new Warmup(0, 60, 10), 10, 8, 6, 1.00, 1.01, 0.99, 1.00, 1.02, 0.98, 5, 5, 5);
        assertEquals(8, w.batches());
        assertTrue(w.steady());
        assertFalse(w.more(0.08));
        assertEquals(1.00, w.perCallMs(), 1e-12, "median of the last three batches, none of the slow first ones");
    }

    @Test
    void timesThatNeverSettleStopAtTheBatchCap() {
        // every batch 10 % faster than the one before: the medians of two windows of three differ by 27 %
        double[] means = new double[100];
        for (int i = 0; i < means.length; i++) means[i] = 100 * Math.pow(0.9, i);
        Warmup w = feed(new Warmup(0, 20, 10), means);
        assertEquals(20, w.batches());
        assertFalse(w.steady(), "reported as not steady");
    }

    @Test
    void timesThatNeverSettleStopAtTheTimeCap() {
        Warmup w = new Warmup(0, 1000, 0.5);
        for (int i = 0; i < 10; i++) w.add(1, 100 * Math.pow(0.5, i));
        assertTrue(w.more(0.49));
        assertFalse(w.more(0.5), "the time cap ends warm-up even though the batch cap is far");
    }

    @Test
    void noisyButStationaryTimesStop() {
        // neighbours differ by up to 16 %, yet after batch 8 the last three [0.95, 1.02, 1.00] have median 1.00
        // and the three before [1.04, 0.97, 1.08] median 1.04: |1.00 - 1.04| = 0.04 <= 0.052, steady.
        // (after batch 7: medians 1.02 and 0.97, 0.05 > 0.0485; after batch 6: 0.97 and 1.04, not steady)
        Warmup w = feed(new Warmup(0, 60, 10), 1.10, 0.92, 1.04, 0.97, 1.08, 0.95, 1.02, 1.00, 1.3, 0.7);
        assertEquals(8, w.batches());
        assertTrue(w.steady());

        // seeded uniform noise of +-15 % around 2 ms stops well before the cap, near 2 ms
        Random rnd = new Random(7);
        double[] noisy = new double[60];
        for (int i = 0; i < noisy.length; i++) noisy[i] = 2 * (1 + 0.3 * (rnd.nextDouble() - 0.5));
        Warmup n = feed(new Warmup(0, 60, 10), noisy);
        assertTrue(n.steady() && n.batches() < 60, "batches " + n.batches());
        assertEquals(2, n.perCallMs(), 0.3);
    }

    @Test
    void theWarmupOptionIsAMinimumNumberOfCalls() {
        Warmup w = new Warmup(10, 60, 10);
        assertEquals(10, w.nextBatchCalls(), "the first batch runs the asked warm-up calls");
        for (int i = 0; i < 6; i++) w.add(1, 1.0);
        assertTrue(Warmup.steady(List.of(1.0, 1.0, 1.0, 1.0, 1.0, 1.0)));
        assertTrue(w.more(0.1), "steady, but only 6 of the 10 asked calls ran");
        w.add(4, 1.0);
        assertFalse(w.more(0.1));
    }

    @Test
    void warmupBatchesLastAboutFiveMilliseconds() {
        Warmup w = new Warmup(0, 60, 10);
        assertEquals(1, w.nextBatchCalls());
        w.add(1, 0.01);
        assertEquals(500, w.nextBatchCalls(), "5 ms / 0.01 ms");
        w.add(500, 10);
        assertEquals(1, w.nextBatchCalls());
        w.add(1, 0.0001);
        assertEquals(1000, w.nextBatchCalls(), "capped");
    }

    @Test
    void enoughCallsAreTimedToFillTheWindowWithinTheBudget() {
        assertEquals(2223, Warmup.timedCalls(0.09, 10, 200, 30_000), "ceil(200 / 0.09)");
        assertEquals(10, Warmup.timedCalls(50, 10, 200, 30_000), "--reps is more than 200 ms needs (4 calls)");
        assertEquals(2, Warmup.timedCalls(50, 10, 200, 100), "only 100 ms of budget left: floor(100 / 50)");
        assertEquals(1, Warmup.timedCalls(50, 10, 200, 0), "at least one call");
        assertEquals(10, Warmup.timedCalls(Double.NaN, 10, 200, 1000), "no warm-up ran: --reps");
        assertThrows(IllegalArgumentException.class, () -> new Warmup(-1, 60, 10));
    }

    @Test
    void evenTimesWhileTheJitCompilesAreNotSteady() {
        // a kernel still being compiled runs slowly but evenly: six batches of 3.0 ms agree (steady by the times
        // alone), but the JIT compiled during batches 4-6, so warm-up goes on; then 2.2 ms with the JIT quiet.
        // After batch 9 the last three [2.2, 2.2, 2.2] have median 2.2 against [3.0, 3.0, 3.0]: 27 % apart; after
        // batch 10, 2.2 against the median 3.0 of [3.0, 3.0, 2.2]; after batch 11, 2.2 against the median 2.2 of
        // [3.0, 2.2, 2.2], and batches 9-11 compiled nothing: steady, and the per-call time is the fast one.
        Warmup w = new Warmup(0, 60, 10);
        double[][] batches = {{3.0, 0}, {3.0, 0}, {3.0, 0}, {3.0, 40}, {3.0, 12}, {3.0, 3}, {2.2, 0}, {2.2, 0}, {2.2, 0},
                {2.2, 0}, {2.2, 0}, {2.2, 0}, {2.2, 0}};
        int b = 0;
        for (double[] batch : batches) {
            if (!w.more(0.01 * b)) break;
            w.add(1, batch[0], batch[1]);
            b++;
            if (b == 6) assertFalse(w.steady(), "equal times, but the JIT compiled in the last batches");
        }
        assertEquals(11, w.batches());
        assertTrue(w.steady());
        assertEquals(2.2, w.perCallMs(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new Warmup(0, 60, 10).add(1, 1.0, -1));
    }
}
