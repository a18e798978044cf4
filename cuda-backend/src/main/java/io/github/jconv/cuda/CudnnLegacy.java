package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import jcuda.driver.CUdeviceptr;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.Pointer;

import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The legacy API's convolution calls for one prepared problem: the ranked algorithm choices (the session's cache,
 * the disk cache in benchmark mode, else cuDNN asked through {@link CudnnAlgoSearch}), the forward with its bias
 * fused where cuDNN can ({@link FusedBias}), and the call itself, each choice in rank order until one runs
 * (a workspace that does not fit demotes its choice and tries the next).
 */
final class CudnnLegacy implements AutoCloseable {
    private final CudaBackend session;
    private final cudnnContext handle;
    private final CudnnAlgoSearch search;
    /** The identity activation of the fused call, made on first use. */
    private cudnnActivationStruct identity;

    CudnnLegacy(CudaBackend session, cudnnContext handle) {
        this.session = session;
        this.handle = handle;
        this.search = new CudnnAlgoSearch(session, handle);
    }

    /** The algorithm choices for {@code prep}, best first; asks cuDNN (and caches the answer) on the key's first call. */
    List<AlgoSelection.Choice> choices(Pass pass, ConvSpec spec, DType dtype, PreparedPlans.Prepared prep, CudnnOperands ops,
                                       boolean accumulate) {
        CudnnPlan plan = prep.plan();
        String problem = prep.problem();
        CudaOptions o = session.options();
        cudnnTensorStruct xD = prep.xD(), yD = prep.yD();
        cudnnFilterStruct wD = prep.wD();
        cudnnConvolutionStruct cD = prep.cD();
        AlgoSelection.Key key = prep.key();
        List<AlgoSelection.Choice> choices = session.algoCache().get(key);
        if (choices == null && o.algo() == CudaOptions.AlgoMode.BENCHMARK) {
            // an earlier session's measurement on this device model, driver and cuDNN: no cudnnFind...Ex again
            choices = session.algoDiskCache().get(key);
            if (choices != null) session.algoCache().put(key, choices);
        }
        if (choices == null) {
            // the descriptor is shared and each run sets its choice's math type: ask cuDNN from the mode's own
            CudaErrors.checkCudnn(cudnnSetConvolutionMathType(cD, CudnnTypes.mathType(dtype, o.math())), "cudnnSetConvolutionMathType", problem);
            // cudnnFind...Ex writes its output while timing: a weight gradient that adds to the sum of earlier slices
            // (beta = 1; a last batch slice of another size is a new key) is timed on a scratch dw instead
            CudnnOperands timed = ops;
            if (accumulate && plan.op() == CudnnPlan.Op.BACKWARD_FILTER && o.algo() == CudaOptions.AlgoMode.BENCHMARK) {
                CUdeviceptr dwScratch = session.context().scratch("timed weight gradient",
                        spec.weightShape().elementCount() * dtype.bytes(), problem);
                timed = new CudnnOperands(ops.x(), DeviceAddress.javacpp(DeviceAddress.of(dwScratch)), ops.y());
            }
            List<AlgoSelection.Result> results = o.algo() == CudaOptions.AlgoMode.BENCHMARK
                    ? search.measure(plan.op(), xD, wD, cD, yD, timed, o, problem)
                    : search.heuristics(plan.op(), xD, wD, cD, yD, problem);
            choices = AlgoSelection.rank(plan.op(), results, dtype, o);
            if (choices.isEmpty()) {
                throw new UnsupportedOperationException("cuDNN has no algorithm for " + pass + " " + dtype + " of " + problem
                        + " under " + o + ": " + AlgoSelection.whyNone(results, dtype, o));
            }
            session.algoCache().put(key, choices);
            if (o.algo() == CudaOptions.AlgoMode.BENCHMARK) session.algoDiskCache().put(key, choices);
        }
        return choices;
    }

