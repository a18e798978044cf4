package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * jconv.cuda.fuseBias=true against the separate add, on a GPU (skips without one): the same problems, the
 * same heuristic algorithms, outputs equal within the dtype's rounding. Fused, the bias is added before the
 * one rounding to the storage type; apart, the convolution is rounded, the bias added and rounded again, so the
 * two differ by at most about one unit in the last place of the output: 2 eps (|y| + 1) covers it
 * (eps: FP32 2^-23, FP16 2^-10, BF16 2^-7).
 */
class CudaFusedBiasGpuTest {
    static ConvBackend open(boolean fuse) {
        String before = System.getProperty(FusedBias.PROPERTY);
        System.setProperty(FusedBias.PROPERTY, Boolean.toString(fuse));
        try {
            return new CudaBackendProvider().open(0, CudaOptions.defaults().withApi(CudaOptions.Api.LEGACY)); // fusion is a legacy call
        } finally {
            if (before == null) System.clearProperty(FusedBias.PROPERTY);
            else System.setProperty(FusedBias.PROPERTY, before);
        }
    }

    @Test
    void fusedBiasMatchesTheSeparateAddWithinTheDtypesRounding() {
        ProbeResult probe = new CudaBackendProvider().probe();
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
        boolean bf16 = probe.devices().get(0).properties().get("compute capability").matches("([89]|\\d\\d)\\..*");
        List<ConvSpec> specs = List.of(
                ConvSpec.convolution().batch(4).channels(16, 32).input(20, 20).kernel(3).padding(1).bias(true).build(),
                ConvSpec.convolution().batch(2).channels(8, 16).input(9, 9).kernel(3).stride(2).bias(true).build(),
                ConvSpec.convolution().batch(2).channels(4, 8).input(6, 6, 6).kernel(3).padding(1).bias(true).build());
        int fusedRuns = 0;
        StringBuilder ran = new StringBuilder();
        try (ConvBackend fused = open(true); ConvBackend apart = open(false)) {
            for (DType dt : new DType[]{DType.FP32, DType.FP16, DType.BF16}) {
                if (dt == DType.BF16 && !bf16) continue;
                double eps = dt == DType.FP32 ? 0x1p-23 : dt == DType.FP16 ? 0x1p-10 : 0x1p-7;
                for (ConvSpec spec : specs) {
                    Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, Pass.FORWARD, new Random(spec.hashCode()));
                    double[] a = CudaGpuTest.run(fused, spec, Pass.FORWARD, dt, in);
                    String algo = fused.lastAlgorithm();
                    double[] b = CudaGpuTest.run(apart, spec, Pass.FORWARD, dt, in);
                    assertTrue(!apart.lastAlgorithm().contains("fused"), apart.lastAlgorithm());
                    if (algo.contains("fused bias")) fusedRuns++;
                    ran.append(dt).append(' ').append(spec).append(": ").append(algo).append('\n');
                    assertEquals(b.length, a.length);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(b[i], a[i], 2 * eps * (Math.abs(b[i]) + 1), dt + " " + spec + " [" + i + "] fused ran " + algo
                                + ", apart ran " + apart.lastAlgorithm());
                    }
                }
            }
        }
        // the heuristics put IMPLICIT_PRECOMP_GEMM first for some of these; if none, fusion was never exercised
        assertTrue(fusedRuns > 0, "no case ran the fused call:\n" + ran);
    }
}
