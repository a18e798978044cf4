package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The split of an over-limit forward convolution along its outermost spatial axis (SpatialSplit): its
 * invariants on every small problem and every element limit (fake limits, so that small problems split),
 * and its meaning: the parts, run one by one on the CPU backend and stitched, equal jconv's definition
 * (the FP64 direct loops of CudnnPlanTest.Reference) of the whole problem.
 */
class SpatialSplitTest {
    static List<ConvSpec> specs() {
        List<ConvSpec> out = new ArrayList<>();
        for (int k = 1; k <= 4; k++) {
            for (int s = 1; s <= 3; s++) {
                for (int d = 1; d <= 2; d++) {
                    for (int[] p : new int[][]{{0, 0}, {1, 1}, {2, 0}, {0, 3}}) {
                        ConvSpec.Builder b = ConvSpec.convolution().batch(2).channels(2, 3).input(11, 3).kernel(k, 2)
                                .stride(s, 1).dilation(d, 1).paddingLo(p[0], 1).paddingHi(p[1], 0);
                        try {
                            out.add(b.build());
                        } catch (IllegalArgumentException tooSmall) { // e.g. a dilated kernel longer than the padded input
                        }
                    }
                }
            }
        }
        out.add(ConvSpec.convolution().batch(1).channels(4, 2).groups(2).input(9, 4).kernel(3).padding(1).build());
        out.add(ConvSpec.convolution().batch(1).channels(1, 2).input(17).kernel(5).stride(2).dilation(2).padding(3).build());
        out.add(ConvSpec.convolution().batch(2).channels(2, 2).input(6, 3, 4).kernel(3, 2, 2).stride(2, 1, 1).padding(1, 0, 1).build());
        out.add(ConvSpec.convolution().batch(1).channels(1, 1).input(8, 8).kernel(1).bias(false).build());
        return out;
    }

    @Test
    void everyPlanOnEverySmallProblemAndEveryLimitCoversTheOutputOnceWithPartsUnderTheLimit() {
        int plans = 0, refusals = 0;
        for (ConvSpec spec : specs()) {
            long whole = SpatialSplit.largestTensor(spec);
            for (long limit = 1; limit <= whole + 1; limit++) {
                SpatialSplit.Plan plan = SpatialSplit.plan(spec, limit);
                String at = spec + " limit " + limit;
                if (!plan.possible()) {
                    refusals++;
                    assertTrue(plan.parts().isEmpty(), at);
                    assertTrue(plan.refusal().contains(Long.toString(limit)), at + ": the refusal names the limit: " + plan.refusal());
                    // justified: the weight is over the limit, or some one-row part is
                    boolean oneRowTooBig = false;
                    for (int o = 0; o < spec.output(0); o++) {
                        oneRowTooBig |= SpatialSplit.largestTensor(SpatialSplit.part(spec, o, o + 1).sub()) > limit;
                    }
                    assertTrue(spec.weightShape().elementCount() > limit || oneRowTooBig, at + " was refused: " + plan.refusal());
                    continue;
                }
                plans++;
                List<SpatialSplit.Part> parts = plan.parts();
                assertNull(plan.refusal());
                long oneWindow = SpatialSplit.largestTensor(SpatialSplit.part(spec, 0, spec.output(0)).sub());
                if (limit >= oneWindow) assertEquals(1, parts.size(), at + ": a problem whose whole window fits is not split");
                int next = 0;
                for (SpatialSplit.Part p : parts) {
                    assertEquals(next, p.outLo(), at + ": parts follow each other");
                    assertTrue(p.outHi() > p.outLo(), at);
                    next = p.outHi();
                    checkPart(spec, p, at);
                    assertTrue(SpatialSplit.largestTensor(p.sub()) <= limit, at + ": part " + p + " is over the limit");
                    if (p != parts.get(parts.size() - 1)) {
                        assertEquals(parts.get(0).outHi() - parts.get(0).outLo(), p.outHi() - p.outLo(), at + ": equal parts");
                    }
                }
                assertEquals(spec.output(0), next, at + ": the parts cover every output row");
                if (parts.size() > 1) { // as few parts as the limit allows: one part fewer does not fit
                    int rows = spec.output(0), fewer = parts.size() - 1, per = (rows + fewer - 1) / fewer;
                    boolean over = false;
                    for (int o = 0; o < rows; o += per) {
                        over |= SpatialSplit.largestTensor(SpatialSplit.part(spec, o, Math.min(rows, o + per)).sub()) > limit;
                    }
                    assertTrue(over, at + ": " + parts.size() + " parts where " + fewer + " fit");
                }
            }
        }
        assertTrue(plans > 1000 && refusals > 100, plans + " plans, " + refusals + " refusals: both paths were exercised");
    }

