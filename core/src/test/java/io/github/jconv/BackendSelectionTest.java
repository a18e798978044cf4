package io.github.jconv;

import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ranking rule (12.1) and lazy probing (12.2), with fake providers that count their probes. */
class BackendSelectionTest {
    private static DeviceInfo device(String type) {
        return new DeviceInfo(0, "d", type, 0, 1, Map.of());
    }

    @Test
    void aCpuDeviceOfANativeBackendRanksBelowThePureJavaBackend() {
        // the rule, by hand: opencl on a CPU device = 200 - 1000 = -800 < cpu's 100
        int openclOnCpu = BackendSelection.rank("opencl", 200, device("CPU"));
        int pureJava = BackendSelection.rank("cpu", 100, device("CPU"));
        assertEquals(-800, openclOnCpu);
        assertEquals(100, pureJava);
        assertTrue(openclOnCpu < pureJava);
        // a GPU (OpenCL "GPU", cuda "gpu") or an accelerator keeps its static priority, above cpu
        assertEquals(200, BackendSelection.rank("opencl", 200, device("GPU")));
        assertEquals(200, BackendSelection.rank("opencl", 200, device("ACCELERATOR")));
        assertEquals(300, BackendSelection.rank("cuda", 300, device("gpu")));
        // case does not matter; an unknown kind or no device keeps the priority
        assertEquals(-700, BackendSelection.rank("cuda", 300, device("cpu")));
        assertEquals(200, BackendSelection.rank("opencl", 200, device("OTHER")));
        assertEquals(200, BackendSelection.rank("opencl", 200, null));
        assertTrue(BackendSelection.isCpuKind(" cpu "));
        assertFalse(BackendSelection.isCpuKind("GPU"));
        assertFalse(BackendSelection.isCpuKind(null));
    }

    @Test
    void withNothingNamedACpuOnlyOpenclLosesToCpuAndTheReportSaysWhy() {
        FakeProvider cuda = new FakeProvider("cuda", 300, false);
        FakeProvider opencl = new FakeProvider("opencl", 200, true, "CPU");
        FakeProvider cpu = new FakeProvider("cpu", 100, true, "CPU");
        try (ConvEngine e = ConvEngine.open(List.of(cpu, opencl, cuda), EngineOptions.defaults())) {
            assertEquals("cpu", e.backendName());
            String r = e.selectionReport();
            assertTrue(r.contains("opencl rank -800") && r.contains("is a CPU, where the pure-Java backend cpu is faster"), r);
            assertTrue(r.contains("cuda unavailable (no cuda here)"), r);
        }
        assertEquals(1, cuda.probes.get());
        assertEquals(1, opencl.probes.get());
        assertEquals(1, cpu.probes.get());
    }

    @Test
    void withNothingNamedAGpuOpenclWinsAndCpuIsNeverProbed() {
        FakeProvider cuda = new FakeProvider("cuda", 300, false);
        FakeProvider opencl = new FakeProvider("opencl", 200, true, "GPU");
        FakeProvider cpu = new FakeProvider("cpu", 100, true, "CPU");
        try (ConvEngine e = ConvEngine.open(List.of(cpu, opencl, cuda), EngineOptions.defaults())) {
            assertEquals("opencl", e.backendName());
            assertTrue(e.selectionReport().contains("not probed (cannot outrank it): cpu"), e.selectionReport());
        }
        assertEquals(1, cuda.probes.get());
        assertEquals(1, opencl.probes.get());
        assertEquals(0, cpu.probes.get(), "cpu cannot outrank a GPU opencl: no probe needed");
    }

    @Test
    void aUsableCudaStopsTheSearchAtOnce() {
        FakeProvider cuda = new FakeProvider("cuda", 300, true, "gpu");
        FakeProvider opencl = new FakeProvider("opencl", 200, true, "GPU");
        FakeProvider cpu = new FakeProvider("cpu", 100, true, "CPU");
        try (ConvEngine e = ConvEngine.open(List.of(cpu, opencl, cuda), EngineOptions.defaults())) {
            assertEquals("cuda", e.backendName());
        }
        assertEquals(0, opencl.probes.get());
        assertEquals(0, cpu.probes.get());
    }

