package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.opencl.tune.GemmDefaults;
import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.opencl.tune.TuningDatabase;
import io.github.jconv.spi.ConvBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tuner on the device at hand (PoCL in CI), with a small budget: it times, checks, stores, and sessions use it. */
class OpenClTunerTest {
    @TempDir
    Path cache;

    @Test
    void aSmallBudgetTuneStoresAWinnerThatTheNextSessionUses() {
        String before = System.getProperty(ProgramCache.CACHE_DIR_PROPERTY);
        System.setProperty(ProgramCache.CACHE_DIR_PROPERTY, cache.toString());
        try {
            String identity;
            try (ConvBackend b = OpenClTestSupport.openOrSkip()) {
                identity = ((OpenClSession) b).identity();
                // untuned: the built-in default of the device (or a fallback where it does not fit)
                GemmParams untuned = ((OpenClSession) b).gemmParams(DType.FP32, GemmClass.WIDE);
                assertTrue(GemmDefaults.chain(null, String.valueOf(b.device().properties().get("vendor")), b.device().type(),
                        GemmClass.WIDE).contains(untuned), untuned.toString());
            }
            List<String> log = new ArrayList<>();
            long t0 = System.nanoTime();
            // a wide GEMM of M=64, N=320, K=96 (min side 64, K below 4x): small enough for PoCL
            List<OpenClTuner.Choice> chosen = OpenClTuner.tune(0, DType.FP32, List.of(new int[] {64, 320, 96}), Duration.ofSeconds(4), log::add);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(1, chosen.size(), String.join("\n", log));
            OpenClTuner.Choice c = chosen.get(0);
            assertEquals(GemmClass.WIDE, c.gemmClass());
            assertTrue(c.tried() >= 1 && c.failed() < c.tried(), c.describe());
            // bounded: the budget (4 s) plus at most one candidate started just before it ran out (compile + 10 runs)
            assertTrue(seconds < 60, "the tune took " + seconds + " s");
            assertEquals(c.best(), TuningDatabase.load(ProgramCache.defaultDir(), identity).get("fp32", GemmClass.WIDE));
            try (ConvBackend b = new OpenClBackendProvider().open(0)) {
                assertEquals(c.best(), ((OpenClSession) b).gemmParams(DType.FP32, GemmClass.WIDE));
            }
        } finally {
            if (before == null) System.clearProperty(ProgramCache.CACHE_DIR_PROPERTY);
            else System.setProperty(ProgramCache.CACHE_DIR_PROPERTY, before);
        }
    }

    @Test
    void theOverridePropertyWinsOverTheDefaults() {
        String before = System.getProperty(ClSettings.GEMM_PROPERTY);
        System.setProperty(ClSettings.GEMM_PROPERTY, "32,16,8,4,2,2,1");
        try (ConvBackend b = OpenClTestSupport.openOrSkip()) {
            assertEquals(new GemmParams(32, 16, 8, 4, 2, 2, true), ((OpenClSession) b).gemmParams(DType.FP32, GemmClass.DEEP));
        } finally {
            if (before == null) System.clearProperty(ClSettings.GEMM_PROPERTY);
            else System.setProperty(ClSettings.GEMM_PROPERTY, before);
        }
    }

    @Test
    void aStoredImplicitChoiceTurnsTheImplicitForwardOnAndThePropertyOverridesIt() throws Exception {
        String[] keys = {ProgramCache.CACHE_DIR_PROPERTY, Algorithms.MODE_PROPERTY, ClSettings.IMPLICIT_GEMM_PROPERTY};
        String[] before = new String[keys.length];
        for (int i = 0; i < keys.length; i++) before[i] = System.getProperty(keys[i]);
        System.setProperty(ProgramCache.CACHE_DIR_PROPERTY, cache.toString());
        System.setProperty(Algorithms.MODE_PROPERTY, "gemm");
        System.clearProperty(ClSettings.IMPLICIT_GEMM_PROPERTY);
        try {
            io.github.jconv.ConvSpec spec = io.github.jconv.ConvSpec.parse("mb2ic3ih9oc5kh3ph1bia0");
            String identity;
            try (ConvBackend b = OpenClTestSupport.openOrSkip()) {
                identity = ((OpenClSession) b).identity();
                assertEquals("im2col+gemm", forwardAlgorithm(b, spec), "untuned: no implicit GEMM");
            }
            TuningDatabase db = TuningDatabase.load(ProgramCache.defaultDir(), identity);
            db.putFlag(ClSettings.IMPLICIT_GEMM_KEY, true);
            db.save();
            try (ConvBackend b = new OpenClBackendProvider().open(0)) {
                assertEquals("implicit-gemm", forwardAlgorithm(b, spec), "the stored choice");
            }
            System.setProperty(ClSettings.IMPLICIT_GEMM_PROPERTY, "false");
            try (ConvBackend b = new OpenClBackendProvider().open(0)) {
                assertEquals("im2col+gemm", forwardAlgorithm(b, spec), "the property over the stored choice");
            }
        } finally {
            for (int i = 0; i < keys.length; i++) {
                if (before[i] == null) System.clearProperty(keys[i]);
                else System.setProperty(keys[i], before[i]);
            }
        }
    }

    private static String forwardAlgorithm(ConvBackend b, io.github.jconv.ConvSpec spec) {
        try (io.github.jconv.DeviceBuffer x = b.allocate(DType.FP32, spec.inputShape());
             io.github.jconv.DeviceBuffer w = b.allocate(DType.FP32, spec.weightShape());
             io.github.jconv.DeviceBuffer y = b.allocate(DType.FP32, spec.outputShape())) {
            b.execute(io.github.jconv.Pass.FORWARD, spec, io.github.jconv.ConvArgs.of(io.github.jconv.Role.X, x,
                    io.github.jconv.Role.W, w, io.github.jconv.Role.Y, y));
            return b.lastAlgorithm();
        }
    }

    @Test
    void badTuningArgumentsAreNamedBeforeAnyDeviceWork() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpenClTuner.tune(0, DType.FP32, List.of(), Duration.ZERO, s -> { }));
        assertTrue(e.getMessage().startsWith("budget = PT0S"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OpenClTuner.tune(0, DType.FP16, List.of(), Duration.ofSeconds(1), s -> { }));
        assertFalse(e.getMessage().isEmpty());
    }
}