    /** One part against the definition of the window, derived from the spec alone. */
    static void checkPart(ConvSpec spec, SpatialSplit.Part p, String at) {
        int s = spec.stride(0), k = spec.kernel(0), d = spec.dilation(0), in = spec.input(0);
        int first = p.outLo() * s - spec.paddingLo(0);             // the first input row output row outLo reads
        int last = (p.outHi() - 1) * s - spec.paddingLo(0) + d * (k - 1); // the last row output row outHi - 1 reads
        assertEquals(first, p.first(), at);
        assertEquals(last - first + 1, p.windowRows(), at);
        assertEquals(p.windowRows(), p.sub().input(0), at);
        assertEquals(Math.max(0, Math.min(in, first)), p.inLo(), at);
        assertEquals(Math.max(p.inLo(), Math.min(in, last + 1)), p.inHi(), at);
        assertEquals(p.outHi() - p.outLo(), p.sub().output(0), at + ": the sub-problem makes exactly the part's rows");
        assertEquals(0, p.sub().paddingLo(0), at);
        assertEquals(0, p.sub().paddingHi(0), at);
        for (int a = 1; a < spec.rank(); a++) {
            assertEquals(spec.output(a), p.sub().output(a), at + " axis " + a);
            assertEquals(spec.input(a), p.sub().input(a), at + " axis " + a);
        }
        assertEquals(spec.batch(), p.sub().batch());
        assertEquals(spec.weightShape(), p.sub().weightShape());
    }

    @Test
    void whatCannotBeSplitIsRefusedWithTheReason() {
        ConvSpec wide = ConvSpec.convolution().batch(1).channels(8, 1).input(10, 10).kernel(3).build(); // weight: 72 elements
        // one output row reads a window of 3 input rows: 8 channels * 3 * 10 = 240 elements
        SpatialSplit.Plan p = SpatialSplit.plan(wide, 239);
        assertFalse(p.possible());
        assertTrue(p.refusal().contains("240") && p.refusal().contains("outermost spatial axis"), p.refusal());
        assertTrue(SpatialSplit.plan(wide, 240).possible());
        ConvSpec deep = wide.toBuilder().channels(8, 8).build();
        SpatialSplit.Plan w = SpatialSplit.plan(deep, 8 * 8 * 9 - 1); // the weight, 576 elements, cannot be split
        assertFalse(w.possible());
        assertTrue(w.refusal().contains("weight") && w.refusal().contains("576"), w.refusal());
        ConvSpec tr = ConvSpec.transposed().batch(1).channels(2, 2).input(10, 10).kernel(3).build();
        SpatialSplit.Plan t = SpatialSplit.plan(tr, 50);
        assertFalse(t.possible());
        assertTrue(t.refusal().contains("transposed"), t.refusal());
    }

