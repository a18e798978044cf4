package io.github.jconv.opencl;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenCL settings are values of the session: two sessions of one JVM run different kernels, no property set. */
class OpenClOptionsTest {
    private static EngineOptions.Builder opencl(String algorithm) {
        return EngineOptions.builder().backend("opencl").fallback(FallbackPolicy.FAIL)
                .set(Algorithms.MODE_PROPERTY, algorithm).set(ClSettings.IMPLICIT_GEMM_PROPERTY, "false");
    }

    @Test
    void twoSessionsWithDifferentAlgorithmsInOneJvm() {
        OpenClTestSupport.openOrSkip().close();
        ConvSpec spec = ConvSpec.parse("mb2ic3ih9oc5kh3sh2ph1");
        float[] x = new float[(int) spec.inputShape().elementCount()];
        float[] w = new float[(int) spec.weightShape().elementCount()];
        for (int i = 0; i < x.length; i++) x[i] = (i % 7) - 3;
        for (int i = 0; i < w.length; i++) w[i] = (i % 5) - 2;
        try (ConvEngine direct = ConvEngine.open(opencl("direct").build());
             ConvEngine gemm = ConvEngine.open(opencl("gemm").build())) {
            float[] a = forward(direct, spec, x, w);
            float[] b = forward(gemm, spec, x, w);
            assertEquals("direct", direct.lastAlgorithm());
            assertEquals("im2col+gemm", gemm.lastAlgorithm());
            // small integers: every product and sum is exact in FP32, so both kernels agree to the bit
            assertArrayEquals(a, b);
        }
        assertNull(System.getProperty(Algorithms.MODE_PROPERTY), "nothing was set globally");
    }

    private static float[] forward(ConvEngine e, ConvSpec spec, float[] x, float[] w) {
        try (DeviceBuffer xb = e.upload(x, spec.inputShape()); DeviceBuffer wb = e.upload(w, spec.weightShape());
             DeviceBuffer bb = e.upload(new float[spec.outChannels()], spec.biasShape());
             DeviceBuffer y = e.forward(spec, xb, wb, bb)) {
            return e.downloadFloats(y);
        }
    }

    @Test
    void settingsBecomeTypedOptionsAndBadOnesAreRefusedByName() {
        OpenClOptions o = OpenClOptions.of(EngineOptions.builder().set("jconv.opencl.splitK", "3").set("jconv.opencl.splitK.force", "true")
                .set("jconv.opencl.columnBudgetBytes", "4096").set("jconv.cache.dir", "/tmp/jc").build());
        assertEquals(3, o.splitK());
        assertTrue(o.splitKForce());
        assertEquals(4096, o.columnBudgetBytes());
        assertEquals(Path.of("/tmp/jc", "opencl"), o.cacheDir());
        OpenClOptions d = OpenClOptions.defaults();
        assertEquals(OpenClOptions.DEFAULT_COLUMN_BUDGET, d.columnBudgetBytes());
        assertEquals("auto", d.algorithm());
        assertNull(d.implicitGemm());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpenClOptions.of(EngineOptions.builder().set("jconv.opencl.algorithm", "winograd").build()));
        assertTrue(e.getMessage().contains("jconv.opencl.algorithm = winograd"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OpenClOptions.of(EngineOptions.builder().set("jconv.opencl.splitK", "few").build()));
        assertTrue(e.getMessage().contains("jconv.opencl.splitK = few"), e.getMessage());
    }
}
