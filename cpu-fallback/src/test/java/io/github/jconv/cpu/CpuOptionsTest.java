package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two CPU engines of one JVM with different settings, and no system property set. */
class CpuOptionsTest {
    private static EngineOptions.Builder cpu() {
        return EngineOptions.builder().backend("cpu").fallback(FallbackPolicy.FAIL);
    }

    @Test
    void twoEnginesOpenWithTheirOwnThreadCounts() {
        try (ConvEngine two = ConvEngine.open(cpu().set(CpuBackendProvider.THREADS_PROPERTY, "2").build());
             ConvEngine three = ConvEngine.open(cpu().backendOptions(new CpuOptions(3)).build())) {
            assertEquals(2, ((CpuBackend) two.backend()).threads());
            assertEquals(3, ((CpuBackend) three.backend()).threads());
        }
        assertNull(System.getProperty(CpuBackendProvider.THREADS_PROPERTY), "nothing was set globally");
    }

    @Test
    void typedOptionsWinOverTheStringSettingAndTheProvidersCount() {
        EngineOptions o = cpu().set(CpuBackendProvider.THREADS_PROPERTY, "2").backendOptions(new CpuOptions(4)).build();
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(1), 0, o)) {
            assertEquals(4, ((CpuBackend) e.backend()).threads());
        }
        // no setting: the provider's own count
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(1), 0, cpu().build())) {
            assertEquals(1, ((CpuBackend) e.backend()).threads());
        }
    }

    @Test
    void aBadSettingIsRefusedWithItsNameBeforeTheSessionOpens() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvEngine.open(cpu().set(CpuBackendProvider.THREADS_PROPERTY, "many").build()));
        assertTrue(e.getMessage().contains("jconv.cpu.threads = many"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CpuOptions(-1));
        assertThrows(IllegalArgumentException.class, () -> new CpuOptions(CpuBackendProvider.MAX_THREADS + 1));
    }

    @Test
    void theMemoryLimitComesFromTheSessionsOptions() {
        // a limit of 1000 bytes: 64 FP32 values (256 bytes; the CPU allocator uses exact sizes) fit, 1024 values (4096 bytes) do not
        EngineOptions o = cpu().set("jconv.memoryLimitBytes", "1000").build();
        try (ConvEngine limited = ConvEngine.open(o); ConvEngine free = ConvEngine.open(cpu().build())) {
            limited.allocate(io.github.jconv.DType.FP32, io.github.jconv.Shape.of(64)).close();
            assertThrows(IllegalStateException.class, () -> limited.allocate(io.github.jconv.DType.FP32, io.github.jconv.Shape.of(1024)));
            free.allocate(io.github.jconv.DType.FP32, io.github.jconv.Shape.of(1024)).close();
        }
    }
}
