package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.Support;

/**
 * Convolution and transposed convolution (any rank, groups, dilation) and the bias gradient on cuDNN
 * ({@link CudnnPlan} maps each pass onto cuDNN's calls; {@link CudnnRunner} makes them). The plan is the
 * route: nothing to compute (batch 0), jconv's bias-gradient kernel (FP16/BF16), one cuDNN call for the whole
 * batch, batch slices within cuDNN's int indexing, or the spatial split of a batch item over that limit.
 */
final class CudnnFamily implements CudaFamily<CudnnFamily.Route> {
    /** How a pass runs. */
    enum Kind {
        /** Batch 0: cuDNN refuses N = 0; the outputs are empty, or sums over no item, zero-filled. */
        EMPTY_BATCH,
        /** The bias gradient of FP16/BF16 in jconv's kernel (cuDNN's refuses BF16; both reduce in float). */
        BIAS_KERNEL,
        /** One batch item is over cuDNN's element limit: {@link SpatialSplit}'s parts, per item. */
        SPATIAL_SPLIT,
        /** The whole batch in one cuDNN call. */
        WHOLE,
        /** Batch slices of {@link Route#slice} items (weight and bias gradients accumulate over them). */
        BATCH_SLICES
    }

    /** The route of one pass; {@code slice} is {@link CudnnPlan#batchSlice} where the route depends on it, else 0. */
    record Route(Kind kind, int slice) {
    }

    private final CudaBackend session;
    private final CudnnRunner cudnn;

    CudnnFamily(CudaBackend session, CudnnRunner cudnn) {
        this.session = session;
        this.cudnn = cudnn;
    }

    @Override
    public boolean handles(ConvSpec spec) {
        return spec.type() == ConvType.CONVOLUTION || spec.type() == ConvType.TRANSPOSED;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype, int cc) {
        return rule(spec, pass, cc);
    }

    /** The family's rule: what cuDNN takes, and the jconv kernels some routes need (PTX for compute_75 and up). */
    static Support rule(ConvSpec spec, Pass pass, int cc) {
        Support s = CudnnPlan.supports(spec, pass);
        if (!s.supported()) return s;
        if (pass != Pass.BACKWARD_BIAS && CudnnPlan.of(spec, pass).staged() && cc < 75) {
            return Support.no("asymmetric padding (or output_padding >= stride) is staged through a jconv kernel, PTX for compute_75 and up; "
                    + "this device is " + cc / 10 + "." + cc % 10 + "; use symmetric padding");
        }
        if (CudnnPlan.batchSlice(spec) == 0 && cc < 75) {
            return Support.no("a batch item over cuDNN's element limit is split through a jconv kernel, PTX for compute_75 and up; "
                    + "this device is " + cc / 10 + "." + cc % 10 + "; use a smaller input");
        }
        return Support.yes();
    }

    @Override
    public Route plan(ConvSpec spec, Pass pass, DType dtype) {
        return route(spec, pass, dtype);
    }

    /** The route of {@code pass}: pure in the spec, the pass and the dtype. */
    static Route route(ConvSpec spec, Pass pass, DType dtype) {
        if (spec.batch() == 0) return new Route(Kind.EMPTY_BATCH, 0);
        if (pass == Pass.BACKWARD_BIAS && BiasGradKernel.handles(dtype)) return new Route(Kind.BIAS_KERNEL, 0);
        int slice = CudnnPlan.batchSlice(spec);
        if (slice == 0) return new Route(Kind.SPATIAL_SPLIT, 0);
        if (slice >= spec.batch()) return new Route(Kind.WHOLE, slice);
        return new Route(Kind.BATCH_SLICES, slice);
    }

    /**
     * Runs one pass; returns the algorithm's name. A problem whose tensors exceed cuDNN's int
     * indexing runs in batch slices (weight and bias gradients accumulate over the slices).
     */
    @Override
    public String run(Route route, Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        CudnnBases whole = CudnnBases.of(args);
        switch (route.kind()) {
            case EMPTY_BATCH -> { // cuDNN refuses N = 0; outputs are empty, or sums over no item: zero (every dtype)
                for (Role r : pass.outputs(spec)) {
                    long bytes = r.shapeFor(spec).elementCount() * dtype.bytes();
                    if (bytes > 0) session.context().zero(whole.ptr(r), bytes, spec.toString());
                }
                return "nothing to compute (batch 0)";
            }
            // cuDNN's backward bias refuses BF16; both 2-byte types reduce in float in jconv's own kernel
            case BIAS_KERNEL -> {
                return BiasGradKernel.run(session.context(), spec, dtype, args);
            }
            case SPATIAL_SPLIT -> {
                return cudnn.runSplit(pass, spec, dtype, whole);
            }
            case WHOLE -> {
                return cudnn.runSlice(pass, spec, dtype, whole, 0, false);
            }
            case BATCH_SLICES -> {
                int slice = route.slice();
                String ran = "";
                for (int n0 = 0; n0 < spec.batch(); n0 += slice) {
                    ConvSpec part = spec.toBuilder().batch(Math.min(slice, spec.batch() - n0)).build();
                    ran = cudnn.runSlice(pass, part, dtype, whole, n0, n0 > 0 && CudnnPlan.slicesAccumulate(pass));
                }
                return ran + " in batch slices of " + slice;
            }
            default -> throw new AssertionError(route);
        }
    }
}
