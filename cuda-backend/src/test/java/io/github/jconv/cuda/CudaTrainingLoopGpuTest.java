package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA training loop of docs/training.md (GPU only; skips elsewhere): data and loss gradient in
 * memory from JCuda's own cuMemAlloc, wrapped; the caller's ReLU, ReLU-backward and loss kernels
 * (hand-written PTX) on jconv's stream between the layers. Checked against the same loop with those
 * steps done on the host ({@link #hostLoop}): the losses agree step by step, and no cuMemAlloc
 * happens after the first run.
 */
class CudaTrainingLoopGpuTest {
    static final String PTX = String.join("\n",
            ".version 7.0", ".target sm_52", ".address_size 64",
            ".visible .entry relu(.param .u64 p, .param .u32 n)", "{",
            "  .reg .pred %p<2>; .reg .b32 %r<6>; .reg .f32 %f<3>; .reg .b64 %rd<5>;",
            "  ld.param.u64 %rd1, [p]; ld.param.u32 %r1, [n];",
            "  mov.u32 %r2, %ctaid.x; mov.u32 %r3, %ntid.x; mov.u32 %r4, %tid.x; mad.lo.s32 %r5, %r2, %r3, %r4;",
            "  setp.ge.u32 %p1, %r5, %r1; @%p1 bra DONE;",
            "  cvta.to.global.u64 %rd2, %rd1; mul.wide.u32 %rd3, %r5, 4; add.s64 %rd4, %rd2, %rd3;",
            "  ld.global.f32 %f1, [%rd4]; max.f32 %f2, %f1, 0f00000000; st.global.f32 [%rd4], %f2;",
            "DONE:", "  ret;", "}",
            ".visible .entry relu_backward(.param .u64 dh, .param .u64 h, .param .u32 n)", "{",
            "  .reg .pred %p<3>; .reg .b32 %r<6>; .reg .f32 %f<2>; .reg .b64 %rd<8>;",
            "  ld.param.u64 %rd1, [dh]; ld.param.u64 %rd2, [h]; ld.param.u32 %r1, [n];",
            "  mov.u32 %r2, %ctaid.x; mov.u32 %r3, %ntid.x; mov.u32 %r4, %tid.x; mad.lo.s32 %r5, %r2, %r3, %r4;",
            "  setp.ge.u32 %p1, %r5, %r1; @%p1 bra DONE2;",
            "  cvta.to.global.u64 %rd3, %rd1; cvta.to.global.u64 %rd4, %rd2; mul.wide.u32 %rd5, %r5, 4;",
            "  add.s64 %rd6, %rd4, %rd5; ld.global.f32 %f1, [%rd6];",
            "  setp.gt.f32 %p2, %f1, 0f00000000; @%p2 bra DONE2;",
            "  add.s64 %rd7, %rd3, %rd5; st.global.f32 [%rd7], 0f00000000;",
            "DONE2:", "  ret;", "}",
            ".visible .entry mse(.param .u64 y, .param .u64 t, .param .u64 g, .param .u64 sq, .param .u32 n)", "{",
            "  .reg .pred %p<2>; .reg .b32 %r<6>; .reg .f32 %f<8>; .reg .b64 %rd<14>;",
            "  ld.param.u64 %rd1, [y]; ld.param.u64 %rd2, [t]; ld.param.u64 %rd3, [g]; ld.param.u64 %rd4, [sq]; ld.param.u32 %r1, [n];",
            "  mov.u32 %r2, %ctaid.x; mov.u32 %r3, %ntid.x; mov.u32 %r4, %tid.x; mad.lo.s32 %r5, %r2, %r3, %r4;",
            "  setp.ge.u32 %p1, %r5, %r1; @%p1 bra DONE3;",
            "  mul.wide.u32 %rd5, %r5, 4;",
            "  cvta.to.global.u64 %rd6, %rd1; add.s64 %rd7, %rd6, %rd5; ld.global.f32 %f1, [%rd7];",
            "  cvta.to.global.u64 %rd8, %rd2; add.s64 %rd9, %rd8, %rd5; ld.global.f32 %f2, [%rd9];",
            "  sub.f32 %f3, %f1, %f2; cvt.rn.f32.u32 %f4, %r1; mul.f32 %f5, %f3, 0f40000000; div.rn.f32 %f6, %f5, %f4;",
            "  cvta.to.global.u64 %rd10, %rd3; add.s64 %rd11, %rd10, %rd5; st.global.f32 [%rd11], %f6;",
            "  mul.f32 %f7, %f3, %f3;",
            "  cvta.to.global.u64 %rd12, %rd4; add.s64 %rd13, %rd12, %rd5; st.global.f32 [%rd13], %f7;",
            "DONE3:", "  ret;", "}", "");

    static ConvEngine openCudaOrSkip() {
        io.github.jconv.spi.ProbeResult probe = new CudaBackendProvider().probe();
        String required = System.getenv().getOrDefault("JCONV_REQUIRE_BACKENDS", "");
        if (!probe.available() && java.util.Arrays.asList(required.split(",")).contains("cuda")) {
            fail("JCONV_REQUIRE_BACKENDS lists cuda but the probe says: " + probe.reason());
        }
        assumeTrue(probe.available(), () -> "CUDA backend unavailable: " + probe.reason());
        return ConvEngine.wrap(new CudaBackendProvider().open(0, CudaOptions.defaults()));
    }

    // ---- the loop of docs/training.md, "A training loop on a GPU, with the caller's kernels" (CUDA) ----
    static double[] train(ConvEngine engine, int steps) {
        ConvSpec s1 = ConvSpec.convolution().batch(4).channels(3, 8).input(12, 12).kernel(3).padding(1).build();
        ConvSpec s2 = ConvSpec.convolution().batch(4).channels(8, 1).input(12, 12).kernel(3).padding(1).build();
        SplittableRandom r = new SplittableRandom(1);
        float[] input = new float[(int) s1.inputShape().elementCount()];
        float[] target = new float[(int) s2.outputShape().elementCount()];
        for (int i = 0; i < input.length; i++) input[i] = (float) r.nextDouble(-1, 1);
        for (int i = 0; i < target.length; i++) target[i] = (float) r.nextDouble(-1, 1);
        int n = target.length;
        double[] losses = new double[steps];

        JCudaDriver.cuCtxSetCurrent((CUcontext) engine.nativeContext()); // jconv's context is the caller's
        CUstream stream = (CUstream) engine.nativeQueue();                // and so is its stream
        CUdeviceptr xMem = alloc(4L * input.length), tMem = alloc(4L * n), gMem = alloc(4L * n), sqMem = alloc(4L * n);
        JCudaDriver.cuMemcpyHtoD(xMem, Pointer.to(input), 4L * input.length);
        JCudaDriver.cuMemcpyHtoD(tMem, Pointer.to(target), 4L * n);
        CUmodule module = new CUmodule();
        JCudaDriver.cuModuleLoadData(module, (PTX + "\0").getBytes(StandardCharsets.US_ASCII));
        CUfunction relu = function(module, "relu"), reluBack = function(module, "relu_backward"), mse = function(module, "mse");
        try (ConvLayer conv1 = new ConvLayer(engine, s1, DType.FP32, 11);
             ConvLayer conv2 = new ConvLayer(engine, s2, DType.FP32, 12);
             DeviceBuffer x = engine.wrap(DType.FP32, s1.inputShape(), ExternalMemory.cudaPointer(xMem));
             DeviceBuffer dy = engine.wrap(DType.FP32, s2.outputShape(), ExternalMemory.cudaPointer(gMem))) {
            for (int step = 0; step < steps; step++) {
                try (DeviceBuffer h = conv1.forward(x)) {
                    CUdeviceptr hMem = (CUdeviceptr) engine.nativeHandle(h);
                    int hn = (int) h.elementCount();
                    launch(stream, relu, hn, Pointer.to(hMem), Pointer.to(new int[] {hn}));   // after conv1, same stream
                    try (DeviceBuffer y = conv2.forward(h)) {                                  // after the ReLU
                        launch(stream, mse, n, Pointer.to((CUdeviceptr) engine.nativeHandle(y)), Pointer.to(tMem),
                                Pointer.to(gMem), Pointer.to(sqMem), Pointer.to(new int[] {n}));
                        float[] sq = new float[n];
                        JCudaDriver.cuStreamSynchronize(stream);                               // then the one read: the loss
                        JCudaDriver.cuMemcpyDtoH(Pointer.to(sq), sqMem, 4L * n);
                        double loss = 0;
                        for (float v : sq) loss += v;
                        losses[step] = loss / n;
                        try (DeviceBuffer dh = conv2.backward(dy)) {                           // reads g from the caller's kernel
                            launch(stream, reluBack, hn, Pointer.to((CUdeviceptr) engine.nativeHandle(dh)), Pointer.to(hMem),
                                    Pointer.to(new int[] {hn}));
                            conv1.backward(dh).close();
                        }
                    }
                }
                conv1.sgdStep(0.05f);
                conv2.sgdStep(0.05f);
            }
        } finally {
            engine.synchronize();
            JCudaDriver.cuModuleUnload(module);
            for (CUdeviceptr p : new CUdeviceptr[] {xMem, tMem, gMem, sqMem}) JCudaDriver.cuMemFree(p); // the caller's memory
        }
        return losses;
    }

    static CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(p, bytes);
        return p;
    }

    static CUfunction function(CUmodule m, String name) {
        CUfunction f = new CUfunction();
        JCudaDriver.cuModuleGetFunction(f, m, name);
        return f;
    }

    static void launch(CUstream stream, CUfunction f, int n, Pointer... args) {
        JCudaDriver.cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream, Pointer.to(args), null);
    }
    // ---- end of the doc's loop ----

    /**
     * The reference: the same loop, data, seeds and arithmetic with the ReLU, its backward and the
     * loss done on the host between the layers (download, compute, upload), so nothing in it depends
     * on how the caller's kernels are ordered with jconv's.
     */
    static double[] hostLoop(ConvEngine engine, int steps) {
        ConvSpec s1 = ConvSpec.convolution().batch(4).channels(3, 8).input(12, 12).kernel(3).padding(1).build();
        ConvSpec s2 = ConvSpec.convolution().batch(4).channels(8, 1).input(12, 12).kernel(3).padding(1).build();
        SplittableRandom r = new SplittableRandom(1);
        float[] input = new float[(int) s1.inputShape().elementCount()];
        float[] target = new float[(int) s2.outputShape().elementCount()];
        for (int i = 0; i < input.length; i++) input[i] = (float) r.nextDouble(-1, 1);
        for (int i = 0; i < target.length; i++) target[i] = (float) r.nextDouble(-1, 1);
        int n = target.length;
        double[] losses = new double[steps];
        try (ConvLayer conv1 = new ConvLayer(engine, s1, DType.FP32, 11);
             ConvLayer conv2 = new ConvLayer(engine, s2, DType.FP32, 12);
             DeviceBuffer x = engine.upload(input, s1.inputShape());
             DeviceBuffer dy = engine.allocate(DType.FP32, s2.outputShape())) {
            for (int step = 0; step < steps; step++) {
                try (DeviceBuffer h = conv1.forward(x)) {
                    float[] hv = engine.downloadFloats(h);
                    for (int i = 0; i < hv.length; i++) hv[i] = Math.max(hv[i], 0f);
                    engine.upload(h, 0, hv, 0, hv.length);
                    try (DeviceBuffer y = conv2.forward(h)) {
                        float[] yv = engine.downloadFloats(y);
                        float[] g = new float[n];
                        double loss = 0;
                        for (int i = 0; i < n; i++) {
                            float d = yv[i] - target[i];
                            g[i] = 2.0f * d / n;
                            loss += d * d; // a float square, as the kernel stores it
                        }
                        losses[step] = loss / n;
                        engine.upload(dy, 0, g, 0, n);
                        try (DeviceBuffer dh = conv2.backward(dy)) {
                            float[] dhv = engine.downloadFloats(dh);
                            for (int i = 0; i < dhv.length; i++) if (hv[i] <= 0f) dhv[i] = 0f;
                            engine.upload(dh, 0, dhv, 0, dhv.length);
                            conv1.backward(dh).close();
                        }
                    }
                }
                conv1.sgdStep(0.05f);
                conv2.sgdStep(0.05f);
            }
        }
        return losses;
    }

    @Test
    void theCudaLoopMatchesTheHostLoopStepByStepAndAllocatesNothingAfterItsFirstRun() {
        try (ConvEngine engine = openCudaOrSkip()) {
            JCudaDriver.setExceptionsEnabled(true); // a failing driver call of the test's own shows at once
            try {
                int steps = 12;
                double[] cpu = hostLoop(engine, steps);
                train(engine, 1);
                MemoryStats afterOne = engine.memoryStats();
                double[] gpu = train(engine, steps);
                MemoryStats atEnd = engine.memoryStats();
                assertEquals(afterOne.deviceAllocations(), atEnd.deviceAllocations(), afterOne + " then " + atEnd);
                for (int i = 0; i < steps; i++) {
                    // the same cuDNN algorithms and float arithmetic on both sides: agreement to 1e-4 relative (cuDNN may sum in another order between runs)
                    assertEquals(cpu[i], gpu[i], 1e-4 * cpu[i], "loss of step " + i + ": host " + java.util.Arrays.toString(cpu)
                            + " cuda " + java.util.Arrays.toString(gpu));
                }
            } finally {
                JCudaDriver.setExceptionsEnabled(false);
            }
        }
    }

    /**
     * More than one GPU: one engine per device, each trained from its own thread (two devices where
     * there are two, else N = 1); every device's losses equal the host loop's on device 0.
     */
    @Test
    void oneEnginePerDeviceEachFromItsOwnThread() throws Exception {
        try (ConvEngine first = openCudaOrSkip()) {
            io.github.jconv.spi.ConvBackendProvider cuda = ConvEngine.providers().stream().filter(p -> p.name().equals("cuda")).findFirst().orElseThrow();
            int devices = Math.min(2, ConvEngine.probe(cuda).devices().size());
            double[] cpu;
            try (ConvEngine e0 = openCudaOrSkip()) {
                cpu = hostLoop(e0, 4);
            }
            java.util.List<java.util.concurrent.Future<double[]>> runs = new java.util.ArrayList<>();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(devices);
            try {
                for (int d = 0; d < devices; d++) {
                    int device = d;
                    runs.add(pool.submit(() -> {
                        try (ConvEngine e = ConvEngine.wrap(new CudaBackendProvider().open(device, CudaOptions.defaults()))) {
                            return train(e, 4);
                        }
                    }));
                }
                for (int d = 0; d < devices; d++) {
                    double[] gpu = runs.get(d).get(120, java.util.concurrent.TimeUnit.SECONDS);
                    for (int i = 0; i < cpu.length; i++) assertEquals(cpu[i], gpu[i], 1e-3 * cpu[i], "device " + d + ", step " + i);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
