package io.github.jconv.cuda;

import io.github.jconv.DType;
import org.bytedeco.cuda.global.cudnn;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Data, compute and math types per dtype and math mode, with cuDNN's own enum values. */
class CudnnTypesTest {
    @Test
    void storageTypesAreCudnnsEnumValues() {
        assertEquals(cudnn.CUDNN_DATA_FLOAT, CudnnTypes.dataType(DType.FP32));
        assertEquals(cudnn.CUDNN_DATA_DOUBLE, CudnnTypes.dataType(DType.FP64));
        assertEquals(cudnn.CUDNN_DATA_HALF, CudnnTypes.dataType(DType.FP16));
        assertEquals(cudnn.CUDNN_DATA_BFLOAT16, CudnnTypes.dataType(DType.BF16));
        assertEquals(cudnn.CUDNN_CROSS_CORRELATION, CudnnTypes.CROSS_CORRELATION);
        assertEquals(cudnn.CUDNN_TENSOR_NCHW, CudnnTypes.TENSOR_NCHW);
    }

    @Test
    void sixteenBitStorageAccumulatesInFp32AndFp64InFp64() {
        assertEquals(cudnn.CUDNN_DATA_FLOAT, CudnnTypes.computeType(DType.FP16));
        assertEquals(cudnn.CUDNN_DATA_FLOAT, CudnnTypes.computeType(DType.BF16));
        assertEquals(cudnn.CUDNN_DATA_FLOAT, CudnnTypes.computeType(DType.FP32));
        assertEquals(cudnn.CUDNN_DATA_DOUBLE, CudnnTypes.computeType(DType.FP64));
    }

    @Test
    void fp32IsExactByDefaultAndTf32OnlyWhenAsked() {
        assertEquals(cudnn.CUDNN_FMA_MATH, CudnnTypes.mathType(DType.FP32, MathMode.FP32));
        assertEquals(cudnn.CUDNN_TENSOR_OP_MATH, CudnnTypes.mathType(DType.FP32, MathMode.TF32));
        assertEquals(cudnn.CUDNN_TENSOR_OP_MATH, CudnnTypes.mathType(DType.FP16, MathMode.FP32));
        assertEquals(cudnn.CUDNN_TENSOR_OP_MATH, CudnnTypes.mathType(DType.BF16, MathMode.FP32));
        assertEquals(cudnn.CUDNN_DEFAULT_MATH, CudnnTypes.mathType(DType.FP64, MathMode.TF32));
        assertFalse(CudnnTypes.mathAllowed(DType.FP32, MathMode.FP32, cudnn.CUDNN_TENSOR_OP_MATH));
        // cuDNN may report default math for an FMA request; such an algorithm still runs with FMA math
        assertTrue(CudnnTypes.mathAllowed(DType.FP32, MathMode.FP32, cudnn.CUDNN_DEFAULT_MATH));
        assertEquals(cudnn.CUDNN_FMA_MATH, CudnnTypes.runMath(DType.FP32, MathMode.FP32, cudnn.CUDNN_DEFAULT_MATH));
        assertEquals(cudnn.CUDNN_TENSOR_OP_MATH, CudnnTypes.runMath(DType.FP32, MathMode.TF32, cudnn.CUDNN_TENSOR_OP_MATH));
        assertEquals(cudnn.CUDNN_DEFAULT_MATH, CudnnTypes.runMath(DType.BF16, MathMode.FP32, cudnn.CUDNN_DEFAULT_MATH));
        assertTrue(CudnnTypes.mathAllowed(DType.FP32, MathMode.FP32, cudnn.CUDNN_FMA_MATH));
        assertTrue(CudnnTypes.mathAllowed(DType.FP32, MathMode.TF32, cudnn.CUDNN_TENSOR_OP_MATH));
    }
}
