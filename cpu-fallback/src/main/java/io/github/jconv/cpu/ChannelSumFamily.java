package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.Support;

/** The bias gradient of every convolution type: a sum of dy over batch and space per output channel ({@link FloatPasses#channelSum}). */
final class ChannelSumFamily implements CpuFamily {
    @Override
    public boolean runs(CpuAlgorithm alg) {
        return alg == CpuAlgorithm.CHANNEL_SUM;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass) {
        return Support.yes();
    }

    @Override
    public void run(CpuAlgorithm alg, Pass pass, ConvSpec spec, ConvArgs a, DType dtype, WorkerPool pool) {
        int spatial = (int) spec.outputSpatial();
        if (dtype == DType.FP32) {
            FloatPasses.channelSum(spec.batch(), spec.outChannels(), spatial, FloatPasses.floats(a, Role.DY), FloatPasses.floats(a, Role.DB), pool);
        } else {
            DoublePasses.channelSum(spec.batch(), spec.outChannels(), spatial, DoublePasses.doubles(a, Role.DY), DoublePasses.doubles(a, Role.DB), pool);
        }
    }
}
