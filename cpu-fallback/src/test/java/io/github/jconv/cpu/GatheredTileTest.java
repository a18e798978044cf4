package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plain path's gathered forward tiles ({@link FloatPasses#gatheredTile}): up to 1024 whole output rows where
 * the GEMM has 64 rows or more or the output fits one block, else up to 512 as before; and a forward cut into such
 * wide tiles against the FP64 reference and across thread counts.
 */
class GatheredTileTest {
    @Test
    void tilesAreWholeRowsUpToTheBlockWidth() {
        // P2: 28 × 28 = 784 positions fit one 1024-column block: one tile.
        assertEquals(784, FloatPasses.gatheredTile(784, 28, 128));
        // P8 (16 rows per group): the whole output fits one block, so the row condition does not apply.
        assertEquals(784, FloatPasses.gatheredTile(784, 28, 16));
        // P1: 56 lines of 56; 1024 / 56 = 18 lines a tile at most, ceil(56 / 18) = 4 tiles, ceil(56 / 4) = 14 lines.
        assertEquals(14 * 56, FloatPasses.gatheredTile(3136, 56, 64));
        // P7: 32 rows, 16 · 56 = 896 lines of 56: tiles of at most 512 / 56 = 9 lines, ceil(896 / 9) = 100 tiles,
        // ceil(896 / 100) = 9 lines = 504 positions (what the column tile gave before).
        assertEquals(9 * 56, FloatPasses.gatheredTile(16 * 56 * 56, 56, 32));
        // 64 rows on the same output: up to 1024 / 56 = 18 lines, ceil(896 / 18) = 50 tiles, ceil(896 / 50) = 18 lines.
        assertEquals(18 * 56, FloatPasses.gatheredTile(16 * 56 * 56, 56, 64));
    }

    @Test
    void wideTilesMatchTheReferenceAndDoNotDependOnThreads() {
        // 40 × 40 = 1600 positions, 64 output channels: two gathered tiles of 800 (20 lines) where the Vector API is
        // absent. Inputs in [-1, 1], K = 8 · 9 = 72 terms: each output within (K + 2) · 2⁻²⁴ · K of the FP64 sum.
        ConvSpec spec = ConvSpec.parse("mb2ic8ih40oc64kh3ph1");
        PassRunner runner = new PassRunner(spec, 7, 1);
        double bound = 74 * 0x1p-24 * 72;
        try (ConvEngine one = ConvEngine.open(new CpuBackendProvider(1), 0);
             ConvEngine three = ConvEngine.open(new CpuBackendProvider(3), 0)) {
            Map<Role, double[]> got = runner.run(one, Pass.FORWARD, DType.FP32);
            Map<Role, double[]> want = runner.oracle(Pass.FORWARD);
            double[] y = got.get(Role.Y), ref = want.get(Role.Y);
            assertEquals(ref.length, y.length);
            for (int i = 0; i < y.length; i++) {
                assertTrue(Math.abs(y[i] - ref[i]) <= bound, "y[" + i + "] = " + y[i] + ", reference " + ref[i]);
            }
            for (Pass pass : runner.passes()) {
                Map<Role, double[]> a = runner.run(one, pass, DType.FP32), b = runner.run(three, pass, DType.FP32);
                for (Role r : a.keySet()) assertArrayEquals(a.get(r), b.get(r), pass + " " + r.label() + ": 1 vs 3 threads");
            }
        }
    }
}
