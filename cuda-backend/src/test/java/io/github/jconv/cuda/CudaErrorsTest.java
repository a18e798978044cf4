package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Status codes become exceptions that name the call, the status and the problem line. */
class CudaErrorsTest {
    private final String problem = ConvSpec.convolution().batch(2).channels(3, 8).input(9, 9).kernel(3).padding(1).build().toString();

    @Test
    void aFailedCudnnCallNamesTheCallTheStatusAndTheProblemLine() {
        CudaException e = assertThrows(CudaException.class,
                () -> CudaErrors.checkCudnn(3000, "cudnnConvolutionForward(IMPLICIT_GEMM)", problem));
        assertTrue(e.getMessage().startsWith("cudnnConvolutionForward(IMPLICIT_GEMM) failed: CUDNN_STATUS_NOT_SUPPORTED (cuDNN status 3000) on problem "
                + problem), e.getMessage());
        assertEquals("cuDNN", e.library());
        assertEquals(3000, e.code());
        assertEquals(problem, e.problem());
        assertFalse(e.sticky());
    }

    @Test
    void anIllegalAddressIsStickyAndSaysTheSessionIsPoisoned() {
        CudaException e = assertThrows(CudaException.class, () -> CudaErrors.checkDriver(700, "cuLaunchKernel(deform_forward)", problem));
        assertTrue(e.sticky());
        assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", e.status());
        assertTrue(e.getMessage().contains("poisoned"), e.getMessage());
    }

    @Test
    void outOfMemoryReportsTheRequestedAndTheFreeBytes() {
        CudaException e = CudaErrors.map(CudaStatus.Library.DRIVER, 2, "cuMemAlloc(4096)", problem, 4096, () -> 1024);
        CudaOutOfMemoryException oom = assertInstanceOf(CudaOutOfMemoryException.class, e);
        assertEquals(4096, oom.requestedBytes());
        assertEquals(1024, oom.freeBytes());
        assertTrue(e.getMessage().contains("requested 4096 bytes, 1024 bytes free on the device"), e.getMessage());
        assertFalse(e.sticky());
    }

    @Test
    void outOfMemoryStillReportsWhenTheFreeMemoryQueryFails() {
        CudaException e = CudaErrors.map(CudaStatus.Library.CUDNN, 4004, "cudnnConvolutionForward", problem, 1 << 20,
                () -> {
                    throw new IllegalStateException("context gone");
                });
        CudaOutOfMemoryException oom = assertInstanceOf(CudaOutOfMemoryException.class, e);
        assertEquals(-1, oom.freeBytes());
        assertTrue(e.getMessage().contains("free bytes unknown"), e.getMessage());
    }

    @Test
    void aCallWithoutProblemSaysNoProblem() {
        CudaException e = assertThrows(CudaException.class, () -> CudaErrors.checkDriver(100, "cuDeviceGetCount", ""));
        assertEquals("", e.problem());
        assertFalse(e.getMessage().contains("on problem"), e.getMessage());
        assertTrue(e.getMessage().contains("driver"), e.getMessage());
    }
}
