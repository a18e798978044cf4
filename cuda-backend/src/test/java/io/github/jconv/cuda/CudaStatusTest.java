package io.github.jconv.cuda;

import jcuda.driver.CUresult;
import org.bytedeco.cuda.global.cudnn;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The status tables against the bindings' own constants: JCuda's CUresult (codes and its name
 * table) and JavaCPP's cuDNN constants (compile-time constants, so no native library loads).
 */
class CudaStatusTest {
    static Stream<CudaStatus.Entry> driverRows() {
        return CudaStatus.table(CudaStatus.Library.DRIVER).values().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("driverRows")
    void everyDriverRowHasJcudasNameForItsCode(CudaStatus.Entry e) {
        assertEquals(CUresult.stringFor(e.code()), e.name());
    }

    static Stream<Arguments> cudnnCodes() {
        return Stream.of(
                Arguments.of(cudnn.CUDNN_STATUS_SUCCESS, "CUDNN_STATUS_SUCCESS"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_INITIALIZED, "CUDNN_STATUS_NOT_INITIALIZED"),
                Arguments.of(cudnn.CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH, "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH"),
                Arguments.of(cudnn.CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED"),
                Arguments.of(cudnn.CUDNN_STATUS_BAD_PARAM, "CUDNN_STATUS_BAD_PARAM"),
                Arguments.of(cudnn.CUDNN_STATUS_INVALID_VALUE, "CUDNN_STATUS_INVALID_VALUE"),
                Arguments.of(cudnn.CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "CUDNN_STATUS_BAD_PARAM_NULL_POINTER"),
                Arguments.of(cudnn.CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER"),
                Arguments.of(cudnn.CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND, "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND"),
                Arguments.of(cudnn.CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT, "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT"),
                Arguments.of(cudnn.CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED, "CUDNN_STATUS_NOT_SUPPORTED"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "CUDNN_STATUS_NOT_SUPPORTED_SHAPE"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING, "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT, "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT"),
                Arguments.of(cudnn.CUDNN_STATUS_NOT_SUPPORTED_PADDING, "CUDNN_STATUS_NOT_SUPPORTED_PADDING"),
                Arguments.of(cudnn.CUDNN_STATUS_INTERNAL_ERROR, "CUDNN_STATUS_INTERNAL_ERROR"),
                Arguments.of(cudnn.CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED"),
                Arguments.of(cudnn.CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED"),
                Arguments.of(cudnn.CUDNN_STATUS_EXECUTION_FAILED, "CUDNN_STATUS_EXECUTION_FAILED"),
                Arguments.of(cudnn.CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER"),
                Arguments.of(cudnn.CUDNN_STATUS_EXECUTION_FAILED_CUBLAS, "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS"),
                Arguments.of(cudnn.CUDNN_STATUS_EXECUTION_FAILED_CUDART, "CUDNN_STATUS_EXECUTION_FAILED_CUDART"));
    }

    @ParameterizedTest(name = "{1} = {0}")
    @MethodSource("cudnnCodes")
    void everyCudnnConstantOfTheBindingsHasItsRowUnderItsName(int code, String name) {
        assertEquals(name, CudaStatus.lookup(CudaStatus.Library.CUDNN, code).name());
        assertTrue(CudaStatus.table(CudaStatus.Library.CUDNN).containsKey(code), name + " missing from the table");
    }

    static Stream<Arguments> kinds() {
        return Stream.of(
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_LAUNCH_FAILED, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_MISALIGNED_ADDRESS, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_ILLEGAL_INSTRUCTION, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_HARDWARE_STACK_ERROR, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_ASSERT, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_OUT_OF_MEMORY, CudaStatus.Kind.OUT_OF_MEMORY),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_NO_DEVICE, CudaStatus.Kind.SETUP),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_INVALID_VALUE, CudaStatus.Kind.BAD_PARAM),
                Arguments.of(CudaStatus.Library.DRIVER, CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU, CudaStatus.Kind.NOT_SUPPORTED),
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_EXECUTION_FAILED, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, CudaStatus.Kind.OUT_OF_MEMORY),
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_NOT_SUPPORTED, CudaStatus.Kind.NOT_SUPPORTED),
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_BAD_PARAM, CudaStatus.Kind.BAD_PARAM),
                // codes the table lacks still fall into their family
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, CudaStatus.Kind.NOT_SUPPORTED),
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH, CudaStatus.Kind.BAD_PARAM),
                Arguments.of(CudaStatus.Library.CUDNN, cudnn.CUDNN_STATUS_EXECUTION_FAILED_CURAND, CudaStatus.Kind.STICKY),
                Arguments.of(CudaStatus.Library.DRIVER, 12345, CudaStatus.Kind.OTHER));
    }

    @ParameterizedTest(name = "{0} {1} is {2}")
    @MethodSource("kinds")
    void statusesAreClassifiedByWhatTheyMeanForTheSession(CudaStatus.Library lib, int code, CudaStatus.Kind kind) {
        assertEquals(kind, CudaStatus.lookup(lib, code).kind());
    }

    @org.junit.jupiter.api.Test
    void successIsNeverMappedToAnError() {
        CudaErrors.checkDriver(0, "cuMemAlloc", "");
        CudaErrors.checkCudnn(0, "cudnnCreate", "");
        assertFalse(CudaStatus.lookup(CudaStatus.Library.DRIVER, 0).kind() == CudaStatus.Kind.STICKY);
    }
}
