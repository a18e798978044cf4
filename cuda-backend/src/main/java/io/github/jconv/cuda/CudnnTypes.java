package io.github.jconv.cuda;

import io.github.jconv.DType;

/**
 * cuDNN's data type, compute type and math type for a jconv dtype and math mode. Numbers are
 * cuDNN 9's enum values (cudnn_graph.h / cudnn_cnn.h); a test checks them against the bindings.
 */
final class CudnnTypes {
    static final int DATA_FLOAT = 0;
    static final int DATA_DOUBLE = 1;
    static final int DATA_HALF = 2;
    static final int DATA_BFLOAT16 = 9;

    static final int DEFAULT_MATH = 0;
    static final int TENSOR_OP_MATH = 1;
    static final int FMA_MATH = 3;

    static final int CROSS_CORRELATION = 1;
    static final int TENSOR_NCHW = 0;

    private CudnnTypes() {
    }

    /** How tensors are stored. */
    static int dataType(DType dtype) {
        return switch (dtype) {
            case FP32 -> DATA_FLOAT;
            case FP64 -> DATA_DOUBLE;
            case FP16 -> DATA_HALF;
            case BF16 -> DATA_BFLOAT16;
        };
    }

    /** How the convolution accumulates: FP32 for every 16-bit storage type, FP64 for FP64. */
    static int computeType(DType dtype) {
        return dtype == DType.FP64 ? DATA_DOUBLE : DATA_FLOAT;
    }

    /**
     * Which kernels cuDNN may use. FP32 exact must exclude tensor cores, because cuDNN's default
     * math lets FP32 run as TF32 on Ampere and later.
     */
    static int mathType(DType dtype, MathMode mode) {
        return switch (dtype) {
            case FP32 -> mode == MathMode.TF32 ? TENSOR_OP_MATH : FMA_MATH;
            case FP64 -> DEFAULT_MATH;
            case FP16, BF16 -> TENSOR_OP_MATH;
        };
    }

    /**
     * Whether an algorithm result with {@code resultMath} honours the requested math type: FP32
     * exact refuses tensor-op results (TF32); cuDNN may report FMA or default math for the others.
     */
    static boolean mathAllowed(DType dtype, MathMode mode, int resultMath) {
        if (dtype == DType.FP32 && mode == MathMode.FP32) return resultMath == FMA_MATH || resultMath == DEFAULT_MATH;
        return true;
    }

    /**
     * The math type to run a chosen algorithm with: FP32 exact always runs FMA (so default math can
     * never turn into TF32); other modes run what cuDNN reported for the algorithm, as PyTorch does.
     */
    static int runMath(DType dtype, MathMode mode, int resultMath) {
        if (dtype == DType.FP32 && mode == MathMode.FP32) return FMA_MATH;
        return resultMath;
    }

    static String mathName(int math) {
        return switch (math) {
            case DEFAULT_MATH -> "default-math";
            case TENSOR_OP_MATH -> "tensor-op";
            case 2 -> "tensor-op-conversion";
            case FMA_MATH -> "fma";
            default -> "math-" + math;
        };
    }
}
