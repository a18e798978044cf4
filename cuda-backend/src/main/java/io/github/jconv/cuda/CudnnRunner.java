package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import jcuda.driver.CUdeviceptr;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.Pointer;

import java.util.List;

import static io.github.jconv.cuda.CudnnBases.at;
import static io.github.jconv.cuda.CudnnBases.ptrAt;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * Runs a {@link CudnnPlan} on one session's cuDNN handle: the plan, its descriptors and its algorithm
 * key prepared once per (problem, pass, dtype) and kept ({@link PreparedPlans}, {@link CudnnDescriptors}),
 * the graph API where it runs ({@link CudnnGraph}), else the legacy calls ({@link CudnnLegacy}: the algorithm
 * from {@link AlgoSelection}, cached per key, the workspace from the session's scratch), staging through the
 * window kernel where the plan says so, batch slices, and the spatial-split windows ({@link CudnnSplitRun}).
 */
final class CudnnRunner implements AutoCloseable {
    private final CudaBackend session;
    private final cudnnContext handle = new cudnnContext();
    private final CudnnScalars scalars = new CudnnScalars();
    private final CudnnDescriptors descriptors = new CudnnDescriptors();
    private final PreparedPlans prepared;
    private final CudnnLegacy legacy;
    private final CudnnSplitRun split;

    /** jconv.cuda.fuseBias: the forward bias inside the convolution where cuDNN can ({@link FusedBias}). */
    private final boolean fuseBias;
    /** jconv.cuda.api=graph: the graph API's path ({@link CudnnGraph}); null for the legacy API. */
    private final CudnnGraph graph;

    CudnnRunner(CudaBackend session) {
        this.session = session;
        this.fuseBias = FusedBias.enabled(session.engineOptions().properties(), session.engineOptions().environment()); // before any native handle exists
        CudaErrors.checkCudnn(cudnnCreate(handle), "cudnnCreate", "");
        CudaErrors.checkCudnn(cudnnSetStream(handle, new CUstream_st(DeviceAddress.javacpp(session.context().streamAddress()))),
                "cudnnSetStream", "");
        this.graph = session.options().api() == CudaOptions.Api.GRAPH ? new CudnnGraph(session, handle) : null;
        this.prepared = new PreparedPlans(session, descriptors);
        this.legacy = new CudnnLegacy(session, handle);
        this.split = new CudnnSplitRun(session, handle, scalars, descriptors, this);
    }

    /** A pass whose single batch item is over cuDNN's element limit, in {@link SpatialSplit}'s parts ({@link CudnnSplitRun}). */
    String runSplit(Pass pass, ConvSpec spec, DType dtype, CudnnBases whole) {
        return split.run(pass, spec, dtype, whole);
    }

    /**
     * One pass of a plain convolution on device memory the caller binds by role (deformable's column GEMM:
     * {@link DeformableFamily} runs a 1x1 convolution over its column buffer), through the same prepared plans,
     * algorithm choice and workspace as {@link CudnnFamily}'s runs. {@code accumulate} adds the weight gradient to what dw
     * holds (beta = 1), for chunks of a batch. The caller keeps every tensor within cuDNN's int indexing.
     */
    String runBound(Pass pass, ConvSpec spec, DType dtype, java.util.Map<Role, CUdeviceptr> ptrs, boolean accumulate) {
        if (spec.batch() < 1 || CudnnPlan.batchSlice(spec) < spec.batch()) {
            throw new IllegalArgumentException("spec = " + spec + ": a bound cuDNN call takes 1 to " + CudnnPlan.batchSlice(spec)
                    + " batch items (int indexing); split the batch into chunks");
        }
        if (accumulate && pass != Pass.BACKWARD_WEIGHT) {
            throw new IllegalArgumentException("accumulate = true for " + pass + ": only BACKWARD_WEIGHT adds into its output");
        }
        // an accumulating call in benchmark mode is timed on a scratch dw by runSlice itself (the sum so far is kept)
        return runSlice(pass, spec, dtype, CudnnBases.of(ptrs), 0, accumulate);
    }

    String runSlice(Pass pass, ConvSpec spec, DType dtype, CudnnBases args, int n0, boolean accumulate) {
        PreparedPlans.Prepared prep = prepared.prepare(pass, spec, dtype);
        CudnnPlan plan = prep.plan();
        String problem = prep.problem();
        Pointer one = scalars.one(dtype);
        Pointer zero = scalars.zero(dtype);
        if (plan.op() == CudnnPlan.Op.BACKWARD_BIAS) {
            cudnnTensorStruct dyD = prep.yD();
            cudnnTensorStruct dbD = prep.bD();
            CudaErrors.checkCudnn(cudnnConvolutionBackwardBias(handle, one, dyD, at(args, Role.DY, spec, n0, dtype),
                    accumulate ? one : zero, dbD, at(args, Role.DB, spec, n0, dtype)), "cudnnConvolutionBackwardBias", problem);
            return "cudnn bwd-bias";
        }
        cudnnTensorStruct xD = prep.xD(), yD = prep.yD();
        cudnnFilterStruct wD = prep.wD();
        cudnnConvolutionStruct cD = prep.cD();
        CUdeviceptr staged = null;
        CudnnOperands ops = new CudnnOperands(
                plan.staged() ? null : at(args, plan.xc(), spec, n0, dtype),
                at(args, plan.w(), spec, n0, dtype), at(args, plan.yc(), spec, n0, dtype));
        if (plan.staged()) {
            long bytes = plan.stagedElements() * dtype.bytes();
            staged = session.context().scratch("staging", bytes, problem);
            ops = new CudnnOperands(DeviceAddress.javacpp(DeviceAddress.of(staged)), ops.w(), ops.y());
            if (plan.op().readsXc()) {
                session.windowCopy(ptrAt(args, plan.xc(), spec, n0, dtype), plan.ourXcDims(), staged, plan.xcDims(), plan.offset(),
                        dtype, problem);
            }
        }
        AlgoSelection.Key key = prep.key();
        // jconv.cuda.api=graph: cuDNN's graph API runs the convolution where it can (CudnnGraph), else the legacy calls below
        String ran = graph == null ? null : graph.run(plan, dtype, key, ops.x().address(), ops.w().address(), ops.y().address(), accumulate, problem);
        boolean biasDone = false;
        if (ran == null) { // the legacy API's choice and run
            List<AlgoSelection.Choice> choices = legacy.choices(pass, spec, dtype, prep, ops, accumulate);
            if (FusedBias.applies(fuseBias, plan.op(), plan.addBias(), dtype, plan.ycDims().length, choices.get(0).algo())) {
                ran = legacy.fusedForward(choices.get(0), prep, ops, at(args, Role.B, spec, n0, dtype), one, zero, problem);
            }
            biasDone = ran != null;
            // weight gradients of later batch slices add to the earlier ones (beta = 1)
            if (ran == null) ran = legacy.execute(plan.op(), choices, key, xD, wD, cD, yD, ops, one, accumulate ? one : zero, problem);
            if (graph != null) ran += " (graph API fell back: " + graph.lastFallback() + ")";
        }
        if (plan.staged() && plan.op().writesXc()) {
            int[] back = plan.offset().clone();
            for (int i = 0; i < back.length; i++) back[i] = -back[i];
            session.windowCopy(staged, plan.xcDims(), ptrAt(args, plan.xc(), spec, n0, dtype), plan.ourXcDims(), back, dtype, problem);
        }
        if (plan.addBias() && !biasDone) {
            cudnnTensorStruct bD = prep.bD(), outD = prep.outD();
            CudaErrors.checkCudnn(cudnnAddTensor(handle, one, bD, at(args, Role.B, spec, n0, dtype), one, outD,
                    at(args, Role.Y, spec, n0, dtype)), "cudnnAddTensor", problem);
            ran += " + bias";
        }
        return plan.staged() ? ran + " (staged: asymmetric padding or large output_padding)" : ran;
    }


    @Override
    public void close() {
        descriptors.close();
        prepared.clear();
        legacy.close();
        if (graph != null) graph.close(); // its plans hold the handle
        cudnnDestroy(handle);
        scalars.close();
    }
}
