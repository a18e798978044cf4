package io.github.jconv.tools;

import io.github.jconv.opencl.OpenClBackendProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TuneCommandTest {
    @TempDir
    Path cache;

    @Test
    void p1GivesItsThreeGemmShapes() {
        // P1: 8 images of 64 x 56 x 56, 64 filters of 3x3, padding 1: output 56 x 56 = 3136 positions.
        // forward: M = 64 filters, N = 8 * 3136 = 25088 columns, K = 64 * 9 = 576;
        // data gradient: M = 576, N = 25088, K = 64; weight gradient: M = 64, N = 576, K = 25088.
        List<int[]> s = TuneCommand.shapes("P1");
        assertEquals(3, s.size());
        assertArrayEquals(new int[] {64, 25088, 576}, s.get(0));
        assertArrayEquals(new int[] {576, 25088, 64}, s.get(1));
        assertArrayEquals(new int[] {64, 576, 25088}, s.get(2));
        // P8, 8 groups of 128 channels: 16 per group, K = 16 * 9 = 144; 28 x 28 output: N = 8 * 784 = 6272
        assertArrayEquals(new int[] {16, 6272, 144}, TuneCommand.shapes("P8").get(0));
    }

    @Test
    void otherBackendsAndBadValuesAreRefusedByName() {
        ToolRun r = ToolRun.of("tune", "--backend", "cuda");
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("--backend = cuda: only the OpenCL backend is tuned"), r::toString);
        r = ToolRun.of("tune", "--budget", "0");
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("--budget = 0.0"), r::toString);
        r = ToolRun.of("tune", "--problems", "Q9");
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("--problems item Q9"), r::toString);
    }

    @Test
    void aSmallTuneOnTheDeviceAtHandPrintsAndStoresItsChoice() throws Exception {
        assumeTrue(new OpenClBackendProvider().probe().available(), "no OpenCL device");
        String before = System.getProperty("jconv.cache.dir");
        System.setProperty("jconv.cache.dir", cache.toString());
        try {
            // forward M = 64, N = 2 * 64 = 128, K = 32 * 9 = 288: wide; data gradient M = 288, N = 128, K = 64: wide;
            // weight gradient M = 64, N = 288, K = 128: wide too, so one class is tuned
            ToolRun r = ToolRun.of("tune", "--problems", "mb2ic32ih8oc64kh3ph1", "--budget", "2");
            assertEquals(0, r.exit(), r::toString);
            assertTrue(r.out().contains("fp32 wide   M=64 N=128 K=288: "), r::toString);
            Path db = Path.of(r.find("stored in (.*)$").trim());
            assertTrue(db.startsWith(cache), db.toString());
            assertTrue(Files.readString(db).contains("gemm.fp32.wide="), Files.readString(db));
            // the 3x3 padded forward runs the implicit GEMM when asked: the tuner compares it and stores its choice
            assertTrue(r.out().contains("implicit GEMM forward: o"), r::toString);
            assertTrue(Files.readString(db).matches("(?s).*conv\\.implicit=(true|false).*"), Files.readString(db));
        } finally {
            if (before == null) System.clearProperty("jconv.cache.dir");
            else System.setProperty("jconv.cache.dir", before);
        }
    }
}
