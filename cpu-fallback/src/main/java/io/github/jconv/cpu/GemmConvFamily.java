package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;

/**
 * Convolution and transposed convolution (any rank, groups, dilation) by GEMM: im2col/vol2col tiles (the input
 * itself where pointwise; read in place by the implicit GEMM where the stride is 1 and the Vector API is there), backward data as the flipped-kernel gather or as GEMM then col2im, the weight gradient
 * over fixed batch chunks. Kernels: {@link FloatConvPasses} and its FP64 twin.
 */
final class GemmConvFamily implements CpuFamily {
    @Override
    public boolean runs(CpuAlgorithm alg) {
        return alg == CpuAlgorithm.IM2COL_GEMM || alg == CpuAlgorithm.IMPLICIT_GEMM || alg == CpuAlgorithm.POINTWISE_GEMM
                || alg == CpuAlgorithm.GEMM_COL2IM;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass) {
        return ViewPass.support(spec, pass);
    }

    @Override
    public void run(CpuAlgorithm alg, Pass pass, ConvSpec spec, ConvArgs args, DType dtype, WorkerPool pool) {
        ViewPass v = ViewPass.of(spec, pass);
        Geometry g = Geometry.of(spec);
        if (dtype == DType.FP32) {
            FloatConvPasses.run(v, g, alg, args, pool);
        } else {
            DoubleConvPasses.run(v, g, alg, args, pool);
        }
    }
}
