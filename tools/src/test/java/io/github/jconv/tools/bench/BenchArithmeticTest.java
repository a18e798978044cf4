package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchArithmeticTest {
    @Test
    void medianOfAnOddCountIsTheMiddleValueWhateverTheOrder() {
        assertEquals(7.0, Stats.median(new double[] {9, 1, 7, 8, 2}));
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues() {
        assertEquals(5.5, Stats.median(List.of(10.0, 5.0, 6.0, 1.0)));
    }

    @Test
    void medianDoesNotReorderTheCallersArray() {
        double[] v = {3, 1, 2};
        Stats.median(v);
        assertEquals(3.0, v[0]);
    }

    @Test
    void medianOfNothingIsRefusedWithAReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Stats.median(new double[0]));
        assertTrue(e.getMessage().contains("at least one sample"), e.getMessage());
    }

    @ParameterizedTest(name = "jconv {0} ms, peer {1} ms -> {2}x")
    @CsvSource({"10, 5, 0.5", "4, 8, 2.0", "2.5, 2.5, 1.0", "3, 1, 0.3333333333"})
    void throughputRatioIsThePeersTimeOverOurs(double oursMs, double theirsMs, double ratio) {
        assertEquals(ratio, Stats.throughputRatio(oursMs, theirsMs), 1e-9);
    }

    @Test
    void throughputRatioRefusesATimeOfZero() {
        assertThrows(IllegalArgumentException.class, () -> Stats.throughputRatio(0, 5));
    }

    @Test
    void gflopsAreFlopsOverMillisecondsTimesAMillion() {
        // P1's forward (1 849 688 064 FLOPs) in 10 ms is 184.97 GFLOP/s
        assertEquals(184.9688064, Stats.gflops(1_849_688_064L, 10.0), 1e-9);
    }
}
