package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;

/**
 * Depthwise convolution and transposed convolution (one channel in and out per group): direct tap loops, no
 * column matrix. Kernels: {@link FloatDepthwisePasses} (with {@link FloatDepthwise}'s shifted-row kernels) and
 * their FP64 twins.
 */
final class DepthwiseFamily implements CpuFamily {
    @Override
    public boolean runs(CpuAlgorithm alg) {
        return alg == CpuAlgorithm.DIRECT_DEPTHWISE;
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
            FloatDepthwisePasses.run(v, g, args, pool);
        } else {
            DoubleDepthwisePasses.run(v, g, args, pool);
        }
    }
}
