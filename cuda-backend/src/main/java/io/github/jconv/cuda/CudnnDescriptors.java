package io.github.jconv.cuda;

import io.github.jconv.DType;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The legacy API's tensor, filter and convolution descriptors, made once per shape and kept for the session:
 * creating them costs microseconds per call. Destroyed when the session closes.
 */
final class CudnnDescriptors implements AutoCloseable {
    private final java.util.Map<String, cudnnTensorStruct> tensors = new java.util.HashMap<>();
    private final java.util.Map<String, cudnnFilterStruct> filters = new java.util.HashMap<>();
    private final java.util.Map<String, cudnnConvolutionStruct> convs = new java.util.HashMap<>();

    cudnnTensorStruct tensor(int[] dims, int dt, String problem) {
        String key = java.util.Arrays.toString(dims) + dt;
        cudnnTensorStruct known = tensors.get(key);
        if (known != null) return known;
        cudnnTensorStruct d = new cudnnTensorStruct();
        CudaErrors.checkCudnn(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetTensorNdDescriptor(d, dt, dims.length, dims, CudnnPlan.packedStrides(dims)),
                "cudnnSetTensorNdDescriptor" + java.util.Arrays.toString(dims), problem);
        tensors.put(key, d);
        return d;
    }

    cudnnFilterStruct filter(int[] dims, int dt, String problem) {
        String key = java.util.Arrays.toString(dims) + dt;
        cudnnFilterStruct known = filters.get(key);
        if (known != null) return known;
        cudnnFilterStruct d = new cudnnFilterStruct();
        CudaErrors.checkCudnn(cudnnCreateFilterDescriptor(d), "cudnnCreateFilterDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetFilterNdDescriptor(d, dt, CudnnTypes.TENSOR_NCHW, dims.length, dims),
                "cudnnSetFilterNdDescriptor" + java.util.Arrays.toString(dims), problem);
        filters.put(key, d);
        return d;
    }

    cudnnConvolutionStruct conv(CudnnPlan plan, DType dtype, CudaOptions o, String problem) {
        String key = java.util.Arrays.toString(plan.pad()) + java.util.Arrays.toString(plan.stride())
                + java.util.Arrays.toString(plan.dilation()) + "g" + plan.groups() + dtype;
        cudnnConvolutionStruct known = convs.get(key);
        if (known != null) return known; // its math type is set before each choice runs, and before cuDNN is asked
        cudnnConvolutionStruct d = new cudnnConvolutionStruct();
        CudaErrors.checkCudnn(cudnnCreateConvolutionDescriptor(d), "cudnnCreateConvolutionDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetConvolutionNdDescriptor(d, plan.pad().length, plan.pad(), plan.stride(), plan.dilation(),
                CudnnTypes.CROSS_CORRELATION, CudnnTypes.computeType(dtype)), "cudnnSetConvolutionNdDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetConvolutionGroupCount(d, plan.groups()), "cudnnSetConvolutionGroupCount", problem);
        CudaErrors.checkCudnn(cudnnSetConvolutionMathType(d, CudnnTypes.mathType(dtype, o.math())),
                "cudnnSetConvolutionMathType", problem);
        convs.put(key, d);
        return d;
    }

    @Override
    public void close() {
        tensors.values().forEach(org.bytedeco.cuda.global.cudnn::cudnnDestroyTensorDescriptor);
        filters.values().forEach(org.bytedeco.cuda.global.cudnn::cudnnDestroyFilterDescriptor);
        convs.values().forEach(org.bytedeco.cuda.global.cudnn::cudnnDestroyConvolutionDescriptor);
        tensors.clear();
        filters.clear();
        convs.clear();
    }
}
