package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** On a machine without an NVIDIA driver: the CUDA backend says why, and the rest of jconv works. */
class UnavailablePathTest {
    private static ProbeResult probe;

    @BeforeAll
    static void probeOnce() {
        probe = new CudaBackendProvider().probe();
        assumeFalse(probe.available(), "a CUDA driver and device are present here: the unavailable path is not reachable");
    }

    private static boolean driverMissing() {
        return probe.reason().startsWith("no libcuda.so.1");
    }

    @Test
    void serviceLoaderFindsTheCudaProviderWithPriority300() {
        ConvBackendProvider p = ConvEngine.providers().stream().filter(x -> x.name().equals("cuda")).findFirst().orElseThrow();
        assertEquals(CudaBackendProvider.class, p.getClass());
        assertEquals(300, p.priority());
    }

    @Test
    void probeWithoutDriverSaysNoLibcudaAndHowToFixIt() {
        assumeTrue(driverMissing() || probe.reason().contains("cuInit"), "unexpected reason: " + probe.reason());
        if (driverMissing()) {
            // the loader's own line is kept (short), so the user sees what it could not open
            assertTrue(probe.reason().contains("UnsatisfiedLinkError: "), probe.reason());
            assertFalse(probe.reason().contains("\n"), "one line, not JCuda's nested stack traces: " + probe.reason());
            assertTrue(probe.fix().contains("driver"), probe.fix());
            // the provider cannot know which other backend is usable: it names none (the engine suggests an available one)
            assertFalse(probe.fix().contains("jconv.backend=opencl"), probe.fix());
        }
        assertFalse(probe.fix().isEmpty());
        assertTrue(probe.devices().isEmpty());
    }

    @Test
    void probingAgainGivesTheSameReasonAlthoughJcudaThrowsNoClassDefFoundErrorTheSecondTime() {
        ProbeResult again = new CudaBackendProvider().probe();
        assertEquals(probe.reason(), again.reason());
        assertFalse(again.available());
    }

    @Test
    void openingTheProviderDirectlyThrowsWithTheReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new CudaBackendProvider().open(0));
        assertTrue(e.getMessage().contains(probe.reason()), e.getMessage());
    }

    @Test
    void engineWithCudaRequestedAndPolicyFailThrowsNamingTheReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ConvEngine.open(EngineOptions.backend("cuda", FallbackPolicy.FAIL)));
        assertTrue(e.getMessage().contains("backend cuda is unavailable"), e.getMessage());
        assertTrue(e.getMessage().contains(probe.reason()), e.getMessage());
    }

    @Test
    void engineWithCudaRequestedAndPolicyWarnFallsBackToCpu() {
        List<ConvBackendProvider> ps = ConvEngine.providers();
        assumeTrue(ps.stream().anyMatch(p -> p.name().equals("cpu")),
                "jconv-cpu is not on the test classpath (module built with -Djconv.cuda.noCpu)");
        try (ConvEngine e = ConvEngine.open(EngineOptions.backend("cuda", FallbackPolicy.WARN))) {
            assertEquals("cpu", e.backendName());
            assertTrue(e.selectionReport().contains("fell back to cpu"), e.selectionReport());
            assertTrue(e.selectionReport().contains(probe.reason()), e.selectionReport());
        }
    }
}
