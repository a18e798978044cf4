package io.github.jconv.opencl;

import io.github.jconv.kernels.KernelSources;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.jocl.CL.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * gemm.cl with STORE_HALF = 1: operands and result stored as IEEE half (vload_half / vstore_half, core
 * OpenCL, so no cl_khr_fp16 is needed for storage), sums accumulated in float. This pins the kernel on its
 * own; {@link HalfStorageConvTest} runs the same sums through the backend's FP16 buffers.
 */
class HalfStorageGemmTest {
    @Test
    void halfStorageAccumulatesInFloat() {
        // A = [2048, 1, -2048] (1 x 3), B = [1, 1, 1]^T (3 x 1): the sum is 2048 + 1 - 2048 = 1.
        // Accumulated in half, 2048 + 1 = 2049 rounds to 2048 (half's spacing at 2048 is 2) and the result is 0;
        // accumulated in float it is exactly 1. Every input and the result are exact in half.
        float[] c = run(1, 1, 3, new float[] {2048, 1, -2048}, new float[] {1, 1, 1});
        assertEquals(1.0f, c[0]);
    }

    @Test
    void halfStorageGivesTheExactProductOfSmallEighths() {
        // Entries i/8 with i in -8..8 are exact in half; a product is a multiple of 1/64 and a sum of K = 8 of them
        // a multiple of 1/64 of magnitude <= 8, which half holds exactly (11 significant bits: 8 * 64 = 512 < 2048).
        int m = 37, n = 29, k = 8;
        java.util.Random rnd = new java.util.Random(5);
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (rnd.nextInt(17) - 8) / 8f;
        for (int i = 0; i < b.length; i++) b[i] = (rnd.nextInt(17) - 8) / 8f;
        float[] c = run(m, n, k, a, b);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double want = 0;
                for (int q = 0; q < k; q++) want += (double) a[i * k + q] * b[q * n + j];
                assertEquals(want, c[i * n + j], 0.0, "C[" + i + "][" + j + "]");
            }
        }
    }

    /** C = A B (row-major, m x k times k x n) through gemm.cl with half storage, parameter set 16,16,8,2,2,4,1. */
    private static float[] run(int m, int n, int k, float[] a, float[] b) {
        // skips (or fails under JCONV_REQUIRE_BACKENDS=opencl) without a device; the raw objects below are this test's own
        OpenClTestSupport.openOrSkip().close();
        CL.setExceptionsEnabled(true);
        cl_device_id device = ClDevices.discover().get(0).device();
        cl_context ctx = clCreateContext(null, 1, new cl_device_id[] {device}, null, null, null);
        List<cl_mem> mems = new ArrayList<>();
        cl_program p = null;
        cl_kernel kern = null;
        cl_command_queue q = clCreateCommandQueue(ctx, device, 0, null);
        try {
            p = clCreateProgramWithSource(ctx, 1, new String[] {KernelSources.source("gemm")}, null, null);
            clBuildProgram(p, 0, null, "-DREAL=float -DJCONV_FP64=0 -DSTORE_HALF=1 -DTSM=16 -DTSN=16 -DTSK=8 -DWPTM=2 -DWPTN=2 -DVW=4 -DDB=1",
                    null, null);
            kern = clCreateKernel(p, "gemm", null);
            cl_mem da = halfBuffer(ctx, q, a, mems);
            cl_mem db = halfBuffer(ctx, q, b, mems);
            cl_mem dc = halfBuffer(ctx, q, new float[m * n], mems);
            List<Object> args = new ArrayList<>(List.of(m, n, k));
            args.addAll(List.of(da, 0L, 0L, (long) k, 0, 0L, 1L, 0, 0L));
            args.addAll(List.of(db, 0L, 0L, (long) n, 0, 0L, 1L, 0, 0L));
            args.addAll(List.of(dc, 0L, 0L, (long) n, 0, 0L, 1L, 0, 0L));
            args.addAll(List.of(dc, 0, 0));
            for (int i = 0; i < args.size(); i++) {
                Object o = args.get(i);
                if (o instanceof cl_mem mem) clSetKernelArg(kern, i, Sizeof.cl_mem, Pointer.to(mem));
                else if (o instanceof Integer v) clSetKernelArg(kern, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
                else clSetKernelArg(kern, i, Sizeof.cl_long, Pointer.to(new long[] {(Long) o}));
            }
            long gm = (m + 15) / 16 * 8, gn = (n + 15) / 16 * 8;
            clEnqueueNDRangeKernel(q, kern, 3, null, new long[] {gm, gn, 1}, new long[] {8, 8, 1}, 0, null, null);
            short[] out = new short[m * n];
            clEnqueueReadBuffer(q, dc, CL_TRUE, 0, 2L * out.length, Pointer.to(out), 0, null, null);
            float[] c = new float[out.length];
            for (int i = 0; i < out.length; i++) c[i] = fromHalf(out[i]);
            return c;
        } finally {
            if (kern != null) clReleaseKernel(kern);
            if (p != null) clReleaseProgram(p);
            for (cl_mem mem : mems) clReleaseMemObject(mem);
            clReleaseCommandQueue(q);
            clReleaseContext(ctx);
        }
    }

    private static cl_mem halfBuffer(cl_context ctx, cl_command_queue q, float[] v, List<cl_mem> mems) {
        short[] h = new short[v.length];
        for (int i = 0; i < v.length; i++) h[i] = toHalf(v[i]);
        cl_mem mem = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2L * Math.max(1, h.length), null, null);
        mems.add(mem);
        if (h.length > 0) clEnqueueWriteBuffer(q, mem, CL_TRUE, 0, 2L * h.length, Pointer.to(h), 0, null, null);
        return mem;
    }

    /** Float to half for values exact in half (the tests use no others): sign, 5-bit exponent, 10-bit fraction. */
    static short toHalf(float f) {
        if (f == 0) return (short) (Float.floatToIntBits(f) >>> 16 & 0x8000);
        int bits = Float.floatToIntBits(f);
        int sign = bits >>> 16 & 0x8000;
        int exp = (bits >>> 23 & 0xff) - 127 + 15;
        int frac = bits & 0x7fffff;
        if (exp <= 0 || exp >= 31 || (frac & 0x1fff) != 0) throw new IllegalArgumentException(f + " is not a normal half");
        return (short) (sign | exp << 10 | frac >>> 13);
    }

    static float fromHalf(short h) {
        int sign = (h & 0x8000) << 16;
        int exp = h >>> 10 & 0x1f;
        int frac = h & 0x3ff;
        if (exp == 0) return Float.intBitsToFloat(sign) + (frac == 0 ? 0 : (sign != 0 ? -1 : 1) * frac / 16777216f);
        if (exp == 31) return frac == 0 ? (sign != 0 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY) : Float.NaN;
        return Float.intBitsToFloat(sign | (exp - 15 + 127) << 23 | frac << 13);
    }
}
