package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;

/**
 * The strided-transposed route: backward data of a dense strided convolution, and so the forward pass of a
 * dense strided transposed one, as one unit-stride gather (im2col + GEMM) per output phase ({@link Phases}).
 * Kernels: {@link FloatPhasePasses} and its FP64 twin.
 */
final class PhaseFamily implements CpuFamily {
    @Override
    public boolean runs(CpuAlgorithm alg) {
        return alg == CpuAlgorithm.PHASE_GEMM;
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
            FloatPhasePasses.run(v, g, args, pool);
        } else {
            DoublePhasePasses.run(v, g, args, pool);
        }
    }
}
