package io.github.jconv.opencl;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Issue 18 item 16: buffers dropped without close while the Java heap is quiet. The child JVM gives
 * the session a device budget of 64 MiB (PoCL itself never refuses an allocation beyond the memory it
 * reports, so the budget stands in for a full device) and allocates 1000 buffers of 1 MiB without
 * closing any: a refused allocation must collect the unreachable ones and retry.
 */
class MemoryPressureTest {
    @TempDir
    Path cache;

    @Test
    void buffersDroppedWithoutCloseAreReclaimedWhenTheDeviceRefusesAnAllocation() throws Exception {
        assumeTrue(new OpenClBackendProvider().probe().available(), "no OpenCL device");
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        // -Xmx256m: 1000 small ClBuffer objects never make the heap collect on its own.
        Process p = new ProcessBuilder(javaBin.toString(), "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "-D" + ProgramCache.CACHE_DIR_PROPERTY + "=" + cache, PressureMain.class.getName(), "1000", "64")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        assertTrue(out.startsWith("ok "), "every allocation succeeded: " + out);
        // 1000 MiB through a 64 MiB budget: at least 1000 - 64 buffers were reclaimed by the collector.
        assertTrue(Long.parseLong(out.substring(3).trim()) >= 1000 - 64, out);
    }
}
