package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import jcuda.driver.CUdeviceptr;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The spatial-split windows: a pass whose single batch item exceeds cuDNN's element limit, run per batch item
 * in the parts of {@link SpatialSplit}'s plan, each part through {@link CudnnRunner#runSlice} on compact scratch
 * tensors that the window kernel fills and empties.
 */
final class CudnnSplitRun {
    private final CudaBackend session;
    private final cudnnContext handle;
    private final CudnnScalars scalars;
    private final CudnnDescriptors descriptors;
    private final CudnnRunner runner;

    CudnnSplitRun(CudaBackend session, cudnnContext handle, CudnnScalars scalars, CudnnDescriptors descriptors, CudnnRunner runner) {
        this.session = session;
        this.handle = handle;
        this.scalars = scalars;
        this.descriptors = descriptors;
        this.runner = runner;
    }

    /**
     * A convolution whose single batch item exceeds cuDNN's element limit, per batch item in the parts of
     * {@link SpatialSplit}'s plan. The window kernel gathers each part's operands into compact tensors (the
     * input window with its halo and zeros in the padding; the part's rows of dy), cuDNN runs the part, and:
     * forward copies the part's output rows into place; backward data adds the window's gradient into dx
     * (zeroed first; windows overlap by the halo, so the parts' sums are added in order, one after the other);
     * backward weight and bias accumulate over the parts with beta = 1.
     */
    String run(Pass pass, ConvSpec spec, DType dtype, CudnnBases whole) {
        ConvSpec item = spec.toBuilder().batch(1).build();
        String problem = spec.toString();
        SpatialSplit.Plan plan = SpatialSplit.plan(item, CudnnPlan.CUDNN_MAX_ELEMENTS);
        if (!plan.possible()) { // supports() refuses these before any call gets here
            throw new UnsupportedOperationException("cuda cannot run " + pass + " of " + problem + ": " + plan.refusal());
        }
        long es = dtype.bytes();
        int[] xDims = CudnnPlan.inputDims(item);
        int[] yDims = CudnnPlan.outputDims(item);
        int axis = spec.rank() == 1 ? 3 : 2; // the outermost spatial axis of the lifted [N, C, (D,) H, W] dims
        long xInner = 1, yInner = 1;
        for (int a = axis + 1; a < xDims.length; a++) xInner *= xDims[a];
        for (int a = axis + 1; a < yDims.length; a++) yInner *= yDims[a];
        long xsMax = 0, ysMax = 0;
        for (SpatialSplit.Part p : plan.parts()) {
            xsMax = Math.max(xsMax, p.sub().inputShape().elementCount());
            ysMax = Math.max(ysMax, p.sub().outputShape().elementCount());
        }
        long xItem = item.inputShape().elementCount(), yItem = item.outputShape().elementCount();
        int inRows = xDims[axis], outRows = yDims[axis], c = spec.inChannels(), k = spec.outChannels();
        Pointer one = scalars.one(dtype);
        DeviceContext ctx = session.context();
        List<CUdeviceptr> scratch = new ArrayList<>();
        String ran = "";
        try {
            CUdeviceptr xs = null, ys = null, xw = null;
            if (pass != Pass.BACKWARD_BIAS) {
                xs = ctx.alloc(xsMax * es, problem);
                scratch.add(xs);
            }
            ys = ctx.alloc(ysMax * es, problem);
            scratch.add(ys);
            if (pass == Pass.BACKWARD_DATA) {
                xw = ctx.alloc(xsMax * es, problem);
                scratch.add(xw);
                ctx.zero(whole.ptr(Role.DX), spec.inputShape().elementCount() * es, problem);
            }
            java.util.Map<Role, CUdeviceptr> m = new java.util.EnumMap<>(Role.class);
            switch (pass) {
                case FORWARD -> {
                    m.put(Role.X, xs);
                    m.put(Role.W, whole.ptr(Role.W));
                    if (spec.bias()) m.put(Role.B, whole.ptr(Role.B));
                    m.put(Role.Y, ys);
                }
                case BACKWARD_DATA -> {
                    m.put(Role.DY, ys);
                    m.put(Role.W, whole.ptr(Role.W));
                    m.put(Role.DX, xw);
                }
                case BACKWARD_WEIGHT -> {
                    m.put(Role.X, xs);
                    m.put(Role.DY, ys);
                    m.put(Role.DW, whole.ptr(Role.DW));
                }
                case BACKWARD_BIAS -> {
                    m.put(Role.DY, ys);
                    m.put(Role.DB, whole.ptr(Role.DB));
                }
                default -> throw new AssertionError(pass);
            }
            CudnnBases parts = CudnnBases.of(m);
            boolean first = true;
            for (int n = 0; n < spec.batch(); n++) {
                for (SpatialSplit.Part p : plan.parts()) {
                    int rows = p.outHi() - p.outLo();
                    int[] xsDims = xDims.clone();
                    xsDims[axis] = p.windowRows();
                    int[] ysDims = yDims.clone();
                    ysDims[axis] = rows;
                    if (pass == Pass.FORWARD || pass == Pass.BACKWARD_WEIGHT) { // xs[j] = x[first + j]
                        session.windowCopy(whole.ptr(Role.X).withByteOffset(n * xItem * es), xDims, xs, xsDims,
                                along(axis, xDims.length, -p.first()), dtype, problem);
                    }
                    if (pass != Pass.FORWARD) { // ys[j] = dy[outLo + j]
                        session.windowCopy(whole.ptr(Role.DY).withByteOffset(n * yItem * es), yDims, ys, ysDims,
                                along(axis, yDims.length, -p.outLo()), dtype, problem);
                    }
                    if (pass == Pass.BACKWARD_DATA) { // the window's dx so far, to add this part's gradient to
                        session.windowCopy(whole.ptr(Role.DX).withByteOffset(n * xItem * es), xDims, xs, xsDims,
                                along(axis, xDims.length, -p.first()), dtype, problem);
                    }
                    ran = runner.runSlice(pass, p.sub(), dtype, parts, 0, !first && (pass == Pass.BACKWARD_WEIGHT || pass == Pass.BACKWARD_BIAS));
                    first = false;
                    switch (pass) {
                        case FORWARD -> { // the part's rows of every output plane into place
                            for (int ch = 0; ch < k; ch++) {
                                copy(ys.withByteOffset((long) ch * rows * yInner * es),
                                        whole.ptr(Role.Y).withByteOffset(((n * (long) k + ch) * outRows + p.outLo()) * yInner * es),
                                        rows * yInner * es, problem);
                            }
                        }
                        case BACKWARD_DATA -> {
                            cudnnTensorStruct d = descriptors.tensor(xsDims, CudnnTypes.dataType(dtype), problem);
                            CudaErrors.checkCudnn(cudnnAddTensor(handle, one, d, DeviceAddress.javacpp(DeviceAddress.of(xw)), one, d,
                                    DeviceAddress.javacpp(DeviceAddress.of(xs))), "cudnnAddTensor", problem);
                            int real = p.inHi() - p.inLo(); // the window's rows inside the input go back
                            for (int ch = 0; real > 0 && ch < c; ch++) {
                                copy(xs.withByteOffset(((long) ch * p.windowRows() + p.padLo()) * xInner * es),
                                        whole.ptr(Role.DX).withByteOffset(((n * (long) c + ch) * inRows + p.inLo()) * xInner * es),
                                        real * xInner * es, problem);
                            }
                        }
                        default -> { // weight and bias gradients accumulated in place
                        }
                    }
                }
            }
            ctx.synchronize(problem); // the scratch is freed below; its last readers must be done
        } finally {
            for (CUdeviceptr q : scratch) ctx.free(q);
        }
        return ran + " in " + plan.parts().size() + " parts along the outermost spatial axis (each with its halo)";
    }

    /** A window offset of {@code shift} along the lifted axis {@code axis} of {@code rank}-dimensional dims. */
    private static int[] along(int axis, int rank, int shift) {
        int[] o = new int[rank - 2];
        o[axis - 2] = shift;
        return o;
    }

    private void copy(CUdeviceptr src, CUdeviceptr dst, long bytes, String problem) {
        CudaErrors.checkDriver(jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync(dst, src, bytes, session.context().stream),
                "cuMemcpyDtoDAsync", problem);
    }
}
