package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Role;

import java.util.function.Function;

/**
 * The bias gradient of the 2-byte storage types through jconv's own reduction (bias_grad.cu):
 * cuDNN's {@code cudnnConvolutionBackwardBias} refuses BF16, and for FP16 a float accumulator
 * matches what PyTorch does. One block per output channel, the sum in float over every batch item
 * and output position, rounded once to the storage type; the whole batch in one launch (64-bit
 * indexing), so no batch slicing and no rounding between slices.
 */
final class BiasGradKernel {
    /** Threads per block; bias_grad.cu is compiled with this as BIAS_WG (checked by PtxBuildTest). */
    static final int WG = 256;
    static final String PTX = "bias_grad.ptx";

    private BiasGradKernel() {
    }

    /** Whether {@code dtype}'s bias gradient runs here instead of in cuDNN. */
    static boolean handles(DType dtype) {
        return dtype == DType.FP16 || dtype == DType.BF16;
    }

    static String kernel(DType dtype) {
        return switch (dtype) {
            case FP16 -> "bias_grad_f16";
            case BF16 -> "bias_grad_bf16";
            default -> throw new IllegalArgumentException("dtype = " + dtype + ": bias_grad.cu has FP16 and BF16 kernels only; e.g. BF16");
        };
    }

    /** The launch: one block of {@link #WG} threads per output channel; arguments as bias_grad.cu declares them. */
    static KernelLaunch.Launch launch(ConvSpec spec, DType dtype, Function<Role, Object> buf) {
        return new KernelLaunch.Launch(kernel(dtype), spec.outChannels(), WG,
                KernelLaunch.flat(buf.apply(Role.DY), buf.apply(Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial()));
    }

    static String run(DeviceContext ctx, ConvSpec spec, DType dtype, ConvArgs args) {
        KernelLaunch.Launch l = launch(spec, dtype, r -> ((CudaBuffer) args.get(r)).ptr);
        ctx.launch(ctx.function(PTX, l.kernel()), l.kernel(), l.blocks(), l.threads(), KernelLaunch.args(l.args()), spec.toString());
        return "jconv kernel " + l.kernel() + " (float accumulation)";
    }
}
