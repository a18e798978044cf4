package io.github.jconv.opencl.tune;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tuner's search with a fake timer and a fake clock: the choice follows the timing table, the budget bounds it. */
class TunerSearchTest {
    /** A fake device: each candidate "takes" its table time, and timing it advances the fake clock by that much. */
    private static final class FakeDevice {
        final AtomicLong clock = new AtomicLong(1_000);
        final Map<String, Double> table;
        final List<String> timed = new ArrayList<>();

        FakeDevice(Map<String, Double> table) {
            this.table = table;
        }

        double time(String c) {
            timed.add(c);
            Double t = table.get(c);
            if (t == null) throw new UnsupportedOperationException(c + " does not fit");
            clock.addAndGet(t.longValue());
            return t;
        }
    }

    @Test
    void theFastestCandidateOfTheTableWins() {
        // b (30 ns) is the minimum of {a: 50, b: 30, c: 40}.
        FakeDevice d = new FakeDevice(Map.of("a", 50.0, "b", 30.0, "c", 40.0));
        TunerSearch.Result<String> r = TunerSearch.search(List.of("a", "b", "c"), d::time, 1_000_000, d.clock::get);
        assertEquals("b", r.best());
        assertEquals(30.0, r.bestNanos());
        assertEquals(List.of("a", "b", "c"), d.timed);
        assertEquals(0, r.skipped());
    }

    @Test
    void aTieGoesToTheEarlierCandidateWhateverTheOrderOfTheTable() {
        // b and c tie at 20 ns; b comes first in the candidate list, so b wins; listing c first makes c win.
        FakeDevice d1 = new FakeDevice(Map.of("a", 50.0, "b", 20.0, "c", 20.0));
        assertEquals("b", TunerSearch.search(List.of("a", "b", "c"), d1::time, 1_000_000, d1.clock::get).best());
        FakeDevice d2 = new FakeDevice(Map.of("a", 50.0, "b", 20.0, "c", 20.0));
        assertEquals("c", TunerSearch.search(List.of("a", "c", "b"), d2::time, 1_000_000, d2.clock::get).best());
    }

    @Test
    void theSameTableGivesTheSameChoiceEveryTime() {
        Map<String, Double> table = Map.of("a", 7.0, "b", 3.0, "c", 3.5, "d", 9.0);
        String first = null;
        for (int i = 0; i < 5; i++) {
            FakeDevice d = new FakeDevice(table);
            String best = TunerSearch.search(List.of("a", "b", "c", "d"), d::time, 1_000, d.clock::get).best();
            if (first == null) first = best;
            assertEquals(first, best);
        }
        assertEquals("b", first);
    }

    @Test
    void theBudgetStopsTheSearchBeforeTheNextCandidate() {
        // Budget 100 ns: a (60) runs, clock at +60 < 100 so b (60) runs, clock at +120 >= 100: c and d are left out,
        // although d (1 ns) would have won.
        FakeDevice d = new FakeDevice(Map.of("a", 60.0, "b", 60.0, "c", 5.0, "d", 1.0));
        TunerSearch.Result<String> r = TunerSearch.search(List.of("a", "b", "c", "d"), d::time, 100, d.clock::get);
        assertEquals(List.of("a", "b"), d.timed);
        assertEquals(2, r.skipped());
        assertEquals("a", r.best());
    }

    @Test
    void theFirstCandidateRunsEvenWithAZeroBudget() {
        FakeDevice d = new FakeDevice(Map.of("a", 60.0, "b", 1.0));
        TunerSearch.Result<String> r = TunerSearch.search(List.of("a", "b"), d::time, 0, d.clock::get);
        assertEquals(List.of("a"), d.timed);
        assertEquals("a", r.best());
        assertEquals(1, r.skipped());
    }

    @Test
    void failingAndNonsenseTimingsAreRecordedAndNeverWin() {
        // "x" is not in the table (does not fit), "n" times as NaN, "neg" as -1: only a (10) counts.
        FakeDevice d = new FakeDevice(Map.of("a", 10.0, "n", Double.NaN, "neg", -1.0));
        TunerSearch.Result<String> r = TunerSearch.search(List.of("x", "n", "neg", "a"), d::time, 1_000_000, d.clock::get);
        assertEquals("a", r.best());
        assertEquals(4, r.trials().size());
        assertFalse(r.trials().get(0).ok());
        assertTrue(r.trials().get(0).failure().contains("does not fit"));
        assertFalse(r.trials().get(1).ok());
        assertFalse(r.trials().get(2).ok());
        assertTrue(r.trials().get(3).ok());
    }

    @Test
    void noCandidateThatRunsMeansNoWinner() {
        FakeDevice d = new FakeDevice(Map.of());
        TunerSearch.Result<String> r = TunerSearch.search(List.of("a", "b"), d::time, 1_000_000, d.clock::get);
        assertNull(r.best());
        assertTrue(Double.isNaN(r.bestNanos()));
    }

    @Test
    void badArgumentsAreNamed() {
        FakeDevice d = new FakeDevice(Map.of("a", 1.0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TunerSearch.search(List.<String>of(), d::time, 1, d.clock::get));
        assertTrue(e.getMessage().startsWith("candidates = []"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TunerSearch.search(List.of("a"), d::time, -1, d.clock::get));
        assertTrue(e.getMessage().startsWith("budgetNanos = -1"), e.getMessage());
    }
}
