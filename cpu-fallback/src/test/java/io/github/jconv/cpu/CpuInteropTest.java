package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The caller's memory as jconv buffers on the cpu backend, jconv's buffers as the caller's memory,
 * and the caching allocator. The problem throughout is a 1×1 convolution, one channel in and out,
 * weight 2 and bias 1, so by hand y[i] = 2·x[i] + 1.
 */
class CpuInteropTest {
    private static final ConvSpec SPEC = ConvSpec.convolution().batch(1).channels(1, 1).input(2, 2).kernel(1, 1).bias(true).build();
    private static final Shape X = SPEC.inputShape(); // [1, 1, 2, 2]

    private static ConvEngine engine() {
        return ConvEngine.wrap(new CpuBackendProvider(2).open(0));
    }

    @Test
    void anExactArrayIsUsedInPlaceAndWrittenBetweenCalls() {
        try (ConvEngine e = engine();
             DeviceBuffer w = e.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = e.upload(new float[] {1}, SPEC.biasShape())) {
            float[] x = {1, 2, 3, 4};
            float[] y = new float[4];
            try (DeviceBuffer xb = e.wrap(x, 0, X); DeviceBuffer yb = e.wrap(y, 0, SPEC.outputShape())) {
                e.execute(io.github.jconv.Pass.FORWARD, SPEC, io.github.jconv.ConvArgs.builder().x(xb).w(w).b(b).y(yb).build());
                assertArrayEquals(new float[] {3, 5, 7, 9}, y); // 2x + 1, in the caller's array, no download
                x[2] = -1; // the caller writes its own memory between two calls
                e.execute(io.github.jconv.Pass.FORWARD, SPEC, io.github.jconv.ConvArgs.builder().x(xb).w(w).b(b).y(yb).build());
                assertArrayEquals(new float[] {3, 5, -1, 9}, y);
                assertSame(x, ((FloatBuffer) e.nativeHandle(xb)).array()); // in place: no copy
            }
            assertArrayEquals(new float[] {1, 2, -1, 4}, x); // closing never clears or frees the caller's memory
        }
    }

    @Test
    void anOffsetIntoALongerArrayIsStagedAndTouchesOnlyItsRange() {
        try (ConvEngine e = engine();
             DeviceBuffer w = e.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = e.upload(new float[] {1}, SPEC.biasShape())) {
            float[] mem = {9, 9, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9};
            try (DeviceBuffer xb = e.wrap(mem, 2, X); DeviceBuffer yb = e.wrap(mem, 7, SPEC.outputShape())) {
                try (DeviceBuffer y = e.forward(SPEC, xb, w, b)) {
                    assertArrayEquals(new float[] {3, 5, 7, 9}, e.downloadFloats(y));
                }
                e.execute(io.github.jconv.Pass.FORWARD, SPEC, io.github.jconv.ConvArgs.builder().x(xb).w(w).b(b).y(yb).build());
                assertArrayEquals(new float[] {9, 9, 1, 2, 3, 4, 9, 3, 5, 7, 9, 9, 9}, mem);
                e.upload(xb, 1, new float[] {10}, 0, 1); // a transfer writes the caller's memory directly
                assertEquals(10, mem[3]);
                assertArrayEquals(new float[] {1, 10, 3, 4}, e.downloadFloats(xb));
            }
        }
    }

    @Test
    void aDirectFloatBufferWorksToo() {
        try (ConvEngine e = engine();
             DeviceBuffer w = e.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = e.upload(new float[] {1}, SPEC.biasShape())) {
            FloatBuffer fb = ByteBuffer.allocateDirect(4 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            fb.put(new float[] {0, -1, 0.5f, 4}).flip();
            try (DeviceBuffer xb = e.wrap(fb, X); DeviceBuffer y = e.forward(SPEC, xb, w, b)) {
                assertArrayEquals(new float[] {1, -1, 2, 9}, e.downloadFloats(y));
            }
        }
    }

    @Test
    void wrongSizesKindsAndDtypesAreRefusedNamingTheRule() {
        try (ConvEngine e = engine()) {
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> e.wrap(new float[5], 2, X));
            assertTrue(small.getMessage().contains("3 floats") && small.getMessage().contains("at least 4"), small.getMessage());
            assertThrows(IllegalArgumentException.class, () -> e.wrap(new float[4], 5, X));
            assertThrows(IllegalArgumentException.class, () -> e.wrap(new float[4], -1, X));
            assertThrows(IllegalArgumentException.class, () -> e.wrap(DType.FP64, X, ExternalMemory.floats(new float[4], 0)));
            assertThrows(IllegalArgumentException.class, () -> e.wrap(DType.FP32, X, ExternalMemory.cudaPointer(0x1000L)));
            assertThrows(IllegalArgumentException.class, () -> e.wrap(FloatBuffer.wrap(new float[4]).asReadOnlyBuffer(), X));
            assertNull(e.nativeQueue()); // synchronous: every call has finished when it returns
            try (DeviceBuffer b = e.allocate(DType.FP32, X)) {
                assertThrows(UnsupportedOperationException.class, () -> e.nativeAddress(b)); // heap memory has no device address
            }
        }
    }

    @Test
    void jconvsOwnBufferIsWritableThroughItsHandle() {
        try (ConvEngine e = engine();
             DeviceBuffer w = e.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = e.upload(new float[] {1}, SPEC.biasShape());
             DeviceBuffer x = e.allocate(DType.FP32, X)) {
            FloatBuffer h = (FloatBuffer) e.nativeHandle(x);
            h.put(0, 5).put(3, -2); // the caller's "kernel" writes jconv's buffer
            try (DeviceBuffer y = e.forward(SPEC, x, w, b)) {
                assertArrayEquals(new float[] {11, 1, 1, -3}, e.downloadFloats(y));
            }
        }
    }

    @Test
    void aRepeatedStepReusesArraysAndAReusedArrayReadsZero() {
        try (ConvEngine e = engine();
             DeviceBuffer w = e.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = e.upload(new float[] {1}, SPEC.biasShape())) {
            for (int step = 0; step < 4; step++) {
                try (DeviceBuffer x = e.upload(new float[] {1, 1, 1, 1}, X); DeviceBuffer y = e.forward(SPEC, x, w, b)) {
                    assertArrayEquals(new float[] {3, 3, 3, 3}, e.downloadFloats(y));
                }
                if (step == 0) e.resetPeakMemory();
            }
            MemoryStats s = e.memoryStats();
            // by hand: w [1,1,1,1] and b [1] are one float each (4 bytes, both live: 2 arrays); step 1 makes x and y
            // (16 bytes each, both live: 2 arrays); steps 2..4 take both from the cache: 6 hits, no new array
            assertEquals(4, s.deviceAllocations(), s.toString());
            assertEquals(6, s.cacheHits(), s.toString());
            try (DeviceBuffer again = e.allocate(DType.FP32, X)) {
                assertArrayEquals(new float[4], e.downloadFloats(again)); // it held y = 3s: zeroed on reuse
            }
            assertTrue(e.emptyCache() > 0);
        }
    }
}
