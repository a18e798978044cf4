package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --dtype / --math: parsed, labelled, and checked against each backend's dtypes (cpu 2, opencl 3, cuda 4; tf32 cuda only). */
class PrecisionTest {
    @Test
    void eachBackendTakesItsDtypesAndOnlyCudaTakesTf32() {
        for (String d : new String[] {"fp32", "fp64", "fp16", "bf16"}) Precision.parse(d, "fp32").checkBackend("cuda");
        Precision.parse("fp32", "tf32").checkBackend("cuda");
        Precision.parse("fp16", "fp32").checkBackend("opencl");
        Precision.parse("fp64", "fp32").checkBackend("cpu");
        IllegalArgumentException bf16 = assertThrows(IllegalArgumentException.class,
                () -> Precision.parse("bf16", "fp32").checkBackend("opencl"));
        assertEquals("dtype = bf16: the opencl backend supports fp32, fp64, fp16; e.g. --dtype fp32", bf16.getMessage());
        IllegalArgumentException tf32 = assertThrows(IllegalArgumentException.class,
                () -> Precision.parse("fp32", "tf32").checkBackend("opencl"));
        assertTrue(tf32.getMessage().startsWith("math = tf32: only the cuda backend has TF32 math"), tf32.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16", "tf32"));
    }

    @Test
    void theLabelIsTheModeColumnOfThePeerScript() {
        assertEquals("tf32", Precision.parse("FP32", "TF32").label());
        assertEquals("bf16", Precision.parse("bfloat16", "fp32").label());
        assertEquals(DType.FP16, Precision.parse("fp16", "fp32").dtype());
        assertEquals("fp64", Precision.parse(" fp64 ", "fp32").dtypeName());
    }

    @Test
    void theCudaMathPropertyIsSetOnlyWhileTheEngineOpens() {
        String before = System.getProperty(BackendAccess.CUDA_MATH_PROPERTY);
        try {
            System.clearProperty(BackendAccess.CUDA_MATH_PROPERTY);
            try (ConvEngine e = BackendAccess.open("cpu", 1, "tf32")) {
                assertEquals("cpu", e.backendName());
            }
            assertNull(System.getProperty(BackendAccess.CUDA_MATH_PROPERTY), "put back as it was");
        } finally {
            if (before != null) System.setProperty(BackendAccess.CUDA_MATH_PROPERTY, before);
        }
    }
}
