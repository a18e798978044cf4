package io.github.jconv.cuda;

import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bridge reads JCuda's private address fields; JCuda's own toString prints the same fields, so
 * it is an independent witness that the bridge reads the right ones (no driver needed: a
 * CUdeviceptr is a plain Java object until a driver call fills it).
 */
class DeviceAddressTest {
    static long[] fromToString(CUdeviceptr p) {
        Matcher m = Pattern.compile("nativePointer=0x([0-9a-fA-F]+),byteOffset=(\\d+)").matcher(p.toString());
        assertTrue(m.find(), "JCuda's toString changed: " + p);
        return new long[]{Long.parseUnsignedLong(m.group(1), 16), Long.parseLong(m.group(2))};
    }

    @Test
    void anOffsetPointersAddressIsItsBaseAddressPlusItsByteOffset() {
        CUdeviceptr base = new CUdeviceptr();
        CUdeviceptr at = base.withByteOffset(4096).withByteOffset(256);
        long[] seen = fromToString(at);
        assertEquals(4352, seen[1]);
        assertEquals(seen[0] + seen[1], DeviceAddress.of(at));
        assertEquals(fromToString(base)[0], DeviceAddress.of(base));
    }

    @Test
    void aRawAddressBecomesAJavacppPointerAtThatAddressThatOwnsNothing() {
        long tracked = org.bytedeco.javacpp.Pointer.totalBytes();
        org.bytedeco.javacpp.Pointer p = DeviceAddress.javacpp(0x7f0012345600L);
        assertEquals(0x7f0012345600L, p.address());
        assertEquals(0, p.position());
        assertEquals(tracked, org.bytedeco.javacpp.Pointer.totalBytes(), "JavaCPP tracks no allocation for it");
        p.close(); // no deallocator: closing frees nothing, so the device memory it names is untouched
        assertEquals(tracked, org.bytedeco.javacpp.Pointer.totalBytes());
    }
}
