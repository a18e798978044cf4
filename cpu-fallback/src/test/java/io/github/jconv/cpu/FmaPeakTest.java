package io.github.jconv.cpu;

import org.junit.jupiter.api.Test;

import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench's FMA peak: a figure exactly when the Vector API is there, plausible, and bad arguments refused. */
class FmaPeakTest {
    @Test
    void peakIsMeasuredExactlyWhenTheVectorApiIsPresent() {
        OptionalDouble p = FmaPeak.gflops(1, 50);
        assertEquals(VectorSupport.available(), p.isPresent());
        if (p.isPresent()) {
            // One core of any machine with FMA vectors gives well above 1 GFLOP/s (2 flops × 4+ lanes per
            // cycle at 1+ GHz is 8+), and no core gives 10 TFLOP/s: a figure outside is a broken measurement.
            double g = p.getAsDouble();
            assertTrue(g > 1 && g < 10_000, "FMA peak of one thread: " + g + " GFLOP/s");
            assertTrue(FmaPeak.shape().contains("FP32"), FmaPeak.shape());
        } else {
            assertEquals("", FmaPeak.shape());
        }
    }

    @Test
    void badArgumentsAreRefusedWithTheRule() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FmaPeak.gflops(0, 50));
        assertTrue(e.getMessage().contains("threads = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FmaPeak.gflops(1, 0));
        assertTrue(e.getMessage().contains("millis = 0"), e.getMessage());
    }
}
