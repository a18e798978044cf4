package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Uploads and downloads through the page-locked staging area (GPU only; skips elsewhere). Written
 * without a GPU: unverified until a GPU run. Every value used is exact in the buffer's type, so each
 * round trip must return the same bits; a piece copied to the wrong offset, a slot overwritten before
 * its copy finished, or a download that does not wait shows as a wrong value.
 */
class PinnedStagingGpuTest {
    private static CudaBackend open() {
        ConvEngine e = CudaTrainingLoopGpuTest.openCudaOrSkip(); // skips (or fails under JCONV_REQUIRE_BACKENDS) without CUDA
        return (CudaBackend) e.backend();
    }

    /** i-th test value: a multiple of 1/4 in -64..63.75, exact in FP16, BF16 (8 significant bits: 0.25 * 255 fits), FP32 and FP64. */
    private static float value(int i, int salt) {
        return ((i * 7 + salt) % 512 - 256) * 0.25f;
    }

    private static float[] values(int n, int salt) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = value(i, salt);
        return v;
    }

    @Test
    void oddSizesRoundTripAcrossPieceBoundariesInEveryDtype() {
        try (CudaBackend s = open()) {
            s.context().restage(4096); // 1024 FP32, 512 FP64, 2048 FP16/BF16 elements per piece
            for (DType dt : new DType[]{DType.FP32, DType.FP64, DType.FP16, DType.BF16}) {
                for (int n : new int[]{1, 511, 512, 513, 1023, 1024, 1025, 2047, 2049, 3001, 4097, 10_000}) {
                    float[] src = values(n, n);
                    try (DeviceBuffer b = s.allocate(dt, Shape.of(n))) {
                        s.upload(b, 0, src, 0, n);
                        float[] got = new float[n];
                        s.download(b, 0, got, 0, n);
                        assertArrayEquals(src, got, dt + " n=" + n);
                        if (n > 8) {
                            // offsets on both sides: write elements 3..n-2 of a second array to buffer offset 5
                            float[] other = values(n, n + 1);
                            int len = n - 8;
                            s.upload(b, 5, other, 3, len);
                            float[] expect = src.clone();
                            System.arraycopy(other, 3, expect, 5, len);
                            float[] back = new float[n + 4];
                            Arrays.fill(back, 1234f);
                            s.download(b, 0, back, 2, n);
                            assertArrayEquals(expect, Arrays.copyOfRange(back, 2, n + 2), dt + " n=" + n + " with offsets");
                            assertEquals(1234f, back[0]);
                            assertEquals(1234f, back[1]);
                            assertEquals(1234f, back[n + 2]);
                            // a middle range downloaded alone
                            float[] mid = new float[len];
                            s.download(b, 5, mid, 0, len);
                            assertArrayEquals(Arrays.copyOfRange(other, 3, 3 + len), mid, dt + " n=" + n + " middle range");
                        }
                    }
                }
            }
            // the double[] entry points on an FP64 buffer: values that need all 53 bits
            int n = 1500;
            double[] d = new double[n];
            for (int i = 0; i < n; i++) d[i] = 1.0 / 3 + i * Math.ulp(1.0);
            try (DeviceBuffer b = s.allocate(DType.FP64, Shape.of(n))) {
                s.upload(b, 0, d, 0, n);
                double[] got = new double[n];
                s.download(b, 0, got, 0, n);
                assertArrayEquals(d, got);
            }
            assertTrue(s.context().staging().heldBytes() <= 2 * 4096, "held " + s.context().staging().heldBytes());
        }
    }

    @Test
    void aTransferLargerThanTheDefaultCapGoesInPiecesAndTheAreaIsReused() {
        try (CudaBackend s = open()) {
            PinnedStaging st = s.context().staging();
            assertEquals(PinnedStaging.DEFAULT_CAP_BYTES, st.capBytes());
            int n = 3_000_001; // 12 000 004 bytes: one full 8 MiB piece and one of 3 611 396 bytes
            float[] src = values(n, 5);
            try (DeviceBuffer b = s.allocate(DType.FP32, Shape.of(n))) {
                s.upload(b, 0, src, 0, n);
                float[] got = new float[n];
                s.download(b, 0, got, 0, n);
                assertArrayEquals(src, got);
                assertEquals(2, st.allocations(), "two slots of the cap, allocated once");
                assertEquals(2 * PinnedStaging.DEFAULT_CAP_BYTES, st.heldBytes());
                float[] src2 = values(n, 6);
                s.upload(b, 0, src2, 0, n);
                s.download(b, 0, got, 0, n);
                assertArrayEquals(src2, got);
                assertEquals(2, st.allocations(), "no page-locked allocation on the second round trip");
            }
        }
    }

    @Test
    void uploadsComputeAndDownloadsStayInStreamOrder() {
        try (CudaBackend s = open()) {
            s.context().restage(64 << 10); // 16 384 floats per piece: the 1 MiB image below is 16 pieces
            ConvEngine engine = ConvEngine.wrap(s);
            // y = 2 x exactly: a 1x1 convolution, one channel, weight 2, no bias
            ConvSpec spec = ConvSpec.convolution().batch(1).channels(1, 1).input(512, 512).kernel(1).bias(false).build();
            int n = 512 * 512;
            try (ConvLayer conv = new ConvLayer(engine, spec, DType.FP32, 1);
                 DeviceBuffer x = s.allocate(DType.FP32, Shape.of(1, 1, 512, 512))) {
                conv.setWeight(new float[]{2f});
                for (int round = 0; round < 3; round++) {
                    float[] a = values(n, 10 + round);
                    float[] b = values(n, 20 + round);
                    float[] aKept = a.clone();
                    s.upload(x, 0, a, 0, n);
                    Arrays.fill(a, 999f);                    // upload may return early: it must have copied a[] already
                    try (DeviceBuffer y1 = conv.forward(x)) { // queued after the upload of a
                        s.upload(x, 0, b, 0, n);             // queued after the forward: must not change y1
                        try (DeviceBuffer y2 = conv.forward(x)) {
                            float[] got1 = new float[n];
                            float[] got2 = new float[n];
                            s.download(y1, 0, got1, 0, n);
                            s.download(y2, 0, got2, 0, n);
                            // 2x is exact in FP32, but cuDNN may pick any algorithm: allow 1e-4 relative. An ordering
                            // fault shows as another array's value (a and b differ by >= 2.5 everywhere, 999 is neither)
                            for (int i = 0; i < n; i++) {
                                if (Math.abs(got1[i] - 2 * aKept[i]) > 1e-4f * (1 + Math.abs(aKept[i]))
                                        || Math.abs(got2[i] - 2 * b[i]) > 1e-4f * (1 + Math.abs(b[i]))) {
                                    fail("round " + round + " element " + i + ": y1 " + got1[i] + " (want " + 2 * aKept[i]
                                            + "), y2 " + got2[i] + " (want " + 2 * b[i] + ")");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void restageValidatesItsCapBeforeFreeingAnything() {
        try (CudaBackend s = open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.context().restage(0));
            assertTrue(e.getMessage().startsWith("capBytes = 0"), e.getMessage());
            try (DeviceBuffer b = s.allocate(DType.FP32, Shape.of(3))) {
                s.upload(b, 0, new float[]{1, 2, 3}, 0, 3);
                float[] got = new float[3];
                s.download(b, 0, got, 0, 3);
                assertArrayEquals(new float[]{1, 2, 3}, got);
            }
        }
    }
}
