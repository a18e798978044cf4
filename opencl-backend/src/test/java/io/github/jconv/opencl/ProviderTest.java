package io.github.jconv.opencl;

import io.github.jconv.ConvEngine;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ProviderTest {
    @Test
    void theProviderIsFoundByServiceLoaderAsOpenclWithPriority200() {
        ConvBackendProvider p = ConvEngine.providers().stream().filter(x -> x instanceof OpenClBackendProvider).findFirst().orElseThrow();
        assertEquals("opencl", p.name());
        assertEquals(200, p.priority());
    }

    @Test
    void aMissingOpenClLibraryGivesAReasonAndTheInstallCommandInsteadOfThrowing() {
        OpenClBackendProvider p = new OpenClBackendProvider(() -> {
            throw new UnsatisfiedLinkError("libOpenCL.so.1: cannot open shared object file");
        });
        ProbeResult r = p.probe();
        assertFalse(r.available());
        assertTrue(r.reason().contains("libOpenCL.so.1"), r.reason());
        assertTrue(r.fix().contains("apt-get install -y --no-install-recommends pocl-opencl-icd ocl-icd-libopencl1"), r.fix());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.open(0));
        assertTrue(e.getMessage().contains("pocl-opencl-icd"), e.getMessage());
    }

    @Test
    void noPlatformGivesAReasonInsteadOfAnEmptyDeviceList() {
        ProbeResult r = new OpenClBackendProvider(List::of).probe();
        assertFalse(r.available());
        assertTrue(r.reason().contains("no OpenCL platform"), r.reason());
        assertTrue(r.fix().contains("ocl-icd-libopencl1"), r.fix());
    }

    @Test
    void aDriverErrorDuringDiscoveryIsReportedNotThrown() {
        ProbeResult r = new OpenClBackendProvider(() -> {
            throw new org.jocl.CLException("CL_PLATFORM_NOT_FOUND_KHR");
        }).probe();
        assertFalse(r.available());
        assertTrue(r.reason().contains("CL_PLATFORM_NOT_FOUND_KHR"), r.reason());
    }

    @Test
    void withNoDriverRegisteredTheRealProbeExplainsAndNamesTheFix(@org.junit.jupiter.api.io.TempDir java.nio.file.Path emptyVendors)
            throws Exception {
        assumeTrue(new OpenClBackendProvider().probe().available(), "needs the ICD loader this test hides the drivers from");
        ProcessBuilder pb = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ProbeMain.class.getName());
        // The ICD loader reads drivers from OCL_ICD_VENDORS instead of /etc/OpenCL/vendors: an empty one has none.
        pb.environment().put("OCL_ICD_VENDORS", emptyVendors.toString());
        Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), "the probe did not throw or crash; output: " + out);
        String[] parts = out.split("\\|", 3);
        assertEquals("false", parts[0], out);
        assertTrue(parts[1].contains("no OpenCL platform"), out);
        assertTrue(parts[2].contains("pocl-opencl-icd ocl-icd-libopencl1"), out);
    }

    @Test
    void theRealProbeDescribesEachDeviceWithItsDriverAndFp64Support() {
        ProbeResult r = new OpenClBackendProvider().probe();
        assumeTrue(r.available(), () -> "no OpenCL device: " + r.reason());
        DeviceInfo d = r.devices().get(0);
        assertEquals(0, d.index());
        assertFalse(d.name().isBlank());
        assertTrue(d.memoryBytes() > 0 && d.computeUnits() > 0, d.toString());
        for (String key : List.of("platform", "driverVersion", "deviceVersion", "fp64", "maxAllocBytes", "maxWorkGroupSize")) {
            assertTrue(d.properties().containsKey(key), "property " + key + " in " + d.properties());
        }
    }

    @Test
    void aDeviceIndexBeyondTheProbeIsRefusedWithTheValidRange() {
        OpenClBackendProvider p = new OpenClBackendProvider();
        ProbeResult r = p.probe();
        assumeTrue(r.available(), () -> "no OpenCL device: " + r.reason());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.open(r.devices().size()));
        assertTrue(e.getMessage().contains("deviceIndex = " + r.devices().size()), e.getMessage());
    }
}