    @Test
    void theHugeImageOfTheFirstGpuRunSplitsInTwo() {
        // 46341^2 = 2,147,488,281 elements > 2^31 - 1; a 1x1 kernel reads no halo, so two halves of
        // 23171 and 23170 rows (each 23171 * 46341 = 1,073,767,311 elements at most) fit
        ConvSpec huge = ConvSpec.parse("mb1ic1ih46341oc1kh1bia0");
        SpatialSplit.Plan p = SpatialSplit.plan(huge, CudnnPlan.CUDNN_MAX_ELEMENTS);
        assertTrue(p.possible(), p.refusal());
        assertEquals(2, p.parts().size());
        assertEquals(new SpatialSplit.Part(0, 23171, 0, 0, 23171, 0, 0, p.parts().get(0).sub()), p.parts().get(0));
        assertEquals(new SpatialSplit.Part(23171, 46341, 23171, 23171, 46341, 0, 0, p.parts().get(1).sub()), p.parts().get(1));
    }

    /**
     * Every pass, the way the CUDA runner stitches it: forward places each part's output rows; the input
     * gradient adds each part's window gradient (from the part's rows of dy) at the window's rows inside
     * the input; the weight and bias gradients add the parts' gradients.
     */
    @Test
    void partsRunOnTheCpuBackendAndStitchedEqualTheWholeProblemsDefinitionForEveryPass() {
        ConvBackendProvider cpu = ConvEngine.providers().stream().filter(q -> q.name().equals("cpu")).findFirst().orElse(null);
        assumeTrue(cpu != null, "jconv-cpu is not on the test classpath");
        List<ConvSpec> specs = List.of(
                ConvSpec.convolution().batch(2).channels(2, 3).input(13, 5).kernel(3, 2).stride(2, 1).dilation(2, 1).paddingLo(3, 1).paddingHi(1, 0).build(),
                ConvSpec.convolution().batch(1).channels(4, 4).groups(2).input(10, 6).kernel(3).padding(1).build(),
                ConvSpec.convolution().batch(1).channels(1, 2).input(23).kernel(4).stride(3).padding(2).build(),
                ConvSpec.convolution().batch(2).channels(2, 2).input(7, 3, 4).kernel(3, 2, 2).stride(2, 1, 1).padding(1, 0, 1).build(),
                ConvSpec.convolution().batch(1).channels(1, 1).input(6, 4).kernel(2).padding(4).build()); // windows in padding only
        try (ConvBackend c = cpu.open(0)) {
            for (ConvSpec spec : specs) {
                for (Pass pass : CudnnPlanTest.PASSES) {
                    if (pass == Pass.BACKWARD_BIAS && !spec.bias()) continue;
                    Map<Role, double[]> in = CudnnPlanTest.randomInputs(spec, pass, new Random(spec.hashCode() + pass.ordinal()));
                    double[] want = CudnnPlanTest.Reference.run(spec, pass, in);
                    Map<Role, double[]> absIn = new EnumMap<>(Role.class);
                    in.forEach((r, a) -> absIn.put(r, CudaGpuTest.abs(a)));
                    double[] scale = CudnnPlanTest.Reference.run(spec, pass, absIn);
                    long whole = SpatialSplit.largestTensor(spec);
                    long weight = spec.weightShape().elementCount(); // the weight is never split: limits below it are refused
                    int mostParts = 0;
                    for (long limit : new long[]{whole, Math.max(weight, whole / 2), Math.max(weight, whole / 3), Math.max(weight, whole / 5)}) {
                        SpatialSplit.Plan plan = SpatialSplit.plan(spec, limit);
                        if (!plan.possible()) continue;
                        mostParts = Math.max(mostParts, plan.parts().size());
                        double[] got = new double[want.length];
                        if (pass == Pass.FORWARD) java.util.Arrays.fill(got, Double.NaN); // each row written exactly once
                        for (SpatialSplit.Part p : plan.parts()) {
                            Map<Role, double[]> sub = new EnumMap<>(Role.class);
                            if (in.containsKey(Role.X)) sub.put(Role.X, gather(in.get(Role.X), spec, p));
                            if (in.containsKey(Role.W)) sub.put(Role.W, in.get(Role.W));
                            if (in.containsKey(Role.B)) sub.put(Role.B, in.get(Role.B));
                            if (in.containsKey(Role.DY)) sub.put(Role.DY, rowsOf(in.get(Role.DY), spec, p));
                            Role out = pass.outputs(spec).iterator().next();
                            double[] part = CudaGpuTest.runOutput(c, p.sub(), pass, DType.FP64, sub, out);
                            switch (pass) {
                                case FORWARD -> paste(part, got, spec, p);
                                case BACKWARD_DATA -> addWindow(part, got, spec, p);
                                default -> {
                                    for (int i = 0; i < got.length; i++) got[i] += part[i];
                                }
                            }
                        }
                        for (int i = 0; i < want.length; i++) {
                            assertEquals(want[i], got[i], 1e-12 * scale[i] + 1e-300,
                                    pass + " " + spec + " limit " + limit + " (" + plan.parts().size() + " parts) [" + i + "]");
                        }
                    }
                    assertTrue(mostParts >= 3, spec + " was split in " + mostParts + " parts at most");
                }
            }
        }
    }

