package io.github.jconv.opencl;

import io.github.jconv.kernels.KernelSources;
import io.github.jconv.spi.HalfFloats;
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
import java.util.Random;

import static org.jocl.CL.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prelude's bfloat16 storage (STORE_BF16 = 1: store_t is the upper 16 bits of a float, LOAD widens by a shift,
 * STORE narrows to nearest even). No host path builds it yet; this pins it on the device: every family that stores
 * through LOAD/STORE builds with it, and gemm.cl's split-K sum, out = 0 + part[0] + part[1] in float, narrows
 * as IEEE round to nearest even does.
 */
class Bf16StoragePreludeTest {
    private static final String BF16 = "-DREAL=float -DJCONV_FP64=0 -DSTORE_BF16=1";

    @Test
    void narrowingRoundsToNearestEvenAndOverflowsToInfinity() {
        // bfloat16 bits: sign, 8 exponent bits, 7 fraction bits. 1 = 0x3F80, 1 + 2^-7 = 0x3F81, 2^-8 = 0x3B80,
        // 1.25 * 2^-8 = 0x3BA0, 2^119 = 0x7B00, (2 - 2^-7) * 2^127 = 0x7F7F (the largest finite), inf = 0x7F80.
        short[][] cases = {
                // 1 + 2^-8 lies halfway between 0x3F80 and 0x3F81: the even one, 0x3F80
                {0x3F80, 0x3B80, 0x3F80},
                // 1 + 2^-7 + 2^-8 lies halfway between 0x3F81 and 0x3F82: the even one, 0x3F82
                {0x3F81, 0x3B80, 0x3F82},
                // 1 + 2^-8 + 2^-10 is above the half: up to 0x3F81
                {0x3F80, 0x3BA0, 0x3F81},
                // -(1 + 2^-8): the tie again, with the sign: 0xBF80
                {(short) 0xBF80, (short) 0xBB80, (short) 0xBF80},
                // 2^128 - 2^120 + 2^119 (exact in float) lies halfway between the largest finite 0x7F7F (odd) and
                // 2^128, whose pattern is infinity: to even, so +inf
                {0x7F7F, 0x7B00, 0x7F80},
                // exact sums stay exact: 1 + 1 = 2 = 0x4000
                {0x3F80, 0x3F80, 0x4000},
        };
        short[] a = new short[cases.length];
        short[] b = new short[cases.length];
        for (int i = 0; i < cases.length; i++) {
            a[i] = cases[i][0];
            b[i] = cases[i][1];
        }
        short[] out = sum(a, b);
        for (int i = 0; i < cases.length; i++) {
            assertEquals(String.format("0x%04X", cases[i][2] & 0xffff), String.format("0x%04X", out[i] & 0xffff),
                    String.format("0x%04X + 0x%04X", a[i] & 0xffff, b[i] & 0xffff));
        }
    }

    @Test
    void infinityMinusInfinityStoresANaN() {
        short[] out = sum(new short[] {0x7F80}, new short[] {(short) 0xFF80});
        int bits = out[0] & 0xffff;
        assertTrue((bits & 0x7F80) == 0x7F80 && (bits & 0x7F) != 0, String.format("0x%04X is a bfloat16 NaN", bits));
    }

    @Test
    void randomSumsNarrowAsCoresHostConversionDoes() {
        // expected: the float sum 0 + a + b (IEEE, as the device adds) narrowed by core's HalfFloats.toBf16, the
        // host conversion every backend's transfers use; normal values only (a device may flush subnormals)
        Random rnd = new Random(13);
        int n = 4096;
        short[] a = new short[n];
        short[] b = new short[n];
        for (int i = 0; i < n; i++) {
            a[i] = normalBf16(rnd);
            b[i] = rnd.nextInt(4) == 0 ? (short) (a[i] ^ 0x8000 ^ rnd.nextInt(4)) : normalBf16(rnd); // some cancellations
        }
        short[] out = sum(a, b);
        for (int i = 0; i < n; i++) {
            float s = 0f + HalfFloats.fromBf16(a[i]) + HalfFloats.fromBf16(b[i]);
            if (s != 0 && Math.abs(s) < Float.MIN_NORMAL) continue; // a subnormal sum: flushing is allowed
            assertEquals(HalfFloats.toBf16(s), out[i], String.format("0x%04X + 0x%04X", a[i] & 0xffff, b[i] & 0xffff));
        }
    }

