package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cuDNN plans, checked two ways without cuDNN: (1) every plan satisfies cuDNN's documented
 * shape equation yc = (xc + 2·pad − k')/s + 1 and its channel rules, so cuDNN will accept its
 * descriptors; (2) executing the plan with an FP64 model of cuDNN's documented operations
 * (cross-correlation with symmetric zero padding and groups, its adjoints, plus the window copy)
 * gives what jconv's definitions of convolution and transposed convolution give, written here
 * from those definitions as direct loops.
 */
class CudnnPlanTest {
    static List<ConvSpec> specs() {
        return List.of(
                ConvSpec.convolution().batch(2).channels(3, 4).input(11).kernel(3).stride(2).padding(1).build(),
                ConvSpec.convolution().batch(1).channels(2, 2).input(9).kernel(3).dilation(2).paddingLo(2).paddingHi(0).build(),
                ConvSpec.convolution().batch(2).channels(4, 6).groups(2).input(6, 5).kernel(3).padding(1).build(),
                ConvSpec.convolution().batch(1).channels(4, 8).groups(4).input(7, 6).kernel(3, 2).stride(2)
                        .paddingLo(0, 1).paddingHi(1, 0).bias(false).build(),
                ConvSpec.convolution().batch(1).channels(2, 3).input(8, 9).kernel(2, 3).stride(1, 2).dilation(2, 1)
                        .paddingLo(2, 0).paddingHi(1, 1).build(),
                ConvSpec.convolution().batch(1).channels(2, 2).input(4, 5, 3).kernel(2, 3, 1).padding(1, 1, 0).build(),
                ConvSpec.transposed().batch(2).channels(3, 2).input(5).kernel(3).stride(2).padding(1).outputPadding(1).build(),
                ConvSpec.transposed().batch(1).channels(4, 6).groups(2).input(4, 3).kernel(3, 2).stride(2)
                        .paddingLo(1, 0).paddingHi(0, 0).outputPadding(1, 0).build(),
                ConvSpec.transposed().batch(1).channels(2, 2).input(4, 4).kernel(2).stride(2).dilation(3).outputPadding(2).build(),
                ConvSpec.transposed().batch(1).channels(2, 3).input(3, 2, 3).kernel(2, 2, 3).stride(2, 1, 2).padding(1, 0, 1)
                        .outputPadding(1, 0, 0).build(),
                ConvSpec.transposed().batch(2).channels(3, 3).groups(3).input(6).kernel(1).bias(false).build());
    }

    static final Pass[] PASSES = {Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_BIAS};

    @TestFactory
    Stream<DynamicTest> everyPlanSatisfiesCudnnsShapeEquationAndChannelRules() {
        List<DynamicTest> out = new ArrayList<>();
        for (ConvSpec s : specs()) {
            for (Pass p : PASSES) {
                if (p == Pass.BACKWARD_BIAS) continue;
                out.add(DynamicTest.dynamicTest(p + " " + s, () -> {
                    CudnnPlan plan = CudnnPlan.of(s, p);
                    int sp = plan.xcDims().length - 2;
                    assertEquals(plan.xcDims().length, plan.ycDims().length);
                    assertEquals(plan.xcDims().length, plan.wDims().length);
                    assertTrue(plan.xcDims().length >= 4, "cuDNN wants at least 4 dimensions");
                    for (int a = 0; a < sp; a++) {
                        int kEff = plan.dilation()[a] * (plan.wDims()[2 + a] - 1) + 1;
                        int expect = (plan.xcDims()[2 + a] + 2 * plan.pad()[a] - kEff) / plan.stride()[a] + 1;
                        assertEquals(expect, plan.ycDims()[2 + a], "axis " + a + " of " + plan);
                    }
                    assertEquals(plan.xcDims()[0], plan.ycDims()[0]);
                    assertEquals(plan.ycDims()[1], plan.wDims()[0], "filter K = yc channels");
                    assertEquals(plan.xcDims()[1], plan.wDims()[1] * plan.groups(), "filter C*groups = xc channels");
                    assertEquals(0, plan.wDims()[0] % plan.groups());
                }));
            }
        }
        return out.stream();
    }

    @TestFactory
    Stream<DynamicTest> everyPlanUsesExactlyTheBuffersItsPassReadsAndWrites() {
        List<DynamicTest> out = new ArrayList<>();
        for (ConvSpec s : specs()) {
            for (Pass p : PASSES) {
                out.add(DynamicTest.dynamicTest(p + " " + s, () -> {
                    CudnnPlan plan = CudnnPlan.of(s, p);
                    Set<Role> used = new HashSet<>();
                    for (Role r : new Role[]{plan.xc(), plan.w(), plan.yc()}) if (r != null) used.add(r);
                    if (plan.addBias()) used.add(Role.B);
                    if (p == Pass.BACKWARD_BIAS) used.add(Role.DB);
                    Set<Role> expected = new HashSet<>(p.inputs(s));
                    expected.addAll(p.outputs(s));
                    assertEquals(expected, used);
                }));
            }
        }
        return out.stream();
    }

    @TestFactory
    Stream<DynamicTest> runningThePlanOnCudnnsSemanticsGivesJconvsDefinition() {
        List<DynamicTest> out = new ArrayList<>();
        for (ConvSpec s : specs()) {
            for (Pass p : PASSES) {
                out.add(DynamicTest.dynamicTest(p + " " + s, () -> {
                    Map<Role, double[]> in = randomInputs(s, p, new Random(s.hashCode() * 31L + p.ordinal()));
                    Role outRole = p.outputs(s).iterator().next();
                    double[] want = Reference.run(s, p, in);
                    double[] got = CudnnModel.execute(CudnnPlan.of(s, p), s, in, outRole);
                    assertEquals(want.length, got.length);
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(want[i], got[i], 1e-9, outRole.label() + "[" + i + "] of " + CudnnPlan.of(s, p));
                    }
                }));
            }
        }
        return out.stream();
    }

    @Test
    void symmetricProblemsRunWithoutStagingAndAsymmetricOnesAreStagedAtPaddingLo() {
        ConvSpec sym = specs().get(2);
        assertFalse(CudnnPlan.of(sym, Pass.FORWARD).staged());
        assertNull(CudnnPlan.of(sym, Pass.FORWARD).offset());
        CudnnPlan asym = CudnnPlan.of(specs().get(4), Pass.FORWARD);
        assertTrue(asym.staged());
        assertArrayEquals(new int[]{2, 0}, asym.offset());
        assertArrayEquals(new int[]{0, 0}, asym.pad());
        assertArrayEquals(new int[]{1, 2, 8 + 2 + 1, 9 + 0 + 1}, asym.xcDims());
        assertEquals(1L * 2 * 11 * 10, asym.stagedElements());
    }

    @Test
    void transposedForwardIsCudnnBackwardDataAndItsBackwardDataIsCudnnForward() {
        ConvSpec t = specs().get(6);
        CudnnPlan f = CudnnPlan.of(t, Pass.FORWARD);
        assertEquals(CudnnPlan.Op.BACKWARD_DATA, f.op());
        assertEquals(Role.Y, f.xc());
        assertEquals(Role.X, f.yc());
        assertTrue(f.addBias());
        assertEquals(CudnnPlan.Op.FORWARD, CudnnPlan.of(t, Pass.BACKWARD_DATA).op());
        assertEquals(CudnnPlan.Op.BACKWARD_FILTER, CudnnPlan.of(t, Pass.BACKWARD_WEIGHT).op());
        // output_padding 1 < stride 2: cuDNN's own padding suffices
        assertFalse(f.staged());
        // output_padding 2 >= stride 2 (dilation 3): staged
        assertTrue(CudnnPlan.of(specs().get(8), Pass.FORWARD).staged());
    }

    @Test
    void oneDimensionalProblemsRunAsTwoDimensionalWithHeightOne() {
        CudnnPlan p = CudnnPlan.of(specs().get(0), Pass.FORWARD);
        assertArrayEquals(new int[]{2, 3, 1, 11}, p.xcDims());
        assertArrayEquals(new int[]{4, 3, 1, 3}, p.wDims());
        assertArrayEquals(new int[]{2, 4, 1, 6}, p.ycDims());
        assertArrayEquals(new int[]{0, 1}, p.pad());
        assertArrayEquals(new int[]{1, 2}, p.stride());
        assertArrayEquals(new int[]{1, 1}, p.dilation());
    }

    @Test
    void packedStridesAreRowMajor() {
        assertArrayEquals(new int[]{60, 20, 5, 1}, CudnnPlan.packedStrides(new int[]{2, 3, 4, 5}));
        assertArrayEquals(new int[]{1, 1, 1, 1, 1}, CudnnPlan.packedStrides(new int[]{1, 1, 1, 1, 1}));
    }

    @Test
    void tensorsBeyondCudnnsIntIndexingRunInBatchSlicesThatFit() {
        // 256 * 400 * 400 = 40,960,000 elements per item; (2^31 - 1) / 40,960,000 = 52.4
        ConvSpec big = ConvSpec.convolution().batch(64).channels(256, 256).input(400, 400).kernel(3).padding(1).build();
        assertTrue(CudnnPlan.supports(big).supported());
        assertEquals(52, CudnnPlan.batchSlice(big));
        assertEquals(2, CudnnPlan.batchSlice(specs().get(0)), "a small problem runs whole");
        // staging counts too: x has 26754 x 26755 elements per item (3 items fit), the zero-padded
        // copy 26756 x 26755 (only 2 fit)
        ConvSpec staged = ConvSpec.convolution().batch(4).channels(1, 1).input(26754, 26755).kernel(3).paddingLo(2, 0).paddingHi(0, 0).build();
        assertEquals(2, CudnnPlan.batchSlice(staged));
        ConvSpec item = ConvSpec.convolution().batch(2).channels(16384, 16).input(400, 400).kernel(1).build();
        assertEquals(0, CudnnPlan.batchSlice(item));
        var s = CudnnPlan.supports(item);
        assertFalse(s.supported());
        assertTrue(s.reason().contains("2147483647"), s.reason());
        // every pass of it splits along H (one output row reads 16384 * 1 * 400 elements)
        for (Pass p : PASSES) assertTrue(CudnnPlan.supports(item, p).supported(), p.name());
        // the huge image of the first GPU run: refused before, split now
        ConvSpec huge = ConvSpec.parse("mb1ic1ih46341oc1kh1bia0");
        assertFalse(CudnnPlan.supports(huge).supported(), "not every pass");
        assertTrue(CudnnPlan.supports(huge, Pass.FORWARD).supported());
        assertTrue(CudaBackend.supports(huge, Pass.FORWARD, DType.FP32, 90).supported());
        assertFalse(CudaBackend.supports(huge, Pass.FORWARD, DType.FP32, 70).supported(), "the split needs the window kernel's compute_75");
        // a transposed item over the limit is not split: refused, saying so
        ConvSpec tr = ConvSpec.transposed().batch(1).channels(1, 1).input(46341, 46341).kernel(1).bias(false).build();
        var t = CudnnPlan.supports(tr, Pass.FORWARD);
        assertFalse(t.supported());
        assertTrue(t.reason().contains("cannot be split") && t.reason().contains("transposed"), t.reason());
    }

    @Test
    void batchZeroIsSupportedAndNeedsNoSlicing() {
        // batch 0 is a valid spec (core's BatchZeroTest); per-item sizes used to be divided by the batch
        for (ConvSpec s : specs()) {
            ConvSpec zero = s.toBuilder().batch(0).build();
            assertTrue(CudnnPlan.supports(zero).supported(), zero.toString());
            for (Pass p : PASSES) assertTrue(CudnnPlan.supports(zero, p).supported(), p + " " + zero);
            assertEquals(1, CudnnPlan.batchSlice(zero));
            assertTrue(CudaBackend.supports(zero, Pass.BACKWARD_WEIGHT, DType.FP32, 90).supported());
        }
    }

    @Test
    void deformableAndItsOffsetPassAreNotCudnnPlans() {
        ConvSpec d = ConvSpec.deformable().batch(1).channels(2, 2).input(5, 5).kernel(3).padding(1).build();
        assertFalse(CudnnPlan.supports(d).supported());
        assertThrows(IllegalArgumentException.class, () -> CudnnPlan.of(d, Pass.FORWARD));
        assertThrows(IllegalArgumentException.class, () -> CudnnPlan.of(specs().get(0), Pass.BACKWARD_OFFSET_MASK));
    }

    // ---- inputs ----

    static Map<Role, double[]> randomInputs(ConvSpec s, Pass p, Random r) {
        Map<Role, double[]> m = new EnumMap<>(Role.class);
        for (Role role : p.inputs(s)) {
            double[] a = new double[Math.toIntExact(role.shapeFor(s).elementCount())];
            for (int i = 0; i < a.length; i++) a[i] = r.nextInt(17) - 8 + r.nextDouble();
            m.put(role, a);
        }
        return m;
    }

    /** Row-major index of a multi-index in dims. */
    static int index(int[] dims, int[] idx) {
        int i = 0;
        for (int a = 0; a < dims.length; a++) i = i * dims[a] + idx[a];
        return i;
    }

    /** Calls f for every multi-index below dims. */
    static void forEach(int[] dims, java.util.function.Consumer<int[]> f) {
        int[] i = new int[dims.length];
        long n = 1;
        for (int d : dims) n *= d;
        for (long c = 0; c < n; c++) {
            f.accept(i.clone());
            for (int a = dims.length - 1; a >= 0; a--) {
                if (++i[a] < dims[a]) break;
                i[a] = 0;
            }
        }
    }

    /** A sink of (x index, w index, y index) triples: the terms of a convolution sum. */
    interface Terms {
        void term(int xi, int wi, int yi);
    }

    /** jconv's definitions (common semantics), as direct loops over the terms of the sums. */
    static final class Reference {
        static void terms(ConvSpec s, Terms t) {
            int rank = s.rank();
            int cg = s.inChannels() / s.groups();
            int kg = s.outChannels() / s.groups();
            int[] x = s.inputShape().dims();
            int[] w = s.weightShape().dims();
            int[] y = s.outputShape().dims();
            boolean tr = s.type() == ConvType.TRANSPOSED;
            int[] iter = tr ? s.input() : s.output();
            for (int n = 0; n < s.batch(); n++) {
                for (int g = 0; g < s.groups(); g++) {
                    for (int k = 0; k < kg; k++) {
                        for (int c = 0; c < cg; c++) {
                            final int fn = n, fg = g, fk = k, fc = c;
                            forEach(iter, pos -> forEach(s.kernel(), tap -> {
                                int[] q = new int[rank];
                                for (int a = 0; a < rank; a++) {
                                    q[a] = pos[a] * s.stride(a) - s.paddingLo(a) + tap[a] * s.dilation(a);
                                    int limit = tr ? s.output(a) : s.input(a);
                                    if (q[a] < 0 || q[a] >= limit) return;
                                }
                                int[] xpos = tr ? pos : q;
                                int[] ypos = tr ? q : pos;
                                int xi = index(x, cat(fn, fg * cg + fc, xpos));
                                int yi = index(y, cat(fn, fg * kg + fk, ypos));
                                int wi = tr ? index(w, cat(fg * cg + fc, fk, tap)) : index(w, cat(fg * kg + fk, fc, tap));
                                t.term(xi, wi, yi);
                            }));
                        }
                    }
                }
            }
        }

        static double[] run(ConvSpec s, Pass p, Map<Role, double[]> in) {
            switch (p) {
                case FORWARD -> {
                    double[] y = new double[(int) s.outputShape().elementCount()];
                    double[] x = in.get(Role.X), w = in.get(Role.W);
                    terms(s, (xi, wi, yi) -> y[yi] += x[xi] * w[wi]);
                    if (s.bias()) addBias(y, in.get(Role.B), s.outputShape().dims());
                    return y;
                }
                case BACKWARD_DATA -> {
                    double[] dx = new double[(int) s.inputShape().elementCount()];
                    double[] dy = in.get(Role.DY), w = in.get(Role.W);
                    terms(s, (xi, wi, yi) -> dx[xi] += dy[yi] * w[wi]);
                    return dx;
                }
                case BACKWARD_WEIGHT -> {
                    double[] dw = new double[(int) s.weightShape().elementCount()];
                    double[] dy = in.get(Role.DY), x = in.get(Role.X);
                    terms(s, (xi, wi, yi) -> dw[wi] += x[xi] * dy[yi]);
                    return dw;
                }
                default -> {
                    return biasGrad(in.get(Role.DY), s.outputShape().dims());
                }
            }
        }
    }

    /** cuDNN's documented operations on the plan's descriptors, in FP64, plus the window copy. */
    static final class CudnnModel {
        static void terms(CudnnPlan p, Terms t) {
            int[] xd = p.xcDims(), wd = p.wDims(), yd = p.ycDims();
            int sp = xd.length - 2;
            int g = p.groups();
            int cg = xd[1] / g, kg = yd[1] / g;
            int[] ySpatial = java.util.Arrays.copyOfRange(yd, 2, yd.length);
            int[] kSpatial = java.util.Arrays.copyOfRange(wd, 2, wd.length);
            for (int n = 0; n < xd[0]; n++) for (int gi = 0; gi < g; gi++) for (int k = 0; k < kg; k++) for (int c = 0; c < cg; c++) {
                final int fn = n, fg = gi, fk = k, fc = c;
                forEach(ySpatial, o -> forEach(kSpatial, tap -> {
                    int[] q = new int[sp];
                    for (int a = 0; a < sp; a++) {
                        q[a] = o[a] * p.stride()[a] - p.pad()[a] + tap[a] * p.dilation()[a];
                        if (q[a] < 0 || q[a] >= xd[2 + a]) return;
                    }
                    t.term(index(xd, cat(fn, fg * cg + fc, q)), index(wd, cat(fg * kg + fk, fc, tap)), index(yd, cat(fn, fg * kg + fk, o)));
                }));
            }
        }

        static double[] execute(CudnnPlan p, ConvSpec s, Map<Role, double[]> in, Role outRole) {
            if (p.op() == CudnnPlan.Op.BACKWARD_BIAS) return biasGrad(in.get(Role.DY), p.ycDims());
            int xcSize = size(p.xcDims());
            double[] xc = p.op().readsXc()
                    ? (p.staged() ? window(in.get(p.xc()), p.ourXcDims(), p.xcDims(), p.offset()) : in.get(p.xc()).clone())
                    : new double[xcSize];
            double[] w = p.op() == CudnnPlan.Op.BACKWARD_FILTER ? new double[size(p.wDims())] : in.get(p.w());
            double[] yc = p.op() == CudnnPlan.Op.FORWARD ? new double[size(p.ycDims())] : in.get(p.yc());
            assertEquals(xcSize, xc.length, "xc buffer size");
            switch (p.op()) {
                case FORWARD -> terms(p, (xi, wi, yi) -> yc[yi] += xc[xi] * w[wi]);
                case BACKWARD_DATA -> terms(p, (xi, wi, yi) -> xc[xi] += yc[yi] * w[wi]);
                case BACKWARD_FILTER -> terms(p, (xi, wi, yi) -> w[wi] += xc[xi] * yc[yi]);
                default -> throw new AssertionError();
            }
            double[] result;
            if (outRole == p.xc()) {
                if (p.staged()) {
                    int[] back = p.offset().clone();
                    for (int i = 0; i < back.length; i++) back[i] = -back[i];
                    result = window(xc, p.xcDims(), p.ourXcDims(), back);
                } else {
                    result = xc;
                }
            } else if (outRole == p.yc()) {
                result = yc;
            } else {
                result = w;
            }
            if (p.addBias()) addBias(result, in.get(Role.B), CudnnPlan.outputDims(s));
            return result;
        }

        /** dst[p, s…] = src[p, s… − off] inside src, else 0 (window.cu's contract). */
        static double[] window(double[] src, int[] srcDims, int[] dstDims, int[] off) {
            double[] dst = new double[size(dstDims)];
            forEach(dstDims, idx -> {
                int[] si = idx.clone();
                for (int a = 0; a < off.length; a++) {
                    si[2 + a] = idx[2 + a] - off[a];
                    if (si[2 + a] < 0 || si[2 + a] >= srcDims[2 + a]) return;
                }
                dst[index(dstDims, idx)] = src[index(srcDims, si)];
            });
            return dst;
        }
    }

    static void addBias(double[] y, double[] b, int[] dims) {
        int spatial = size(dims) / (dims[0] * dims[1]);
        for (int i = 0; i < y.length; i++) y[i] += b[(i / spatial) % dims[1]];
    }

    static double[] biasGrad(double[] dy, int[] dims) {
        double[] db = new double[dims[1]];
        int spatial = size(dims) / (dims[0] * dims[1]);
        for (int i = 0; i < dy.length; i++) db[(i / spatial) % dims[1]] += dy[i];
        return db;
    }

    static int size(int[] dims) {
        int n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    static int[] cat(int a, int b, int[] rest) {
        int[] r = new int[rest.length + 2];
        r[0] = a;
        r[1] = b;
        System.arraycopy(rest, 0, r, 2, rest.length);
        return r;
    }

    /**
     * Batch slices of a problem too large for cuDNN's int indexing: only the passes that sum over the
     * batch (weight and bias gradients) add later slices to earlier ones; forward and backward data
     * write each slice's own rows with beta = 0 (with beta = 1 they would add the output's old contents).
     */
    @Test
    void onlyWeightAndBiasGradientsAccumulateOverBatchSlices() {
        org.junit.jupiter.api.Assertions.assertFalse(CudnnPlan.slicesAccumulate(Pass.FORWARD));
        org.junit.jupiter.api.Assertions.assertFalse(CudnnPlan.slicesAccumulate(Pass.BACKWARD_DATA));
        org.junit.jupiter.api.Assertions.assertTrue(CudnnPlan.slicesAccumulate(Pass.BACKWARD_WEIGHT));
        org.junit.jupiter.api.Assertions.assertTrue(CudnnPlan.slicesAccumulate(Pass.BACKWARD_BIAS));
    }
}
