package io.github.jconv.opencl;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ExternalMemory;
import io.github.jconv.spi.MemoryStats;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.jocl.CL.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The device training loop of docs/training.md on OpenCL (PoCL here): the data and the loss gradient
 * live in cl_mems the caller made and wrapped, the caller's own ReLU kernels run on jconv's queue
 * between the two layers, and nothing reaches the host but the loss. Checked against the same loop
 * with those steps done on the host ({@link #hostLoop}): the losses agree step by step.
 */
class OpenClTrainingLoopTest {
    static final String RELU = String.join("\n",
            "__kernel void relu(__global float* h, int n) { int i = get_global_id(0); if (i < n) h[i] = fmax(h[i], 0.0f); }",
            "__kernel void relu_backward(__global float* dh, __global const float* h, int n) {",
            "  int i = get_global_id(0); if (i < n && h[i] <= 0.0f) dh[i] = 0.0f; }",
            // the caller's loss: mean squared error, its gradient into g, each item's square into sq
            "__kernel void mse(__global const float* y, __global const float* t, __global float* g, __global float* sq, int n) {",
            "  int i = get_global_id(0); if (i < n) { float d = y[i] - t[i]; g[i] = 2.0f * d / n; sq[i] = d * d; } }");

    // ---- the loop of docs/training.md, "A training loop on a GPU, with the caller's kernels" (OpenCL) ----
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

        // the caller's side: its context is jconv's, its queue is jconv's, its buffers and kernels are its own
        cl_context ctx = (cl_context) engine.nativeContext();
        cl_command_queue queue = (cl_command_queue) engine.nativeQueue();
        cl_mem xMem = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * input.length, Pointer.to(input), null);
        cl_mem tMem = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * n, Pointer.to(target), null);
        cl_mem gMem = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4L * n, null, null);
        cl_mem sqMem = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4L * n, null, null);
        cl_device_id[] dev = new cl_device_id[1];
        clGetContextInfo(ctx, CL_CONTEXT_DEVICES, Sizeof.cl_device_id, Pointer.to(dev), null);
        cl_program prog = clCreateProgramWithSource(ctx, 1, new String[] {RELU}, null, null);
        clBuildProgram(prog, 1, dev, null, null, null);
        cl_kernel relu = clCreateKernel(prog, "relu", null);
        cl_kernel reluBack = clCreateKernel(prog, "relu_backward", null);
        cl_kernel mse = clCreateKernel(prog, "mse", null);
        try (ConvLayer conv1 = new ConvLayer(engine, s1, DType.FP32, 11);
             ConvLayer conv2 = new ConvLayer(engine, s2, DType.FP32, 12);
             DeviceBuffer x = engine.wrap(DType.FP32, s1.inputShape(), ExternalMemory.clMem(xMem));
             DeviceBuffer dy = engine.wrap(DType.FP32, s2.outputShape(), ExternalMemory.clMem(gMem))) {
            for (int step = 0; step < steps; step++) {
                try (DeviceBuffer h = conv1.forward(x)) {
                    cl_mem hMem = (cl_mem) engine.nativeHandle(h);
                    int hn = (int) h.elementCount();
                    launch(queue, relu, hn, hMem, hn);                 // after conv1 on the same in-order queue
                    try (DeviceBuffer y = conv2.forward(h)) {            // after the ReLU
                        launch(queue, mse, n, (cl_mem) engine.nativeHandle(y), tMem, gMem, sqMem, n);
                        float[] sq = new float[n];                       // the one read to the host: the loss
                        clEnqueueReadBuffer(queue, sqMem, CL_TRUE, 0, 4L * n, Pointer.to(sq), 0, null, null);
                        double loss = 0;
                        for (float v : sq) loss += v;
                        losses[step] = loss / n;
                        try (DeviceBuffer dh = conv2.backward(dy)) {     // reads g, written by the caller's kernel
                            launch(queue, reluBack, hn, (cl_mem) engine.nativeHandle(dh), hMem, hn);
                            conv1.backward(dh).close();
                        }
                    }
                }
                conv1.sgdStep(0.05f);
                conv2.sgdStep(0.05f);
            }
        } finally {
            for (cl_kernel k : new cl_kernel[] {relu, reluBack, mse}) clReleaseKernel(k);
            clReleaseProgram(prog);
            for (cl_mem m : new cl_mem[] {xMem, tMem, gMem, sqMem}) clReleaseMemObject(m); // the caller's: jconv never frees them
        }
        return losses;
    }

    /** Sets the arguments (cl_mem or int) and enqueues {@code k} over {@code n} items on {@code queue}. */
    static void launch(cl_command_queue queue, cl_kernel k, int n, Object... args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof cl_mem m) clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
            else clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {(Integer) args[i]}));
        }
        clEnqueueNDRangeKernel(queue, k, 1, null, new long[] {n}, null, 0, null, null);
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
    void theDeviceLoopMatchesTheHostLoopStepByStepAndAllocatesNothingAfterItsFirstRun() {
        try (ConvEngine engine = ConvEngine.wrap(OpenClTestSupport.openOrSkip())) {
            int steps = 12;
            double[] host = hostLoop(engine, steps);
            train(engine, 1);
            MemoryStats afterOne = engine.memoryStats();
            double[] cl = train(engine, steps);
            MemoryStats atEnd = engine.memoryStats();
            // the second run makes its layers' weights and gradients again (same sizes: from the cache) and reuses
            // every activation block of the first: no clCreateBuffer at all
            assertEquals(afterOne.deviceAllocations(), atEnd.deviceAllocations(), afterOne + " then " + atEnd);
            for (int i = 0; i < steps; i++) {
                // the same kernels and the same float arithmetic on both sides: equal but for the last bits
                assertEquals(host[i], cl[i], 1e-6 * host[i], "loss of step " + i + ": host " + java.util.Arrays.toString(host)
                        + " caller's kernels " + java.util.Arrays.toString(cl));
            }
            assertTrue(cl[steps - 1] < 0.9 * cl[0], java.util.Arrays.toString(cl));
        }
    }
}