    /**
     * y = conv(x, w) + b in one cuDNN call (identity activation, z unused: alpha2 = 0), or null when it cannot run
     * here (the workspace does not fit, or cuDNN reports the configuration unsupported): then the caller runs the
     * convolution and the add apart.
     */
    String fusedForward(AlgoSelection.Choice c, PreparedPlans.Prepared prep, CudnnOperands ops, Pointer bias, Pointer one, Pointer zero,
                        String problem) {
        CUdeviceptr ws;
        try {
            ws = c.workspace() > 0 ? session.context().scratch("workspace", c.workspace(), problem) : null;
        } catch (CudaOutOfMemoryException e) {
            return null;
        }
        if (identity == null) {
            cudnnActivationStruct a = new cudnnActivationStruct();
            CudaErrors.checkCudnn(cudnnCreateActivationDescriptor(a), "cudnnCreateActivationDescriptor", problem);
            int rc = cudnnSetActivationDescriptor(a, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0);
            if (rc != 0) {
                cudnnDestroyActivationDescriptor(a);
                CudaErrors.checkCudnn(rc, "cudnnSetActivationDescriptor", problem);
            }
            identity = a;
        }
        CudaErrors.checkCudnn(cudnnSetConvolutionMathType(prep.cD(), c.mathType()), "cudnnSetConvolutionMathType", problem);
        Pointer w = ws == null ? null : DeviceAddress.javacpp(DeviceAddress.of(ws));
        int rc = cudnnConvolutionBiasActivationForward(handle, one, prep.xD(), ops.x(), prep.wD(), ops.w(), prep.cD(), c.algo(), w,
                c.workspace(), zero, prep.yD(), ops.y(), prep.bD(), bias, identity, prep.yD(), ops.y());
        CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.CUDNN, rc);
        if (rc != 0 && (e.kind() == CudaStatus.Kind.NOT_SUPPORTED || e.kind() == CudaStatus.Kind.OUT_OF_MEMORY)) return null;
        CudaErrors.checkCudnn(rc, "cudnnConvolutionBiasActivationForward(" + AlgoSelection.algoName(c.op(), c.algo()) + ")", problem);
        return c.name() + " + fused bias";
    }

    String execute(CudnnPlan.Op op, List<AlgoSelection.Choice> choices, AlgoSelection.Key key,
                   cudnnTensorStruct xD, cudnnFilterStruct wD, cudnnConvolutionStruct cD, cudnnTensorStruct yD,
                   CudnnOperands ops, Pointer one, Pointer zero, String problem) {
        CudaOutOfMemoryException lastOom = null;
        for (AlgoSelection.Choice c : choices) {
            CUdeviceptr ws = null;
            try {
                if (c.workspace() > 0) ws = session.context().scratch("workspace", c.workspace(), problem);
            } catch (CudaOutOfMemoryException e) { // this algorithm's workspace does not fit: try the next
                lastOom = e;
                session.algoCache().demote(key, c);
                continue;
            }
            CudaErrors.checkCudnn(cudnnSetConvolutionMathType(cD, c.mathType()), "cudnnSetConvolutionMathType", problem);
            Pointer w = ws == null ? null : DeviceAddress.javacpp(DeviceAddress.of(ws));
            int rc = switch (op) {
                case FORWARD -> cudnnConvolutionForward(handle, one, xD, ops.x(), wD, ops.w(), cD, c.algo(), w, c.workspace(),
                        zero, yD, ops.y());
                case BACKWARD_DATA -> cudnnConvolutionBackwardData(handle, one, wD, ops.w(), yD, ops.y(), cD, c.algo(), w,
                        c.workspace(), zero, xD, ops.x());
                case BACKWARD_FILTER -> cudnnConvolutionBackwardFilter(handle, one, xD, ops.x(), yD, ops.y(), cD, c.algo(), w,
                        c.workspace(), zero, wD, ops.w());
                case BACKWARD_BIAS -> throw new AssertionError(op);
            };
            CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.CUDNN, rc);
            if (rc != 0 && e.kind() == CudaStatus.Kind.OUT_OF_MEMORY) {
                lastOom = (CudaOutOfMemoryException) CudaErrors.map(CudaStatus.Library.CUDNN, rc, op.call, problem,
                        c.workspace(), () -> session.context().memInfo()[0]);
                session.algoCache().demote(key, c);
                continue;
            }
            CudaErrors.checkCudnn(rc, op.call + "(" + AlgoSelection.algoName(op, c.algo()) + ")", problem);
            return c.name();
        }
        throw lastOom != null ? lastOom : new IllegalStateException("no cuDNN algorithm ran for " + problem);
    }

    @Override
    public void close() {
        if (identity != null) cudnnDestroyActivationDescriptor(identity);
        identity = null;
    }
}
