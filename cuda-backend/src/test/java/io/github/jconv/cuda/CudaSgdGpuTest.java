package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * sgd.cu through CudaBackend.sgdStep and ConvLayer.sgdStep (GPU only; skips elsewhere). Written
 * without a GPU: unverified until a GPU run. The expected values are the definition of the step in
 * IEEE arithmetic, p - lr * g with the product and the difference each rounded to nearest in the
 * buffer's type (Java's float and double arithmetic is exactly that), so the device must match bit for bit.
 */
class CudaSgdGpuTest {
    @Test
    void theDeviceStepIsTheRoundedHostFormulaInFp32AndFp64() {
        try (ConvEngine e = CudaTrainingLoopGpuTest.openCudaOrSkip()) {
            CudaBackend s = (CudaBackend) e.backend();
            int n = 1000; // four blocks of 256, the last partly idle
            SplittableRandom r = new SplittableRandom(3);
            float[] p = new float[n];
            float[] g = new float[n];
            double[] pd = new double[n];
            double[] gd = new double[n];
            for (int i = 0; i < n; i++) {
                pd[i] = r.nextDouble(-1, 1);
                gd[i] = r.nextDouble(-3, 3);
                p[i] = (float) pd[i];
                g[i] = (float) gd[i];
            }
            float lrf = 0.1f;
            float[] want = new float[n];
            for (int i = 0; i < n; i++) want[i] = p[i] - lrf * g[i]; // float product, rounded; float difference, rounded
            double lr = 0.1;
            double[] wantD = new double[n];
            for (int i = 0; i < n; i++) wantD[i] = pd[i] - lr * gd[i];
            try (DeviceBuffer pb = e.upload(p, Shape.of(n)); DeviceBuffer gb = e.upload(g, Shape.of(n));
                 DeviceBuffer pdb = e.upload(pd, Shape.of(n)); DeviceBuffer gdb = e.upload(gd, Shape.of(n))) {
                assertTrue(s.sgdStep(pb, gb, 0.1), "FP32 steps on the device");
                assertArrayEquals(want, e.downloadFloats(pb));
                assertArrayEquals(g, e.downloadFloats(gb), "the gradient is only read");
                assertTrue(s.sgdStep(pdb, gdb, lr), "FP64 steps on the device");
                assertArrayEquals(wantD, e.downloadDoubles(pdb));
                assertFalse(s.sgdStep(pb, gdb, 0.1), "mixed dtypes: not handled, nothing done");
                assertArrayEquals(want, e.downloadFloats(pb));
            }
            try (DeviceBuffer h = e.upload(DType.BF16, new float[]{1, 2}, Shape.of(2)); DeviceBuffer hg = e.upload(DType.BF16, new float[]{1, 1}, Shape.of(2));
                 DeviceBuffer shorter = e.upload(new float[]{1}, Shape.of(1)); DeviceBuffer one = e.upload(new float[]{1, 1}, Shape.of(2))) {
                assertFalse(s.sgdStep(h, hg, 1), "BF16 keeps the host step");
                assertArrayEquals(new float[]{1, 2}, e.downloadFloats(h));
                assertFalse(s.sgdStep(one, shorter, 1), "different element counts: not handled");
                assertArrayEquals(new float[]{1, 1}, e.downloadFloats(one));
            }
        }
    }

    @Test
    void aLayerStepsOnTheDeviceWithItsOwnGradients() {
        try (ConvEngine e = CudaTrainingLoopGpuTest.openCudaOrSkip()) {
            ConvSpec spec = ConvSpec.convolution().batch(2).channels(3, 4).input(6, 6).kernel(3).padding(1).build();
            SplittableRandom r = new SplittableRandom(9);
            float[] x = new float[(int) spec.inputShape().elementCount()];
            float[] dy = new float[(int) spec.outputShape().elementCount()];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble(-1, 1);
            for (int i = 0; i < dy.length; i++) dy[i] = (float) r.nextDouble(-1, 1);
            try (ConvLayer conv = new ConvLayer(e, spec, DType.FP32, 4);
                 DeviceBuffer xb = e.upload(x, spec.inputShape()); DeviceBuffer dyb = e.upload(dy, spec.outputShape())) {
                conv.forward(xb).close();
                conv.backward(dyb).close();
                float[] w = conv.weightValues();
                float[] b = e.downloadFloats(conv.bias());
                float[] gw = e.downloadFloats(conv.gradWeight());
                float[] gb = e.downloadFloats(conv.gradBias());
                conv.sgdStep(0.25f);
                float[] w2 = conv.weightValues();
                float[] b2 = e.downloadFloats(conv.bias());
                for (int i = 0; i < w.length; i++) assertEquals(w[i] - 0.25f * gw[i], w2[i], 0f, "weight " + i);
                for (int i = 0; i < b.length; i++) assertEquals(b[i] - 0.25f * gb[i], b2[i], 0f, "bias " + i);
                assertFalse(java.util.Arrays.equals(w, w2), "the step moved the weights");
            }
        }
    }
}
