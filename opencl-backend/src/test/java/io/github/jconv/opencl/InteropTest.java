package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.jocl.CL.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Interop on OpenCL: cl_mems the test makes with JOCL in the engine's context, written with the
 * test's own clEnqueueWriteBuffer on the engine's queue between two jconv calls; jconv's own
 * buffers read and written through their cl_mem; the caching allocator. The problem is a 1×1
 * convolution, one channel, weight 2 and bias 1: by hand y[i] = 2·x[i] + 1.
 */
class InteropTest {
    private static final ConvSpec SPEC = ConvSpec.convolution().batch(1).channels(1, 1).input(2, 2).kernel(1, 1).bias(true).build();
    private static ConvEngine engine;

    @BeforeAll
    static void open() {
        engine = ConvEngine.wrap(OpenClTestSupport.openOrSkip());
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    private static cl_mem makeMem(long bytes) {
        return clCreateBuffer((cl_context) engine.nativeContext(), CL_MEM_READ_WRITE, bytes, null, null);
    }

    private static void write(cl_mem m, float[] v) {
        clEnqueueWriteBuffer((cl_command_queue) engine.nativeQueue(), m, CL_TRUE, 0, 4L * v.length, Pointer.to(v), 0, null, null);
    }

    private static float[] read(cl_mem m, int n) {
        float[] out = new float[n];
        clEnqueueReadBuffer((cl_command_queue) engine.nativeQueue(), m, CL_TRUE, 0, 4L * n, Pointer.to(out), 0, null, null);
        return out;
    }

    @Test
    void theCallersClMemIsUsedInPlaceAndItsOwnWritesBetweenCallsAreSeen() {
        cl_mem xm = makeMem(16);
        cl_mem ym = makeMem(64); // larger than needed: allowed
        try (DeviceBuffer w = engine.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = engine.upload(new float[] {1}, SPEC.biasShape());
             DeviceBuffer x = engine.wrap(DType.FP32, SPEC.inputShape(), ExternalMemory.clMem(xm));
             DeviceBuffer y = engine.wrap(DType.FP32, SPEC.outputShape(), ExternalMemory.clMem(ym))) {
            write(xm, new float[] {1, 2, 3, 4});
            engine.execute(Pass.FORWARD, SPEC, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
            // the test's own read on the same in-order queue runs after jconv's kernel
            assertArrayEquals(new float[] {3, 5, 7, 9}, read(ym, 4));
            write(xm, new float[] {0, -1, 10, 0.5f}); // the caller's own write between two jconv calls
            engine.execute(Pass.FORWARD, SPEC, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
            assertArrayEquals(new float[] {1, -1, 21, 2}, engine.downloadFloats(y));
            assertSame(xm, engine.nativeHandle(x));
        } finally {
            // jconv released nothing: the cl_mems are still valid, and the test releases them
            assertEquals(1, refCount(xm));
            clReleaseMemObject(xm);
            clReleaseMemObject(ym);
        }
    }

    private static int refCount(cl_mem m) {
        int[] v = new int[1];
        clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    @Test
    void jconvsOwnBufferIsReadAndWrittenThroughItsClMem() {
        try (DeviceBuffer w = engine.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = engine.upload(new float[] {1}, SPEC.biasShape());
             DeviceBuffer x = engine.allocate(DType.FP32, SPEC.inputShape())) {
            write((cl_mem) engine.nativeHandle(x), new float[] {4, 3, 2, 1});
            try (DeviceBuffer y = engine.forward(SPEC, x, w, b)) {
                assertArrayEquals(new float[] {9, 7, 5, 3}, read((cl_mem) engine.nativeHandle(y), 4));
            }
        }
    }

    @Test
    void aClMemTooSmallOfAnotherContextOrOfAnotherKindIsRefused() {
        cl_mem small = makeMem(12);
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.wrap(DType.FP32, SPEC.inputShape(), ExternalMemory.clMem(small)));
            assertTrue(e.getMessage().contains("12 bytes") && e.getMessage().contains("at least 16"), e.getMessage());
        } finally {
            clReleaseMemObject(small);
        }
        try (io.github.jconv.spi.ConvBackend other = OpenClTestSupport.openOrSkip()) {
            cl_mem foreign = clCreateBuffer((cl_context) other.nativeContext(), CL_MEM_READ_WRITE, 16, null, null);
            try {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> engine.wrap(DType.FP32, SPEC.inputShape(), ExternalMemory.clMem(foreign)));
                assertTrue(e.getMessage().contains("context"), e.getMessage());
            } finally {
                clReleaseMemObject(foreign);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> engine.wrap(DType.FP32, SPEC.inputShape(), ExternalMemory.floats(new float[4], 0)));
        assertThrows(IllegalArgumentException.class, () -> engine.wrap(DType.FP32, SPEC.inputShape(), ExternalMemory.clMem("not a cl_mem")));
    }

    @Test
    void aRepeatedShapeReusesTheClMemAndReadsZero() {
        Shape s = Shape.of(1000);
        DeviceBuffer first = engine.allocate(DType.FP32, s);
        float[] ones = new float[1000];
        java.util.Arrays.fill(ones, 1f);
        engine.upload(first, 0, ones, 0, 1000);
        Object mem = engine.nativeHandle(first);
        first.close();
        MemoryStats before = engine.memoryStats();
        try (DeviceBuffer again = engine.allocate(DType.FP32, Shape.of(999))) { // 3996 bytes: the class of 4000 (4096)
            assertSame(mem, engine.nativeHandle(again));
            assertArrayEquals(new float[999], engine.downloadFloats(again)); // zeroed on reuse
        }
        MemoryStats after = engine.memoryStats();
        assertEquals(before.deviceAllocations(), after.deviceAllocations());
        assertEquals(before.cacheHits() + 1, after.cacheHits());
    }
}