    @Test
    void aNamedBackendProbesOnlyItsOwnProvider() {
        FakeProvider cuda = new FakeProvider("cuda", 300, true, "gpu");
        FakeProvider opencl = new FakeProvider("opencl", 200, true, "CPU");
        FakeProvider cpu = new FakeProvider("cpu", 100, true, "CPU");
        try (ConvEngine e = ConvEngine.open(List.of(cpu, opencl, cuda), EngineOptions.backend("cpu", FallbackPolicy.WARN))) {
            assertEquals("cpu", e.backendName());
        }
        assertEquals(0, cuda.probes.get(), "-Djconv.backend=cpu must not load cuda's natives");
        assertEquals(0, opencl.probes.get(), "-Djconv.backend=cpu must not load OpenCL's natives (PoCL's LLVM)");
        assertEquals(1, cpu.probes.get());
        // an explicitly named CPU-only opencl is honoured: the rank only orders the default choice
        try (ConvEngine e = ConvEngine.open(List.of(cpu, opencl, cuda), EngineOptions.backend("opencl", FallbackPolicy.FAIL))) {
            assertEquals("opencl", e.backendName());
        }
        assertEquals(1, cpu.probes.get(), "only the first open probed cpu");
        assertEquals(1, opencl.probes.get());
    }

    @Test
    void anUnavailableNamedBackendProbesTheOthersOnlyToFallBackOrSuggest() {
        FakeProvider cuda = new FakeProvider("cuda", 300, false);
        FakeProvider opencl = new FakeProvider("opencl", 200, false);
        FakeProvider cpu = new FakeProvider("cpu", 100, true, "CPU");
        List<ConvBackendProvider> all = List.of(cpu, opencl, cuda);
        IllegalStateException fail = assertThrows(IllegalStateException.class,
                () -> ConvEngine.open(all, EngineOptions.backend("cuda", FallbackPolicy.FAIL)));
        // 12.6: the suggestion names only a backend whose probe said it is available
        assertTrue(fail.getMessage().contains("available instead: cpu (use it with -Djconv.backend=cpu"), fail.getMessage());
        assertFalse(fail.getMessage().contains("jconv.backend=opencl"), fail.getMessage());
        try (ConvEngine e = ConvEngine.open(all, EngineOptions.backend("cuda", FallbackPolicy.ALLOW))) {
            assertEquals("cpu", e.backendName());
            assertTrue(e.selectionReport().contains("fell back to cpu"), e.selectionReport());
        }
    }

    @Test
    void aCpuOnlyOpenclIsStillUsedWhenNothingElseIs() {
        FakeProvider opencl = new FakeProvider("opencl", 200, true, "CPU");
        try (ConvEngine e = ConvEngine.open(List.of(opencl), EngineOptions.defaults())) {
            assertEquals("opencl", e.backendName());
        }
    }

    @Test
    void theRankedDeviceIsTheOneThatWouldOpen() {
        // a provider whose device 0 is a GPU and device 1 a CPU: with jconv.device=1 its CPU device is ranked
        ConvBackendProvider mixed = new FakeProvider("opencl", 200, true) {
            @Override
            public io.github.jconv.spi.ProbeResult probe() {
                return io.github.jconv.spi.ProbeResult.available(name, List.of(
                        new DeviceInfo(0, "gpu0", "GPU", 0, 1, Map.of()), new DeviceInfo(1, "pocl", "CPU", 0, 1, Map.of())));
            }
        };
        FakeProvider cpu = new FakeProvider("cpu", 100, true, "CPU");
        BackendSelection.Decision d0 = BackendSelection.choose(List.of(mixed, cpu), EngineOptions.defaults(), ConvEngine::probe);
        assertEquals("opencl", d0.chosen().provider().name());
        BackendSelection.Decision d1 = BackendSelection.choose(List.of(mixed, cpu), new EngineOptions(null, FallbackPolicy.WARN, 1),
                ConvEngine::probe);
        assertEquals("cpu", d1.chosen().provider().name());
    }
}
