package io.github.jconv.opencl.tune;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parameter sets, problem classes, the defaults table and the on-disk database, without a device. */
class GemmParamsTest {
    @TempDir
    Path dir;

    @Test
    void aSetParsesFromItsTextAndTheShortFormDefaultsVwAndDb() {
        GemmParams p = GemmParams.parse("128, 64,16,8,4,4,1", "x");
        assertEquals(new GemmParams(128, 64, 16, 8, 4, 4, true), p);
        assertEquals(p, GemmParams.parse(p.toString(), "x"));
        assertEquals(new GemmParams(64, 64, 16, 4, 4, 1, false), GemmParams.parse("64,64,16,4,4", "x"));
        // work-group 128/8 x 64/4 = 16 x 16 = 256; local (double-buffered) 2 * 16 * (128 + 64) * 4 bytes = 24576
        assertEquals(256, p.threads());
        assertEquals(24576, p.localBytes(4));
        assertTrue(p.fits(256, 256, 256, 24576, 4));
        assertFalse(p.fits(255, 256, 256, 1 << 20, 4));
        assertFalse(p.fits(1024, 1024, 1024, 24575, 4));
        assertEquals("-DTSM=128 -DTSN=64 -DTSK=16 -DWPTM=8 -DWPTN=4 -DVW=4 -DDB=1", p.defines());
    }

    @Test
    void badSetsNameTheRuleAndAWorkingValue() {
        for (String bad : List.of("64,64,16,3,4", "64,64,16,4,4,3", "64,64,6,4,4,4", "64,64", "a,b,c,d,e", "64,64,16,4,4,4,2", "0,64,16,4,4")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GemmParams.parse(bad, "jconv.opencl.gemm"));
            assertTrue(e.getMessage().startsWith("jconv.opencl.gemm = " + bad), e.getMessage());
            assertTrue(e.getMessage().contains("e.g. 64,64,16,4,4,4,1"), e.getMessage());
        }
    }

    @Test
    void theSearchSpaceIsValidDistinctAndInAFixedOrder() {
        List<GemmParams> s = GemmParams.searchSpace();
        assertTrue(s.size() > 50, "candidates: " + s.size());
        assertEquals(s.size(), new HashSet<>(s).size());
        assertEquals(s, GemmParams.searchSpace());
        for (GemmParams p : s) assertTrue(p.threads() >= 16 && p.threads() <= 1024, p.toString());
    }

    @Test
    void classesFollowTheShape() {
        // forward of 64 -> 128 channels, 3x3, 8 images of 28x28: M = 128, N = 8*784, K = 64*9 = 576
        assertEquals(GemmClass.WIDE, GemmClass.of(128, 8 * 784, 576));
        // 16 output channels per group: one side under 64
        assertEquals(GemmClass.NARROW, GemmClass.of(16, 8 * 784, 144));
        // weight gradient: M = 128, N = 576, K = 8*784 = 6272 > 4 * 576
        assertEquals(GemmClass.DEEP, GemmClass.of(128, 576, 8 * 784));
        for (GemmClass c : GemmClass.values()) {
            for (boolean gpu : new boolean[] {true, false}) {
                int[] r = c.representative(gpu);
                assertEquals(c, GemmClass.of(r[0], r[1], r[2]));
            }
        }
    }

    @Test
    void theDefaultsChainStartsWithTheTunedSetAndEndsWithSetsEveryDeviceRuns() {
        GemmParams tuned = new GemmParams(32, 32, 8, 2, 2, 1, true);
        List<GemmParams> chain = GemmDefaults.chain(tuned, "NVIDIA Corporation", "GPU", GemmClass.WIDE);
        assertEquals(tuned, chain.get(0));
        assertEquals(GemmDefaults.preferred("NVIDIA Corporation", "GPU", GemmClass.WIDE), chain.get(1));
        assertEquals(64, chain.get(1).tsm(), "a 64-row tile for the 64-filter GEMMs of P1 and P5");
        assertEquals(new GemmParams(4, 4, 4, 1, 1, 1, false), chain.get(chain.size() - 1));
        assertEquals(chain.size(), new HashSet<>(chain).size());
        assertEquals(GemmDefaults.preferred("x", "CPU", GemmClass.WIDE), GemmDefaults.chain(null, "x", "CPU", GemmClass.WIDE).get(0));
    }

    @Test
    void theDatabaseKeepsWinnersPerDeviceIdentityAndIgnoresDamage() throws Exception {
        String id = "PoCL|OpenCL 3.0|cpu|vendor|dev 1|driver 6.0";
        TuningDatabase db = TuningDatabase.load(dir, id);
        assertNull(db.get("fp32", GemmClass.WIDE));
        GemmParams p = new GemmParams(64, 32, 16, 4, 2, 4, true);
        db.put("fp32", GemmClass.WIDE, p, 1234.5);
        db.save();
        assertEquals(p, TuningDatabase.load(dir, id).get("fp32", GemmClass.WIDE));
        assertNull(TuningDatabase.load(dir, id).get("fp64", GemmClass.WIDE));
        assertNull(TuningDatabase.load(dir, id).get("fp32", GemmClass.DEEP));
        // another driver version is another database
        assertNull(TuningDatabase.load(dir, id.replace("6.0", "6.1")).get("fp32", GemmClass.WIDE));
        // a damaged line is ignored, the others stay
        db.put("fp32", GemmClass.DEEP, new GemmParams(64, 64, 32, 4, 4, 4, false), 1);
        db.save();
        Path f = db.file();
        Files.writeString(f, Files.readString(f).replace("gemm.fp32.wide=64,32,16,4,2,4,1", "gemm.fp32.wide=64,32,16,3,2,4,1"));
        TuningDatabase back = TuningDatabase.load(dir, id);
        assertNull(back.get("fp32", GemmClass.WIDE));
        assertEquals(new GemmParams(64, 64, 32, 4, 4, 4, false), back.get("fp32", GemmClass.DEEP));
        // yes/no choices keep their value, and only conv.* keys are choices
        back.putFlag("conv.implicit", true);
        back.save();
        assertEquals(Boolean.TRUE, TuningDatabase.load(dir, id).flag("conv.implicit"));
        assertNull(TuningDatabase.load(dir, id).flag("conv.other"));
        assertThrows(IllegalArgumentException.class, () -> back.putFlag("gemm.fp32.wide", true));
        // an unreadable file is an empty database
        Files.writeString(f, "identity=" + id + "\n\\u00zz broken escape");
        assertTrue(TuningDatabase.load(dir, id).winners().isEmpty());
    }
}
