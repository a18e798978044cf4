package io.github.jconv.cuda;

import io.github.jconv.DType;

import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * When the forward bias is added inside the convolution ({@code cudnnConvolutionBiasActivationForward} with an
 * identity activation) instead of by a separate {@code cudnnAddTensor} over the whole output. cuDNN accepts the
 * identity activation only with {@code CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM}, so fusion applies when
 * that algorithm is the one chosen; otherwise (and whenever cuDNN reports the fused call unsupported) the
 * convolution and the add run apart, as before.
 * <p>
 * Off unless {@code jconv.cuda.fuseBias=true} (or {@code JCONV_CUDA_FUSE_BIAS=true}) until a GPU run measures it
 * against the separate add.
 */
final class FusedBias {
    static final String PROPERTY = "jconv.cuda.fuseBias";
    static final String ENV = "JCONV_CUDA_FUSE_BIAS";
    /** cudnnConvolutionFwdAlgo_t: CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM. */
    static final int IMPLICIT_PRECOMP_GEMM = 1;

    private FusedBias() {
    }

    static boolean enabled(Properties props, Map<String, String> env) {
        String v = props.getProperty(PROPERTY);
        if (v == null || v.isBlank()) v = env.get(ENV);
        if (v == null || v.isBlank()) return false;
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (!s.equals("true") && !s.equals("false")) {
            throw new IllegalArgumentException(PROPERTY + " = " + v + ": must be true or false; e.g. false");
        }
        return s.equals("true");
    }

    /**
     * True when the bias goes into the convolution call: fusion enabled, cuDNN's forward convolution (not the
     * backward-data one a transposed forward runs) with a bias to add, FP32 data, a 4- or 5-dimensional
     * descriptor (2D or 3D to cuDNN; 1D problems are lifted to 2D) and the IMPLICIT_PRECOMP_GEMM algorithm.
     * Not FP16/BF16: on the H200 (2026-11-30) cuDNN's fused FP16 call differed from the convolution followed by the
     * add by 13 FP16 steps on a value of 0.43 (0.4265 against 0.4297), more than the two roundings between them explain.
     */
    static boolean applies(boolean enabled, CudnnPlan.Op op, boolean addBias, DType dtype, int descriptorDims, int algo) {
        return enabled && op == CudnnPlan.Op.FORWARD && addBias
                && dtype == DType.FP32
                && (descriptorDims == 4 || descriptorDims == 5)
                && algo == IMPLICIT_PRECOMP_GEMM;
    }
}
