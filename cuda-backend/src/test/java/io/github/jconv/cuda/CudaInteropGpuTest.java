package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import io.github.jconv.spi.ProbeResult;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a GPU: memory from JCuda's own cuMemAlloc wrapped as jconv buffers, a ReLU kernel of the test's
 * own (hand-written PTX) launched on jconv's stream between two jconv calls, and the caching
 * allocator's reuse. Skips without CUDA. Problem: 1×1 convolution, one channel, weight 2, bias 1,
 * so by hand conv(x) = 2x + 1; x = {1, -2, 3, -4} gives {3, -3, 7, -7}; ReLU gives {3, 0, 7, 0};
 * the second conv gives {7, 1, 15, 1}.
 */
class CudaInteropGpuTest {
    static final String RELU_PTX = String.join("\n",
            ".version 7.0", ".target sm_52", ".address_size 64",
            ".visible .entry relu(.param .u64 p, .param .u32 n)", "{",
            "  .reg .pred %p<2>;", "  .reg .b32 %r<6>;", "  .reg .f32 %f<3>;", "  .reg .b64 %rd<5>;",
            "  ld.param.u64 %rd1, [p];", "  ld.param.u32 %r1, [n];",
            "  mov.u32 %r2, %ctaid.x;", "  mov.u32 %r3, %ntid.x;", "  mov.u32 %r4, %tid.x;",
            "  mad.lo.s32 %r5, %r2, %r3, %r4;", "  setp.ge.u32 %p1, %r5, %r1;", "  @%p1 bra DONE;",
            "  cvta.to.global.u64 %rd2, %rd1;", "  mul.wide.u32 %rd3, %r5, 4;", "  add.s64 %rd4, %rd2, %rd3;",
            "  ld.global.f32 %f1, [%rd4];", "  max.f32 %f2, %f1, 0f00000000;", "  st.global.f32 [%rd4], %f2;",
            "DONE:", "  ret;", "}", "");
    static final ConvSpec SPEC = ConvSpec.convolution().batch(1).channels(1, 1).input(2, 2).kernel(1, 1).bias(true).build();

    private static ProbeResult probe;
    private static ConvEngine engine;

    @BeforeAll
    static void open() {
        probe = new CudaBackendProvider().probe();
        if (probe.available()) engine = ConvEngine.wrap(new CudaBackendProvider().open(0, CudaOptions.defaults()));
    }

    @BeforeEach
    void needsAGpu() {
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    /** The caller's ReLU, in place on {@code n} floats at {@code p}, launched on {@code stream}. */
    static void relu(CUdeviceptr p, int n, CUstream stream) {
        byte[] ptx = (RELU_PTX + "\0").getBytes(StandardCharsets.US_ASCII);
        CUmodule m = new CUmodule();
        assertEquals(0, JCudaDriver.cuModuleLoadData(m, ptx));
        CUfunction f = new CUfunction();
        assertEquals(0, JCudaDriver.cuModuleGetFunction(f, m, "relu"));
        Pointer params = Pointer.to(Pointer.to(p), Pointer.to(new int[] {n}));
        assertEquals(0, JCudaDriver.cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream, params, null));
    }

    @Test
    void jcudaMemoryAndTheCallersKernelBetweenTwoCalls() {
        JCudaDriver.cuCtxSetCurrent((CUcontext) engine.nativeContext());
        CUstream stream = (CUstream) engine.nativeQueue();
        CUdeviceptr out = new CUdeviceptr();
        assertEquals(0, JCudaDriver.cuMemAlloc(out, 4L * Sizeof.FLOAT));
        try (DeviceBuffer w = engine.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = engine.upload(new float[] {1}, SPEC.biasShape());
             DeviceBuffer x = engine.upload(new float[] {1, -2, 3, -4}, SPEC.inputShape());
             DeviceBuffer y2 = engine.wrap(DType.FP32, SPEC.outputShape(), ExternalMemory.cudaPointer(out));
             DeviceBuffer y1 = engine.forward(SPEC, x, w, b)) {
            assertEquals(DeviceAddress.of((CUdeviceptr) engine.nativeHandle(y1)), engine.nativeAddress(y1));
            assertEquals(DeviceAddress.of(out), engine.nativeAddress(y2)); // a wrapped buffer is the caller's memory itself
            relu((CUdeviceptr) engine.nativeHandle(y1), 4, stream); // same stream: after the forward, before the next call
            engine.execute(Pass.FORWARD, SPEC, ConvArgs.builder().x(y1).w(w).b(b).y(y2).build());
            assertArrayEquals(new float[] {7, 1, 15, 1}, engine.downloadFloats(y2));
            engine.synchronize();
            float[] host = new float[4];
            assertEquals(0, JCudaDriver.cuMemcpyDtoH(Pointer.to(host), out, 16));
            assertArrayEquals(new float[] {7, 1, 15, 1}, host);
        }
        // jconv freed nothing of the caller's: the allocation is still there for the caller to free
        assertEquals(0, JCudaDriver.cuMemGetAddressRange(new CUdeviceptr(), new long[1], out));
        assertEquals(0, JCudaDriver.cuMemFree(out));
    }

    @Test
    void aRawAddressTooSmallIsRefused() {
        JCudaDriver.cuCtxSetCurrent((CUcontext) engine.nativeContext());
        CUdeviceptr small = new CUdeviceptr();
        assertEquals(0, JCudaDriver.cuMemAlloc(small, 12));
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.wrap(DType.FP32, SPEC.inputShape(), ExternalMemory.cudaPointer(DeviceAddress.of(small))));
            assertTrue(e.getMessage().contains("16 bytes"), e.getMessage());
        } finally {
            JCudaDriver.cuMemFree(small);
        }
    }

    @Test
    void aRepeatedStepDoesNoCuMemAllocAfterTheFirst() {
        try (DeviceBuffer w = engine.upload(new float[] {2}, SPEC.weightShape());
             DeviceBuffer b = engine.upload(new float[] {1}, SPEC.biasShape())) {
            MemoryStats before = null;
            for (int step = 0; step < 3; step++) {
                try (DeviceBuffer x = engine.upload(new float[] {1, 1, 1, 1}, SPEC.inputShape()); DeviceBuffer y = engine.forward(SPEC, x, w, b)) {
                    assertArrayEquals(new float[] {3, 3, 3, 3}, engine.downloadFloats(y));
                }
                if (step == 0) before = engine.memoryStats();
            }
            assertEquals(before.deviceAllocations(), engine.memoryStats().deviceAllocations());
        }
    }
}
