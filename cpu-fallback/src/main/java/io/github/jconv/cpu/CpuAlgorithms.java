package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;

/**
 * Algorithm selection, a pure function of the spec, the pass and whether the JVM has the Vector API (the
 * implicit GEMM needs it); execution lives in the families ({@link CpuFamily}).
 */
public final class CpuAlgorithms {
    private CpuAlgorithms() {
    }

    public static CpuAlgorithm choose(ConvSpec spec, Pass pass) {
        if (pass == Pass.BACKWARD_BIAS) return CpuAlgorithm.CHANNEL_SUM;
        if (spec.type() == ConvType.DEFORMABLE) return CpuAlgorithm.DEFORMABLE_IM2COL_GEMM;
        Geometry geo = Geometry.of(spec);
        if (geo.depthwise()) return CpuAlgorithm.DIRECT_DEPTHWISE;
        if (geo.pointwise()) return CpuAlgorithm.POINTWISE_GEMM;
        // Convolution's backward data and transposed forward scatter columns back onto an image.
        boolean transposed = spec.type() == ConvType.TRANSPOSED;
        boolean scatter = transposed ? pass == Pass.FORWARD : pass == Pass.BACKWARD_DATA;
        // A unit-stride scatter is a gather with the flipped kernel, which needs no col2im.
        if (!scatter || geo.adjointIsConvolution()) {
            Geometry gather = scatter ? geo.adjoint() : geo;
            return FloatGemm.VECTOR && ImplicitGemm.applies(gather) ? CpuAlgorithm.IMPLICIT_GEMM : CpuAlgorithm.IM2COL_GEMM;
        }
        return geo.splitsIntoPhases() ? CpuAlgorithm.PHASE_GEMM : CpuAlgorithm.GEMM_COL2IM;
    }
}
