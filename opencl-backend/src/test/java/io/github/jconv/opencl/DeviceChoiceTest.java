package io.github.jconv.opencl;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceChoiceTest {
    private static final DeviceChoice.Facts POCL = new DeviceChoice.Facts(0, "Portable Computing Language", "pthread-skylake", "CPU", 16, 2400);
    private static final DeviceChoice.Facts SMALL_GPU = new DeviceChoice.Facts(1, "NVIDIA CUDA", "NVIDIA T400", "GPU", 6, 1400);
    private static final DeviceChoice.Facts BIG_GPU = new DeviceChoice.Facts(2, "NVIDIA CUDA", "NVIDIA H100 80GB HBM3", "GPU", 132, 1980);
    private static final List<DeviceChoice.Facts> ALL = List.of(POCL, SMALL_GPU, BIG_GPU);

    @Test
    void byDefaultTheFastestGpuComesFirstAndCpusLast() {
        assertEquals(List.of(BIG_GPU, SMALL_GPU, POCL), DeviceChoice.order(ALL, null, null));
    }

    @Test
    void withoutAGpuTheCpuIsOffered() {
        assertEquals(List.of(POCL), DeviceChoice.order(List.of(POCL), "", ""));
    }

    @Test
    void aTypeKeepsOnlyDevicesOfThatType() {
        assertEquals(List.of(POCL), DeviceChoice.order(ALL, null, "cpu"));
        assertEquals(List.of(BIG_GPU, SMALL_GPU), DeviceChoice.order(ALL, null, "GPU"));
    }

    @Test
    void aNumberPicksThatEnumerationIndex() {
        assertEquals(List.of(SMALL_GPU), DeviceChoice.order(ALL, "1", null));
    }

    @Test
    void aNameSubstringMatchesDeviceOrPlatformIgnoringCase() {
        assertEquals(List.of(BIG_GPU), DeviceChoice.order(ALL, "h100", null));
        assertEquals(List.of(POCL), DeviceChoice.order(ALL, "portable", null));
    }

    @Test
    void aChoiceThatMatchesNothingNamesThePropertyAndTheDevicesFound() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.order(ALL, "mi300", null));
        assertTrue(e.getMessage().contains("jconv.opencl.device = mi300") && e.getMessage().contains("NVIDIA T400"), e.getMessage());
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.order(List.of(POCL), null, "gpu"));
        assertTrue(t.getMessage().contains("jconv.opencl.type = gpu") && t.getMessage().contains("pthread-skylake"), t.getMessage());
        IllegalArgumentException u = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.order(ALL, null, "fpga"));
        assertTrue(u.getMessage().contains("gpu, cpu, accelerator or all"), u.getMessage());
    }
}
