package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoCommandTest {
    @Test
    void trainingOnTheCpuLearnsTheSobelKernelAndTheLossFallsByOrdersOfMagnitude() {
        try (ConvEngine e = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL))) {
            Demo.Result r = Demo.train(e, 60, 4, 32, 1.5f, 7);
            assertTrue(r.lastLoss() < 1e-8, "final loss " + r.lastLoss());
            assertTrue(r.firstLoss() > 1e4 * r.lastLoss(), "from " + r.firstLoss() + " to " + r.lastLoss());
            float[] sobel = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
            for (int i = 0; i < 9; i++) assertEquals(sobel[i], r.learned()[i], 1e-3, "tap " + i);
        }
    }

    @Test
    void theCommandPrintsTheFallingLossTheKernelsTheBackendAndTheTime() {
        ToolRun r = ToolRun.of("demo", "--backend", "cpu", "--steps", "40");
        assertEquals(0, r.exit(), r::toString);
        double first = Double.parseDouble(r.find("^step\\s+1\\s+loss (\\S+)"));
        double last = Double.parseDouble(r.find("^step\\s+40\\s+loss (\\S+)"));
        assertTrue(last < first * 1e-4, r::toString);
        assertTrue(r.out().contains("learned kernel            teacher (Sobel x)"), r::toString);
        r.find("^(\\s+-?1\\.0000\\s+-?0\\.0000\\s+1\\.0000\\s+-1\\s+0\\s+1)$");
        r.find("^(ran on backend cpu chosen explicitly.* in \\d+\\.\\d+ s)$");
    }

    @ParameterizedTest(name = "{0} {1} is refused")
    @CsvSource({"--steps, 0", "--lr, -1", "--lr, 0", "--batch, 0", "--size, 2"})
    void aBadOptionIsRefusedByNameBeforeTraining(String option, String value) {
        ToolRun r = ToolRun.of("demo", "--backend", "cpu", option, value);
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains(option.substring(2) + " = " + value), r::toString);
        assertFalse(r.out().contains("step    1"), r::toString);
    }

    @ParameterizedTest(name = "demo {0} {1} is refused")
    @CsvSource({
            "--size, 100000, --size = 100000",    // an OutOfMemoryError
            "--lr, 1e30, --lr = 1.0E30",          // ended with a NaN loss and exit 0
            "--lr, NaN, --lr = NaN",
            "--steps, 100000000, --steps = 100000000",
            "--size, 4096, --batch 4 x --size 4096"})
    void anOverLargeValueIsRefusedInOneLineBeforeTraining(String option, String value, String named) {
        ToolRun r = ToolRun.of("demo", "--backend", "cpu", option, value).assertRefused(named);
        assertFalse(r.out().contains("step    1"), r::toString);
    }

    /** At the largest allowed rate, 10, SGD on this problem (Hessian eigenvalues near 9·E[x²] = 3) blows up: said, exit 1. */
    @Test
    void aDivergingRunEndsWithExitOneAndSaysWhy() {
        ToolRun r = ToolRun.of("demo", "--backend", "cpu", "--lr", "10", "--steps", "200");
        assertEquals(1, r.exit(), r::toString);
        r.assertOneLine();
        assertTrue(r.err().contains("diverged") && r.err().contains("--lr"), r::toString);
    }
}