    /** dy's rows [outLo, outHi) of every (n, k) plane. */
    static double[] rowsOf(double[] dy, ConvSpec spec, SpatialSplit.Part p) {
        int planes = spec.batch() * spec.outChannels(), rows = spec.output(0), mine = p.outHi() - p.outLo();
        long inner = spec.outputSpatial() / rows;
        double[] out = new double[Math.toIntExact(planes * mine * inner)];
        for (int pl = 0; pl < planes; pl++) {
            for (int j = 0; j < mine; j++) {
                for (long e = 0; e < inner; e++) out[(int) ((pl * (long) mine + j) * inner + e)] = dy[(int) ((pl * (long) rows + p.outLo() + j) * inner + e)];
            }
        }
        return out;
    }

    /** Adds the window's input gradient at the window rows that lie inside the input (the rest is padding). */
    static void addWindow(double[] dxWindow, double[] dx, ConvSpec spec, SpatialSplit.Part p) {
        int planes = spec.batch() * spec.inChannels(), rows = spec.input(0), win = p.windowRows();
        long inner = spec.inputSpatial() / rows;
        assertEquals(planes * win * inner, dxWindow.length);
        for (int pl = 0; pl < planes; pl++) {
            for (int j = 0; j < win; j++) {
                int row = p.first() + j;
                if (row < 0 || row >= rows) continue;
                for (long e = 0; e < inner; e++) dx[(int) ((pl * (long) rows + row) * inner + e)] += dxWindow[(int) ((pl * (long) win + j) * inner + e)];
            }
        }
    }

    /** x's window rows [first, first + windowRows) of every (n, c) plane, zero outside the input. */
    static double[] gather(double[] x, ConvSpec spec, SpatialSplit.Part p) {
        int planes = spec.batch() * spec.inChannels(), rows = spec.input(0), win = p.windowRows();
        long inner = spec.inputSpatial() / rows;
        double[] out = new double[Math.toIntExact(planes * win * inner)];
        for (int pl = 0; pl < planes; pl++) {
            for (int j = 0; j < win; j++) {
                int src = p.first() + j;
                if (src < 0 || src >= rows) continue;
                for (long e = 0; e < inner; e++) out[(int) ((pl * (long) win + j) * inner + e)] = x[(int) ((pl * (long) rows + src) * inner + e)];
            }
        }
        return out;
    }

    /** The part's output rows into y. */
    static void paste(double[] ySub, double[] y, ConvSpec spec, SpatialSplit.Part p) {
        int planes = spec.batch() * spec.outChannels(), rows = spec.output(0), mine = p.outHi() - p.outLo();
        long inner = spec.outputSpatial() / rows;
        assertEquals(planes * mine * inner, ySub.length);
        for (int pl = 0; pl < planes; pl++) {
            for (int j = 0; j < mine; j++) {
                for (long e = 0; e < inner; e++) {
                    int at = (int) ((pl * (long) rows + p.outLo() + j) * inner + e);
                    assertTrue(Double.isNaN(y[at]), "row " + (p.outLo() + j) + " is written by one part only");
                    y[at] = ySub[(int) ((pl * (long) mine + j) * inner + e)];
                }
            }
        }
        assertNotNull(y);
    }
}
