package io.github.jconv.cuda;

import jcuda.driver.CUdeviceptr;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * What the legacy API says about its algorithms for one problem: cuDNN's heuristics ({@code cudnnGet...Algorithm_v7}),
 * or in benchmark mode its measurements ({@code cudnnFind...AlgorithmEx}) with a workspace allocated for the timing.
 * {@link AlgoSelection} ranks the results.
 */
final class CudnnAlgoSearch {
    private final CudaBackend session;
    private final cudnnContext handle;

    CudnnAlgoSearch(CudaBackend session, cudnnContext handle) {
        this.session = session;
        this.handle = handle;
    }

    List<AlgoSelection.Result> heuristics(CudnnPlan.Op op, cudnnTensorStruct xD, cudnnFilterStruct wD,
                                          cudnnConvolutionStruct cD, cudnnTensorStruct yD, String problem) {
        int n = AlgoSelection.algoCount(op) * 2; // each algorithm may come once per math type
        IntPointer count = new IntPointer(1);
        List<AlgoSelection.Result> out = new ArrayList<>();
        switch (op) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnGetConvolutionForwardAlgorithm_v7(handle, xD, wD, cD, yD, n, count, p),
                        "cudnnGetConvolutionForwardAlgorithm_v7", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionFwdAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), -1, r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wD, yD, cD, xD, n, count, p),
                        "cudnnGetConvolutionBackwardDataAlgorithm_v7", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdDataAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), -1, r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xD, yD, cD, wD, n, count, p),
                        "cudnnGetConvolutionBackwardFilterAlgorithm_v7", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdFilterAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), -1, r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            default -> throw new AssertionError(op);
        }
        return out;
    }

    /**
     * Benchmark mode: cuDNN times every algorithm on the call's own buffers (outputs are
     * overwritten by the real run right after) with a workspace we allocate, as large as the limit
     * and free memory allow.
     */
    List<AlgoSelection.Result> measure(CudnnPlan.Op op, cudnnTensorStruct xD, cudnnFilterStruct wD,
                                       cudnnConvolutionStruct cD, cudnnTensorStruct yD, CudnnOperands ops,
                                       CudaOptions o, String problem) {
        long wsBytes = Math.min(o.workspaceLimit(), (long) (session.context().memInfo()[0] * 0.8));
        CUdeviceptr ws = null;
        while (wsBytes > 0 && ws == null) {
            try {
                ws = session.context().alloc(wsBytes, problem); // once per problem: not kept as scratch
            } catch (CudaOutOfMemoryException e) {
                wsBytes /= 2;
            }
        }
        try {
            return find(op, xD, wD, cD, yD, ops, ws, wsBytes, problem);
        } finally {
            if (ws != null) session.context().free(ws);
        }
    }

    private List<AlgoSelection.Result> find(CudnnPlan.Op op, cudnnTensorStruct xD, cudnnFilterStruct wD, cudnnConvolutionStruct cD,
                                            cudnnTensorStruct yD, CudnnOperands ops, CUdeviceptr ws, long wsBytes, String problem) {
        Pointer w = ws == null ? null : DeviceAddress.javacpp(DeviceAddress.of(ws));
        int n = AlgoSelection.algoCount(op) * 2;
        IntPointer count = new IntPointer(1);
        List<AlgoSelection.Result> out = new ArrayList<>();
        switch (op) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnFindConvolutionForwardAlgorithmEx(handle, xD, ops.x(), wD, ops.w(), cD, yD, ops.y(), n,
                        count, p, w, wsBytes), "cudnnFindConvolutionForwardAlgorithmEx", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionFwdAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), r.time(), r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnFindConvolutionBackwardDataAlgorithmEx(handle, wD, ops.w(), yD, ops.y(), cD, xD, ops.x(), n,
                        count, p, w, wsBytes), "cudnnFindConvolutionBackwardDataAlgorithmEx", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdDataAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), r.time(), r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnFindConvolutionBackwardFilterAlgorithmEx(handle, xD, ops.x(), yD, ops.y(), cD, wD, ops.w(), n,
                        count, p, w, wsBytes), "cudnnFindConvolutionBackwardFilterAlgorithmEx", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdFilterAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), r.time(), r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            default -> throw new AssertionError(op);
        }
        return out;
    }
}
