package io.github.jconv.cuda;

import io.github.jconv.DType;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When the forward bias is fused into cuDNN's convolution: a pure rule, no GPU. */
class FusedBiasTest {
    static final int PRECOMP = FusedBias.IMPLICIT_PRECOMP_GEMM;
    static final CudnnPlan.Op FWD = CudnnPlan.Op.FORWARD;

    @Test
    void appliesToForwardWithBiasInFloatAndHalfTypesWithImplicitPrecompGemmOnly() {
        assertTrue(FusedBias.applies(true, FWD, true, DType.FP32, 4, PRECOMP), "FP32 2D");
        assertTrue(FusedBias.applies(true, FWD, true, DType.FP32, 5, PRECOMP), "FP32 3D");
        // the H200 run showed the fused FP16 call 13 FP16 steps away from the separate add: FP32 only
        for (DType t : new DType[]{DType.FP16, DType.BF16}) assertFalse(FusedBias.applies(true, FWD, true, t, 4, PRECOMP), t.toString());
        assertFalse(FusedBias.applies(false, FWD, true, DType.FP32, 4, PRECOMP), "off unless enabled");
        assertFalse(FusedBias.applies(true, FWD, false, DType.FP32, 4, PRECOMP), "no bias: nothing to fuse");
        assertFalse(FusedBias.applies(true, FWD, true, DType.FP64, 4, PRECOMP), "FP64 is not among the fused configurations");
        // a transposed forward runs cuDNN's backward-data convolution, which has no fused form
        assertFalse(FusedBias.applies(true, CudnnPlan.Op.BACKWARD_DATA, true, DType.FP32, 4, PRECOMP));
        assertFalse(FusedBias.applies(true, CudnnPlan.Op.BACKWARD_FILTER, true, DType.FP32, 4, PRECOMP));
        // cuDNN allows the identity activation with IMPLICIT_PRECOMP_GEMM only: every other forward algorithm is refused
        for (int algo = 0; algo < AlgoSelection.algoCount(FWD); algo++) {
            if (algo != PRECOMP) assertFalse(FusedBias.applies(true, FWD, true, DType.FP32, 4, algo), AlgoSelection.algoName(FWD, algo));
        }
        assertTrue("IMPLICIT_PRECOMP_GEMM".equals(AlgoSelection.algoName(FWD, PRECOMP)), "the constant is cuDNN's enum value 1");
        assertFalse(FusedBias.applies(true, FWD, true, DType.FP32, 3, PRECOMP), "descriptors are 4D (2D, lifted 1D) or 5D (3D)");
        assertFalse(FusedBias.applies(true, FWD, true, DType.FP32, 6, PRECOMP));
    }

    @Test
    void enabledReadsThePropertyThenTheEnvironmentAndRefusesOtherWords() {
        Properties p = new Properties();
        assertFalse(FusedBias.enabled(p, Map.of()), "default off until a GPU run measures it");
        assertTrue(FusedBias.enabled(p, Map.of(FusedBias.ENV, "true")));
        p.setProperty(FusedBias.PROPERTY, " FALSE ");
        assertFalse(FusedBias.enabled(p, Map.of(FusedBias.ENV, "true")), "the property wins");
        p.setProperty(FusedBias.PROPERTY, "yes");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FusedBias.enabled(p, Map.of()));
        assertTrue(e.getMessage().contains("jconv.cuda.fuseBias = yes: must be true or false"), e.getMessage());
    }
}