    @Test
    void everyFamilyThatStoresThroughLoadAndStoreBuildsWithBf16Storage() {
        for (String family : List.of("conv", "im2col", "gemm")) {
            withDevice((ctx, q, device) -> {
                cl_program p = clCreateProgramWithSource(ctx, 1, new String[] {KernelSources.source(family)}, null, null);
                try {
                    clBuildProgram(p, 0, null, BF16 + " -DRED_WG=64", null, null);
                    for (String k : KernelSources.kernelNames(family)) clReleaseKernel(clCreateKernel(p, k, null));
                } finally {
                    clReleaseProgram(p);
                }
                return null;
            });
        }
    }

    /** A random normal bfloat16 of either sign with exponent in [2^-60, 2^60]. */
    private static short normalBf16(Random rnd) {
        int exp = 127 - 60 + rnd.nextInt(121);
        return (short) ((rnd.nextBoolean() ? 0x8000 : 0) | exp << 7 | rnd.nextInt(128));
    }

    private interface DeviceWork<T> {
        T run(cl_context ctx, cl_command_queue q, cl_device_id device);
    }

    private static <T> T withDevice(DeviceWork<T> work) {
        // skips (or fails under JCONV_REQUIRE_BACKENDS=opencl) without a device; the raw objects below are this test's own
        OpenClTestSupport.openOrSkip().close();
        CL.setExceptionsEnabled(true);
        cl_device_id device = ClDevices.discover().get(0).device();
        cl_context ctx = clCreateContext(null, 1, new cl_device_id[] {device}, null, null, null);
        try {
            cl_command_queue q = clCreateCommandQueue(ctx, device, 0, null);
            try {
                return work.run(ctx, q, device);
            } finally {
                clReleaseCommandQueue(q);
            }
        } finally {
            clReleaseContext(ctx);
        }
    }

    /** out[i] = bf16(0 + a[i] + b[i]) through gemm_sum(S = 2, part = a ++ b, out, accumulate = 0, total, step). */
    private static short[] sum(short[] a, short[] b) {
        // a kernels jar without the prelude's bf16 storage would read these 16-bit buffers as floats, past their end
        assertTrue(KernelSources.source("gemm").contains("STORE_BF16"), "the kernel sources have bf16 storage (a stale kernels-cl jar?)");
        return withDevice((ctx, q, device) -> {
            int n = a.length;
            short[] part = new short[2 * n];
            System.arraycopy(a, 0, part, 0, n);
            System.arraycopy(b, 0, part, n, n);
            List<cl_mem> mems = new ArrayList<>();
            cl_program p = clCreateProgramWithSource(ctx, 1, new String[] {KernelSources.source("gemm")}, null, null);
            cl_kernel k = null;
            try {
                clBuildProgram(p, 0, null, BF16, null, null);
                k = clCreateKernel(p, "gemm_sum", null);
                cl_mem dp = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2L * part.length, null, null);
                mems.add(dp);
                clEnqueueWriteBuffer(q, dp, CL_TRUE, 0, 2L * part.length, Pointer.to(part), 0, null, null);
                cl_mem dout = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2L * n, null, null);
                mems.add(dout);
                clSetKernelArg(k, 0, Sizeof.cl_int, Pointer.to(new int[] {2}));
                clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(dp));
                clSetKernelArg(k, 2, Sizeof.cl_mem, Pointer.to(dout));
                clSetKernelArg(k, 3, Sizeof.cl_int, Pointer.to(new int[] {0}));
                clSetKernelArg(k, 4, Sizeof.cl_long, Pointer.to(new long[] {n}));
                clSetKernelArg(k, 5, Sizeof.cl_long, Pointer.to(new long[] {64}));
                clEnqueueNDRangeKernel(q, k, 1, null, new long[] {64}, null, 0, null, null);
                short[] out = new short[n];
                clEnqueueReadBuffer(q, dout, CL_TRUE, 0, 2L * n, Pointer.to(out), 0, null, null);
                return out;
            } finally {
                if (k != null) clReleaseKernel(k);
                clReleaseProgram(p);
                for (cl_mem m : mems) clReleaseMemObject(m);
            }
        });
    }
}
