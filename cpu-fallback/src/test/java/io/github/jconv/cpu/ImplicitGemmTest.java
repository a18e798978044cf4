package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The unit-stride implicit GEMM ({@link FloatImplicitGemm}, Vector API only): forward, backward data (its
 * adjoint's forward) and the weight gradient against the conformance kit's FP64 reference, on shapes that
 * reach its edges: raster rows split across steps, tiles past the last output channel and past the last
 * column-matrix row, uneven padding, dilation, 3D, groups, batch chunks; and the same bits on 1 and 3 threads.
 * Runs in the build's Vector API execution (cpu-fallback/pom.xml); skipped where the JVM lacks the module.
 */
class ImplicitGemmTest {
    static ConvEngine one, three;

    @BeforeAll
    static void open() {
        one = ConvEngine.open(new CpuBackendProvider(1), 0);
        three = ConvEngine.open(new CpuBackendProvider(3), 0);
    }

    @AfterAll
    static void close() {
        one.close();
        three.close();
    }

    /**
     * rowBlocks: how many raster row blocks the forward (f) and the weight gradient (w) use, worked out from
     * the budgets: e.g. line 1, forward: 8 channels × 1502 staged columns = 12016 per output row, 2^18 / 12016
     * = 21 rows less the 2-row halo = 19, so the 40 rows go in 3 blocks; weight gradient: one channel per block
     * (8 tasks wanted, 8 channels), (5 + 16) × 1502 = 31542 dy elements per row, 2^18 / 31542 = 8 rows, 5 blocks.
     * The last line (32 output channels: the forward's channel-vector tile) splits its forward on the output tile:
     * (2^18 − 16 × (32 + 6)) / (36 × 302 raster columns) = 24 rows, so the 40 rows go in 2 blocks; weight gradient,
     * one channel per block: (32 + 16) × 302 = 14496 per row, 2^18 / 14496 = 18 rows, 3 blocks.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "mb1ic8ih40iw1500oc5kh3kw3ph1pw1, 3, 5",
            "mb1ic256ih40iw40oc7kh3kw3ph1pw1, 2, 1",
            "g2mb3ic6id5ih7iw9oc10kd3kh3kw3pd2ph1pw2dd2dh1dw2, 1, 1",
            "mb2ic3ih9iw8oc7kh3kw3ph2phr0pw2pwr0, 1, 1",
            "mb2ic3ih9iw8oc4kh3kw2ph2phr0pw0pwr1, 1, 1",
            "g8mb9ic64ih12iw12oc64kh3kw3ph1pw1, 1, 1",
            "mb2ic5ih11iw13oc17kh5kw3ph2pw1dh2, 1, 1",
            "mb3ic4iw37oc6kw7pw3, 1, 1",
            "g2mb2ic6id4ih9iw11oc64kd3kh3kw3pd1ph1pw1, 1, 1",
            "mb1ic3ih40iw300oc32kh3kw3ph1pw1, 2, 3",
    })
    void everyPassMatchesTheReferenceAndTheThreadCountChangesNoBit(String line, int forwardBlocks, int weightBlocks) {
        assumeTrue(FloatGemm.VECTOR, "the implicit GEMM needs jdk.incubator.vector");
        ConvSpec spec = ConvSpec.parse(line);
        Geometry g = Geometry.of(spec);
        assertTrue(ImplicitGemm.applies(g), line);
        for (Pass pass : List.of(Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT)) {
            assertEquals(CpuAlgorithm.IMPLICIT_GEMM, CpuAlgorithms.choose(spec, pass), line + " " + pass);
        }
        int rt = FloatImplicitGemm.rowsPerTask(g);
        assertEquals(forwardBlocks, (g.oh + rt - 1) / rt, "forward row blocks");
        int wr = FloatImplicitWeights.weightRows(g, FloatPasses.channelBlocks(g, FloatImplicitWeights.split(g))[1]);
        assertEquals(weightBlocks, (g.oh + wr - 1) / wr, "weight-gradient row blocks");
        PassRunner runner = new PassRunner(spec, line.hashCode(), 1);
        for (DType dtype : new DType[]{DType.FP32, DType.FP64}) {
            for (Pass pass : List.of(Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT)) {
                Map<Role, double[]> got = runner.run(one, pass, dtype), again = runner.run(three, pass, dtype);
                for (Map.Entry<Role, double[]> e : runner.oracle(pass).entrySet()) {
                    double[] w = e.getValue(), a = got.get(e.getKey());
                    assertArrayEquals(a, again.get(e.getKey()), line + " " + dtype + " " + pass + ": 1 vs 3 threads");
                    double scale = 1;
                    for (double v : w) scale = Math.max(scale, Math.abs(v));
                    // FP32: K up to 1500 products of values in [-1, 1] summed in FP32 (bound about K·2^-24 relative to the largest sum)
                    double tol = (dtype == DType.FP64 ? 1e-11 : 1e-4) * scale;
                    for (int i = 0; i < w.length; i++) {
                        int at = i;
                        assertTrue(Math.abs(a[i] - w[i]) <= tol, () -> line + " " + dtype + " " + pass + " " + e.getKey().label()
                                + "[" + at + "] = " + a[at] + ", reference " + w[at]);
                    }
                }
            }
        }
    }

    /**
     * The raster's positions past ow are never multiplied in the weight gradient: with kw = 3 and pw = 1, the last
     * raster position of a row reads (tap 2) the first input column of the next row, which no real output pairs with
     * tap 2, so a NaN there must not reach dW[., ., ., 2]. Which dW elements are NaN comes from the FP64 reference
     * (the NaN rule: products with padding zeros are formed, others not); by hand, the NaN at (c 1, row 2, column 0)
     * reaches exactly the taps kx = 0 and 1 of channel 1 (column 0 pairs with outputs at columns 1 and 0).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"FP32", "FP64"})
    void aNaNAtTheStartOfARowReachesOnlyTheTapsThatRealOutputsPairItWith(DType dtype) {
        assumeTrue(FloatGemm.VECTOR, "the implicit GEMM needs jdk.incubator.vector");
        ConvSpec spec = ConvSpec.parse("mb1ic2ih6iw7oc3kh3kw3ph1pw1");
        assertEquals(CpuAlgorithm.IMPLICIT_GEMM, CpuAlgorithms.choose(spec, Pass.BACKWARD_WEIGHT));
        PassRunner runner = new PassRunner(spec, 7, 1);
        runner.inputs.get(Role.X)[(1 * 6 + 2) * 7] = Double.NaN;
        double[] want = runner.oracle(Pass.BACKWARD_WEIGHT).get(Role.DW), got = runner.run(one, Pass.BACKWARD_WEIGHT, dtype).get(Role.DW);
        int nans = 0;
        for (int i = 0; i < want.length; i++) {
            int tap = i % 9, c = (i / 9) % 2;
            assertEquals(c == 1 && tap % 3 != 2, Double.isNaN(want[i]), "reference dW[" + i + "]");
            assertEquals(Double.isNaN(want[i]), Double.isNaN(got[i]), "dW[" + i + "] = " + got[i] + ", reference " + want[i]);
            if (!Double.isNaN(want[i])) assertEquals(want[i], got[i], 1e-4 * (1 + Math.abs(want[i])), "dW[" + i + "]");
            else nans++;
        }
        assertEquals(3 * 6, nans, "3 output channels × 6 taps (kx 0 and 1 of three rows)");
    }

    /**
     * The two tile orientations of the forward (weights broadcast over vectors of positions, or staged inputs broadcast
     * over vectors of output channels) form every output as the same fused multiply-add chain over k in order, so they
     * must agree bit for bit, with and without a bias, on shapes whose raster is not a multiple of either tile's width,
     * with 3D taps, groups and several row blocks. Inputs include −0 products and a NaN, whose bits must also agree.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {
            "g2mb2ic6id4ih9iw11oc64kd3kh3kw3pd1ph1pw1", "mb1ic3ih40iw300oc32kh3kw3ph1pw1", "g8mb2ic64ih7iw5oc128kh3kw3ph1pw1dw2",
            // 16 output channels a group and rows of 13: the copy-out by gathers, one vector and a scalar tail per row
            "g4mb2ic16ih9iw13oc64kh3kw3ph1pw1"})
    void bothTileOrientationsGiveTheSameBits(String line) {
        assumeTrue(FloatGemm.VECTOR, "the implicit GEMM needs jdk.incubator.vector");
        Geometry g = Geometry.of(ConvSpec.parse(line));
        assertTrue(ImplicitGemm.applies(g), line);
        assertEquals(0, g.kg % FloatImplicitGemm.CR, "kg fits the channel tile");
        assertEquals(0, g.kg % DoubleImplicitGemm.CR, "kg fits the FP64 channel tile");
        java.util.SplittableRandom r = new java.util.SplittableRandom(line.hashCode());
        float[] x = new float[g.batch * g.c * g.is], w = new float[g.k * g.rows], b = new float[g.k];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextDouble() - 1);
        for (int i = 0; i < w.length; i++) w[i] = (float) (2 * r.nextDouble() - 1);
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextDouble();
        x[x.length / 3] = Float.NaN;
        java.util.Arrays.fill(w, 0, g.rows, -0f);
        double[] xd = new double[x.length], wd = new double[w.length], bd = new double[b.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        for (int i = 0; i < w.length; i++) wd[i] = w[i];
        for (int i = 0; i < b.length; i++) bd[i] = b[i];
        try (WorkerPool pool = new WorkerPool(2)) {
            for (float[] bias : new float[][]{null, b}) {
                float[] y1 = new float[g.batch * g.k * g.os], y2 = new float[y1.length];
                FloatImplicitGemm.forward(g, x, w, bias, y1, pool, false);
                FloatImplicitGemm.forward(g, x, w, bias, y2, pool, true);
                for (int i = 0; i < y1.length; i++) {
                    assertEquals(Float.floatToRawIntBits(y1[i]), Float.floatToRawIntBits(y2[i]), line + " FP32 y[" + i + "]: " + y1[i] + " vs " + y2[i]);
                }
            }
            for (double[] bias : new double[][]{null, bd}) {
                double[] y1 = new double[g.batch * g.k * g.os], y2 = new double[y1.length];
                DoubleImplicitGemm.forward(g, xd, wd, bias, y1, pool, false);
                DoubleImplicitGemm.forward(g, xd, wd, bias, y2, pool, true);
                for (int i = 0; i < y1.length; i++) {
                    assertEquals(Double.doubleToRawLongBits(y1[i]), Double.doubleToRawLongBits(y2[i]), line + " FP64 y[" + i + "]: " + y1[i] + " vs " + y2[i]);
                }
            }
        }
    }
}
