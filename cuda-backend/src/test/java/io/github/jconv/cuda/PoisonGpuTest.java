package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A sticky error poisons the session: every later call fails fast with that cause. It corrupts
 * the device's primary context for the whole JVM, so it runs only when JCONV_CUDA_POISON_TEST=1,
 * in a JVM of its own (GPU-RUN.md).
 */
class PoisonGpuTest {
    @Test
    void anIllegalAddressPoisonsTheSessionAndEveryLaterCallFailsFastWithThatCause() {
        assumeTrue("1".equals(System.getenv("JCONV_CUDA_POISON_TEST")),
                "runs alone (it corrupts the device's primary context for this JVM): set JCONV_CUDA_POISON_TEST=1");
        ProbeResult probe = new CudaBackendProvider().probe();
        assumeTrue(probe.available(), "CUDA backend unavailable: " + probe.reason());
        CudaBackend s = (CudaBackend) new CudaBackendProvider().open(0, CudaOptions.defaults());
        try (DeviceBuffer dst = s.allocate(DType.FP32, Shape.of(1 << 20))) {
            // a window copy that reads 4 MiB from an address nothing owns
            CUdeviceptr bogus = ((CudaBuffer) dst).ptr.withByteOffset(-(1L << 40));
            CudaException first = assertThrows(CudaException.class, () -> {
                s.context().makeCurrent();
                s.windowCopy(bogus, new int[]{1, 1, 1024, 1024}, ((CudaBuffer) dst).ptr, new int[]{1, 1, 1024, 1024},
                        new int[]{0, 0}, DType.FP32, "poison test");
                s.synchronize();
            });
            assertTrue(first.sticky(), first.getMessage());
            IllegalStateException later = assertThrows(IllegalStateException.class, () -> s.allocate(DType.FP32, Shape.of(4)));
            assertSame(s.poison(), later.getCause());
            assertTrue(later.getMessage().contains("poisoned"), later.getMessage());
            assertEquals(first.status(), s.poison().status());
        } catch (IllegalStateException closeFailed) { // closing dst in a poisoned context may be refused
            assertTrue(closeFailed.getMessage().contains("poisoned"), closeFailed.getMessage());
        } finally {
            s.close();
        }
    }
}
