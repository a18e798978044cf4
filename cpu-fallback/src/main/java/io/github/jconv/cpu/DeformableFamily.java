package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.Support;

/**
 * Deformable convolution v1 and v2 (modulated): bilinear sampling into column tiles (and back), then GEMM,
 * every pass including the offset and mask gradients. Kernels: {@link FloatDeformablePasses} and its FP64 twin.
 */
final class DeformableFamily implements CpuFamily {
    @Override
    public boolean runs(CpuAlgorithm alg) {
        return alg == CpuAlgorithm.DEFORMABLE_IM2COL_GEMM;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass) {
        return pass == Pass.BACKWARD_BIAS ? Support.no("the bias gradient is the channel-sum family's") : Support.yes();
    }

    /**
     * The data gradient and the offset/mask gradients of one call together ({@link io.github.jconv.spi.ConvBackend#executeAll}):
     * one column gradient Wᵀ·dY per tile for both where that keeps the workers busy, else the two passes one after the
     * other; the same bits either way. Returns whether they were fused.
     */
    boolean runDataAndOffsetMask(ConvSpec spec, ConvArgs a, DType dtype, WorkerPool pool) {
        Geometry g = Geometry.of(spec);
        if (!FloatDeformablePasses.fuseBackward(g, pool.threads())) {
            run(CpuAlgorithm.DEFORMABLE_IM2COL_GEMM, Pass.BACKWARD_DATA, spec, a, dtype, pool);
            run(CpuAlgorithm.DEFORMABLE_IM2COL_GEMM, Pass.BACKWARD_OFFSET_MASK, spec, a, dtype, pool);
            return false;
        }
        boolean m = spec.modulated();
        if (dtype == DType.FP32) {
            FloatDeformablePasses.deformableBackwardDataOffsetMask(g, FloatPasses.floats(a, Role.X), FloatPasses.floats(a, Role.OFFSET),
                    m ? FloatPasses.floats(a, Role.MASK) : null, FloatPasses.floats(a, Role.W), FloatPasses.floats(a, Role.DY),
                    FloatPasses.floats(a, Role.DX), FloatPasses.floats(a, Role.DOFFSET), m ? FloatPasses.floats(a, Role.DMASK) : null, pool);
        } else {
            DoubleDeformablePasses.deformableBackwardDataOffsetMask(g, DoublePasses.doubles(a, Role.X), DoublePasses.doubles(a, Role.OFFSET),
                    m ? DoublePasses.doubles(a, Role.MASK) : null, DoublePasses.doubles(a, Role.W), DoublePasses.doubles(a, Role.DY),
                    DoublePasses.doubles(a, Role.DX), DoublePasses.doubles(a, Role.DOFFSET), m ? DoublePasses.doubles(a, Role.DMASK) : null, pool);
        }
        return true;
    }

    @Override
    public void run(CpuAlgorithm alg, Pass pass, ConvSpec spec, ConvArgs a, DType dtype, WorkerPool pool) {
        Geometry g = Geometry.of(spec);
        boolean m = spec.modulated();
        if (dtype == DType.FP32) {
            float[] off = FloatPasses.floats(a, Role.OFFSET), mask = m ? FloatPasses.floats(a, Role.MASK) : null;
            switch (pass) {
                case FORWARD -> FloatDeformablePasses.deformableForward(g, FloatPasses.floats(a, Role.X), off, mask,
                        FloatPasses.floats(a, Role.W), FloatPasses.floats(a, Role.B), FloatPasses.floats(a, Role.Y), pool);
                case BACKWARD_DATA -> FloatDeformablePasses.deformableBackwardData(g, FloatPasses.floats(a, Role.DY), off, mask,
                        FloatPasses.floats(a, Role.W), FloatPasses.floats(a, Role.DX), pool);
                case BACKWARD_WEIGHT -> FloatDeformablePasses.deformableBackwardWeight(g, FloatPasses.floats(a, Role.X), off, mask,
                        FloatPasses.floats(a, Role.DY), FloatPasses.floats(a, Role.DW), pool);
                case BACKWARD_OFFSET_MASK -> FloatDeformablePasses.deformableBackwardOffsetMask(g, FloatPasses.floats(a, Role.X), off, mask,
                        FloatPasses.floats(a, Role.W), FloatPasses.floats(a, Role.DY), FloatPasses.floats(a, Role.DOFFSET),
                        m ? FloatPasses.floats(a, Role.DMASK) : null, pool);
                default -> throw ViewPass.unsupported(pass, spec);
            }
        } else {
            double[] off = DoublePasses.doubles(a, Role.OFFSET), mask = m ? DoublePasses.doubles(a, Role.MASK) : null;
            switch (pass) {
                case FORWARD -> DoubleDeformablePasses.deformableForward(g, DoublePasses.doubles(a, Role.X), off, mask,
                        DoublePasses.doubles(a, Role.W), DoublePasses.doubles(a, Role.B), DoublePasses.doubles(a, Role.Y), pool);
                case BACKWARD_DATA -> DoubleDeformablePasses.deformableBackwardData(g, DoublePasses.doubles(a, Role.DY), off, mask,
                        DoublePasses.doubles(a, Role.W), DoublePasses.doubles(a, Role.DX), pool);
                case BACKWARD_WEIGHT -> DoubleDeformablePasses.deformableBackwardWeight(g, DoublePasses.doubles(a, Role.X), off, mask,
                        DoublePasses.doubles(a, Role.DY), DoublePasses.doubles(a, Role.DW), pool);
                case BACKWARD_OFFSET_MASK -> DoubleDeformablePasses.deformableBackwardOffsetMask(g, DoublePasses.doubles(a, Role.X), off, mask,
                        DoublePasses.doubles(a, Role.W), DoublePasses.doubles(a, Role.DY), DoublePasses.doubles(a, Role.DOFFSET),
                        m ? DoublePasses.doubles(a, Role.DMASK) : null, pool);
                default -> throw ViewPass.unsupported(pass, spec);
            }
        }
    }
}
