package io.github.jconv.layer;

import io.github.jconv.ConvEngine;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The engine's interop and allocator calls on a backend that implements none of them: clear refusals and neutral answers. */
class InteropEngineTest {
    @Test
    void aBackendWithoutInteropRefusesClearlyAndReportsNoAllocator() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvEngine other = ConvEngine.wrap(new MemoryBackend());
             DeviceBuffer b = e.allocate(DType.FP32, Shape.of(4));
             DeviceBuffer foreign = other.allocate(DType.FP32, Shape.of(4))) {
            UnsupportedOperationException w = assertThrows(UnsupportedOperationException.class, () -> e.wrap(new float[4], 0, Shape.of(4)));
            assertTrue(w.getMessage().contains("does not wrap caller memory"), w.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> e.nativeHandle(b));
            assertThrows(UnsupportedOperationException.class, () -> e.setMemoryLimit(1 << 20));
            assertEquals(MemoryStats.NONE, e.memoryStats());
            assertEquals(0, e.emptyCache());
            assertNull(e.nativeQueue());
            assertNull(e.nativeContext());
            // another engine's buffer and null arguments are refused before the backend is asked
            IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> e.nativeHandle(foreign));
            assertTrue(f.getMessage().contains("another engine"), f.getMessage());
            assertThrows(IllegalArgumentException.class, () -> e.wrap(null, Shape.of(4), ExternalMemory.floats(new float[4], 0)));
            assertThrows(IllegalArgumentException.class, () -> e.wrap(DType.FP32, null, ExternalMemory.floats(new float[4], 0)));
            assertThrows(IllegalArgumentException.class, () -> e.wrap(DType.FP32, Shape.of(4), null));
            // a shape with no elements needs no memory: an engine-side empty buffer, whatever the backend
            try (DeviceBuffer empty = e.wrap(new float[0], 0, Shape.of(0, 4))) {
                assertEquals(0, empty.elementCount());
                assertThrows(IllegalArgumentException.class, () -> e.nativeHandle(empty));
            }
        }
    }

    @Test
    void externalMemoryChecksItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> ExternalMemory.floats((float[]) null, 0));
        assertThrows(IllegalArgumentException.class, () -> ExternalMemory.floats(new float[3], 4));
        assertThrows(IllegalArgumentException.class, () -> ExternalMemory.clMem(null));
        assertThrows(IllegalArgumentException.class, () -> ExternalMemory.cudaPointer(0L));
        assertThrows(IllegalArgumentException.class, () -> ExternalMemory.cudaPointer((Object) null));
        // an offset view starts at the offset: element 0 of the wrapped range is array[2]
        float[] a = {0, 1, 2, 3, 4};
        ExternalMemory m = ExternalMemory.floats(a, 2);
        assertEquals(3, m.floats().capacity());
        assertEquals(2f, m.floats().get(0));
        assertEquals(ExternalMemory.Kind.HOST_FLOATS, m.kind());
    }
}
