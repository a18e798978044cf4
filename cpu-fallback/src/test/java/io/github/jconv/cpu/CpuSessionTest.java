package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuSessionTest {
    @Test
    void providerIsFoundByTheServiceLoaderAndDescribesThisCpu() {
        ConvBackendProvider p = ServiceLoader.load(ConvBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(x -> x.name().equals("cpu")).findFirst().orElseThrow();
        assertEquals(100, p.priority());
        ProbeResult r = p.probe();
        assertTrue(r.available());
        assertEquals(1, r.devices().size());
        assertEquals(Runtime.getRuntime().availableProcessors(), r.devices().get(0).computeUnits());
        assertFalse(r.devices().get(0).name().isBlank());
    }

    @Test
    void threadCountComesFromTheSystemPropertyBeforeTheConstructor() {
        System.setProperty(CpuBackendProvider.THREADS_PROPERTY, "3");
        try (ConvBackend b = new CpuBackendProvider(5).open(0)) {
            assertEquals(3, ((CpuBackend) b).threads());
        } finally {
            System.clearProperty(CpuBackendProvider.THREADS_PROPERTY);
        }
        try (ConvBackend b = new CpuBackendProvider(5).open(0)) {
            assertEquals(5, ((CpuBackend) b).threads());
        }
        System.setProperty(CpuBackendProvider.THREADS_PROPERTY, "zero");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuBackendProvider().open(0));
            assertTrue(e.getMessage().contains("jconv.cpu.threads = zero"), e.getMessage());
        } finally {
            System.clearProperty(CpuBackendProvider.THREADS_PROPERTY);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FP16", "BF16"})
    void halfPrecisionIsDeclinedWithTheReason(DType dtype) {
        try (ConvBackend b = new CpuBackendProvider(1).open(0)) {
            var s = b.supports(ConvSpec.parse("mb1ic2ih5oc2kh3"), Pass.FORWARD, dtype);
            assertFalse(s.supported());
            assertTrue(s.reason().contains("FP32 and FP64 only"), s.reason());
            assertFalse(b.capabilities().lookup(io.github.jconv.ConvType.CONVOLUTION, 2, dtype).supported());
            assertTrue(b.capabilities().lookup(io.github.jconv.ConvType.DEFORMABLE, 2, DType.FP64).supported());
        }
    }

    @Test
    void bufferOverTheJavaArrayLimitIsRefusedNamingTheLimit() {
        try (ConvBackend b = new CpuBackendProvider(1).open(0)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> b.allocate(DType.FP32, Shape.of(3, 1 << 30)));
            assertTrue(e.getMessage().contains("Java array limit"), e.getMessage());
        }
    }

    @Test
    void closedBufferCannotBeUsedAndTrackerCountsLiveBuffers() {
        try (ConvBackend b = new CpuBackendProvider(1).open(0)) {
            DeviceBuffer buf = b.allocate(DType.FP32, Shape.of(4));
            assertEquals(1, b.tracker().liveBuffers());
            b.upload(buf, 1, new double[]{2.5, -1}, 0, 2);
            float[] back = new float[4];
            b.download(buf, 0, back, 0, 4);
            assertArrayEquals(new float[]{0, 2.5f, -1, 0}, back);
            buf.close();
            assertEquals(0, b.tracker().liveBuffers());
            assertThrows(IllegalStateException.class, () -> b.download(buf, 0, back, 0, 4));
        }
    }

    @Test
    void lastAlgorithmNamesWhatRanOnThisThread() {
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(1), 0)) {
            ConvSpec spec = ConvSpec.parse("g4mb1ic4ih6oc4kh3ph1");
            PassRunner r = new PassRunner(spec, 1, 1);
            r.run(e, Pass.FORWARD, DType.FP32);
            assertEquals("direct-depthwise", e.lastAlgorithm());
            r.run(e, Pass.BACKWARD_BIAS, DType.FP32);
            assertEquals("channel-sum", e.lastAlgorithm());
        }
    }

    @Test
    void peakScratchDoesNotGrowWithTheBatch() {
        long[] one = peaks(1);
        assertTrue(one[0] > 0, "scratch is reported");
        assertEquals(one[0], one[1], "one worker: scratch for batch 16 vs batch 2");
        long[] two = peaks(2);
        // Each worker holds at most what one worker holds alone, whatever the batch.
        assertTrue(two[1] <= 2 * one[1], "two workers, batch 16: " + two[1] + " bytes, one worker: " + one[1]);
    }

    private static long[] peaks(int threads) {
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(threads), 0)) {
            CpuBackend cpu = (CpuBackend) e.backend();
            long[] peaks = new long[2];
            int i = 0;
            for (String line : new String[]{"mb2ic16ih30oc16kh3ph1", "mb16ic16ih30oc16kh3ph1"}) {
                ConvSpec spec = ConvSpec.parse(line);
                PassRunner r = new PassRunner(spec, 3, 1);
                cpu.resetPeakScratch();
                for (Pass p : new Pass[]{Pass.FORWARD, Pass.BACKWARD_DATA}) r.run(e, p, DType.FP32);
                peaks[i++] = cpu.peakScratchBytes();
            }
            return peaks;
        }
    }
}
