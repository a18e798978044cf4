package io.github.jconv.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A raw device address the caller wraps becomes a CUdeviceptr at that address (no GPU needed). */
class DeviceAddressWrapTest {
    @Test
    void aRawAddressRoundTripsThroughAJcudaPointer() {
        long a = 0x7f00_1234_5600L;
        jcuda.driver.CUdeviceptr p = DeviceAddress.deviceptr(a);
        assertEquals(a, DeviceAddress.of(p));
        // JCuda's own rendering names the same address
        assertTrue(p.toString().toLowerCase().contains(Long.toHexString(a)), p.toString());
        assertEquals(a + 64, DeviceAddress.of(p.withByteOffset(64)));
    }
}
