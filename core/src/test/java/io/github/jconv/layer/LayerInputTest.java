package io.github.jconv.layer;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Layer arithmetic on the host and the layer's own checks, on a backend that only stores values. */
class LayerInputTest {
    /** 2 input and 2 output channels, 1x1 kernel: 4 weights, 2 biases. */
    private static final ConvSpec SPEC = ConvSpec.parse("mb1ic2ih3oc2kh1");

    /**
     * 18.13: an FP64 layer's sgdStep computes w − lr·dw in FP64. Expected values by hand: with
     * lr = 0.5 (exact in binary), w − 0.5·0 = w exactly, 0.1 − 0.5·0.25 = 0.1 − 0.125 and
     * −0.3 − 0.5·0.125 = −0.3 − 0.0625 (each one double subtraction), and 1e-300 stays (a float
     * would flush it to 0); bias 0.1 − 0.5·0.2 = 0.1 − 0.1 = 0. Before the fix the weights went
     * through float: 0.10869458407872772 came back as 0.10869458317756653.
     */
    @Test
    void anFp64SgdStepComputesInFp64() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP64, 1)) {
            e.backend().upload(layer.weight(), 0, new double[]{0.10869458407872772, 0.1, -0.3, 1e-300}, 0, 4);
            e.backend().upload(layer.bias(), 0, new double[]{0.1, -2}, 0, 2);
            e.backend().upload(layer.gradWeight(), 0, new double[]{0, 0.25, 0.125, 0}, 0, 4);
            e.backend().upload(layer.gradBias(), 0, new double[]{0.2, 0}, 0, 2);
            layer.sgdStep(0.5f);
            assertArrayEquals(new double[]{0.10869458407872772, 0.1 - 0.125, -0.3 - 0.0625, 1e-300}, e.downloadDoubles(layer.weight()));
            assertArrayEquals(new double[]{0, -2}, e.downloadDoubles(layer.bias()));
            // a learning rate that float cannot hold: 0.1 as a double, not 0.100000001490116…
            layer.sgdStep(0.1);
            assertEquals(0.1 - 0.125 - 0.1 * 0.25, e.downloadDoubles(layer.weight())[1]);
        }
    }

    /**
     * The layer asks the backend for a device step first (ConvBackend.sgdStep) and steps on the host
     * only when it declines. The memory backend's "device" step marks itself by doing the step and
     * counting; the host path must give the same values. By hand (FP32, lr = 0.5): weights
     * 1 − 0.5·0.5 = 0.75 and −2 − 0.5·(−1) = −1.5; bias 0.25 − 0.5·0.25 = 0.125 and 0 − 0 = 0.
     */
    @Test
    void sgdStepUsesTheBackendsDeviceStepWhenOfferedAndTheHostOtherwise() {
        for (boolean device : new boolean[]{true, false}) {
            MemoryBackend b = new MemoryBackend();
            b.deviceSgd = device;
            try (ConvEngine e = ConvEngine.wrap(b);
                 ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 1)) {
                e.backend().upload(layer.weight(), 0, new float[]{1, -2, 1, -2}, 0, 4);
                e.backend().upload(layer.bias(), 0, new float[]{0.25f, 0}, 0, 2);
                e.backend().upload(layer.gradWeight(), 0, new float[]{0.5f, -1, 0.5f, -1}, 0, 4);
                e.backend().upload(layer.gradBias(), 0, new float[]{0.25f, 0}, 0, 2);
                layer.sgdStep(0.5f);
                assertArrayEquals(new float[]{0.75f, -1.5f, 0.75f, -1.5f}, e.downloadFloats(layer.weight()), "device " + device);
                assertArrayEquals(new float[]{0.125f, 0}, e.downloadFloats(layer.bias()), "device " + device);
                assertEquals(device ? 2 : 0, b.sgdSteps.get(), "weight and bias stepped by the backend only when it offers it");
            }
        }
    }

    /** setWeight(double[]) / setBias(double[]) / weightDoubles() keep FP64 values exactly. */
    @Test
    void fp64WeightsGoInAndOutExactly() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP64, 1)) {
            double[] w = {0.10869458407872772, Math.PI, -Math.E, 1e-300};
            layer.setWeight(w);
            layer.setBias(new double[]{Math.PI, 0});
            assertArrayEquals(w, layer.weightDoubles());
            assertArrayEquals(new double[]{Math.PI, 0}, e.downloadDoubles(layer.bias()));
        }
    }

    /** The FP32 path is unchanged: w ← w − lr·dw in float arithmetic (0.5 − 0.25·0.5 = 0.375, exact). */
    @Test
    void anFp32SgdStepComputesInFloat() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 1)) {
            layer.setWeight(new float[]{0.5f, 1, 0.1f, 0});
            e.backend().upload(layer.gradWeight(), 0, new float[]{0.5f, 0, 1, 0}, 0, 4);
            layer.sgdStep(0.25f);
            assertArrayEquals(new float[]{0.375f, 1, 0.1f - 0.25f, 0}, layer.weightValues());
        }
    }

    /** 12.7: NaN, infinite or negative learning rates are refused by name, and the weights stay as they were. */
    @ParameterizedTest
    @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.01})
    void aNonFiniteOrNegativeLearningRateIsRefused(double lr) {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 1)) {
            e.backend().upload(layer.gradWeight(), 0, new float[]{1, 1, 1, 1}, 0, 4);
            float[] before = layer.weightValues();
            IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> layer.sgdStep((float) lr));
            assertTrue(f.getMessage().startsWith("learningRate = " + (float) lr + ": must be a finite number >= 0"), f.getMessage());
            assertTrue(f.getMessage().contains("e.g. learningRate = 0.01"), f.getMessage());
            IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> layer.sgdStep(lr));
            assertTrue(d.getMessage().startsWith("learningRate = " + lr), d.getMessage());
            assertArrayEquals(before, layer.weightValues(), "a refused step changes nothing");
        }
    }

    /** A double learning rate beyond float's range cannot drive an FP32 layer (it would become infinity). */
    @Test
    void aLearningRateOutsideFloatRangeIsRefusedForAnFp32Layer() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 1)) {
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> layer.sgdStep(1e300));
            assertTrue(x.getMessage().contains("fits a float"), x.getMessage());
        }
    }

    /** An input of the wrong dtype is named as such (before: the engine blamed w and advised the wrong dtype). */
    @Test
    void anInputOfAnotherDtypeIsNamed() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 1);
             DeviceBuffer x = e.allocate(DType.FP64, SPEC.inputShape())) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> layer.forward(x));
            assertTrue(ex.getMessage().startsWith("x dtype = FP64: this layer computes in FP32"), ex.getMessage());
            IllegalArgumentException n = assertThrows(IllegalArgumentException.class, () -> layer.forward(null));
            assertTrue(n.getMessage().startsWith("x = null"), n.getMessage());
        }
    }

    /** A mask given to a v1 deformable layer was silently ignored; now it is refused. */
    @Test
    void aMaskForADeformableV1LayerIsRefused() {
        ConvSpec v1 = ConvSpec.parse("dg1mb1ic2ih5oc2kh3ph1");
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend());
             DeformableConvLayer layer = new DeformableConvLayer(e, v1);
             DeviceBuffer x = e.allocate(DType.FP32, v1.inputShape());
             DeviceBuffer off = e.allocate(DType.FP32, v1.offsetShape());
             DeviceBuffer mask = e.allocate(DType.FP32, io.github.jconv.Shape.of(1, 9, 5, 5))) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> layer.forward(x, off, mask));
            assertTrue(ex.getMessage().contains("mask(false)"), ex.getMessage());
            assertNull(layer.gradOffset());
        }
    }

    /** Backward without a forward on this thread, and any call after close, are IllegalStateException. */
    @Test
    void backwardBeforeForwardAndUseAfterCloseAreIllegalState() {
        try (ConvEngine e = ConvEngine.wrap(new MemoryBackend())) {
            ConvLayer layer = new ConvLayer(e, SPEC, DType.FP32, 1);
            DeviceBuffer dy = e.allocate(DType.FP32, SPEC.outputShape());
            IllegalStateException b = assertThrows(IllegalStateException.class, () -> layer.backward(dy));
            assertTrue(b.getMessage().contains("backward before forward"), b.getMessage());
            layer.close();
            layer.close();
            assertThrows(IllegalStateException.class, () -> layer.sgdStep(0.1f));
            assertThrows(IllegalStateException.class, () -> layer.setWeight(new float[4]));
            assertThrows(IllegalStateException.class, layer::weightValues);
            dy.close();
            assertEquals(0, e.backend().tracker().liveBuffers(), "closing the layer freed its buffers");
        }
    }
}
