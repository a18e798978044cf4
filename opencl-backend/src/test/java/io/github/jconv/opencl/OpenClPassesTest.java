package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.conformance.Reference;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static io.github.jconv.opencl.OpenClTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every pass of every operation family on the OpenCL device against the conformance kit's FP64 reference. */
class OpenClPassesTest {
    /** The kernel paths under test: direct, GEMM over whole batches, GEMM one batch item per chunk. */
    enum Route {
        DIRECT("direct", Long.MAX_VALUE), GEMM("gemm", Long.MAX_VALUE), GEMM_ITEM_CHUNKS("gemm", 1);

        final String mode;
        final long columnBudget;

        Route(String mode, long columnBudget) {
            this.mode = mode;
            this.columnBudget = columnBudget;
        }
    }

    private static final Map<Route, ConvBackend> SESSIONS = new EnumMap<>(Route.class);

    /** One problem, its dtype, how far its deformable offsets reach (in pixels) and the forced kernel path. */
    record Case(ConvSpec spec, DType dtype, int offsetReach, Route route) {
        Case(ConvSpec spec, DType dtype, int offsetReach) {
            this(spec, dtype, offsetReach, Route.DIRECT);
        }

        Case with(Route r) {
            return new Case(spec, dtype, offsetReach, r);
        }

        @Override
        public String toString() {
            return route.name().toLowerCase(java.util.Locale.ROOT) + " " + dtype + " " + spec;
        }
    }

    @BeforeAll
    static void open() {
        for (Route r : Route.values()) {
            String savedMode = System.getProperty(Algorithms.MODE_PROPERTY);
            String savedBudget = System.getProperty(ClSettings.COL_BUDGET_PROPERTY);
            System.setProperty(Algorithms.MODE_PROPERTY, r.mode);
            System.setProperty(ClSettings.COL_BUDGET_PROPERTY, String.valueOf(r.columnBudget));
            try {
                SESSIONS.put(r, openOrSkip());
            } finally {
                restore(Algorithms.MODE_PROPERTY, savedMode);
                restore(ClSettings.COL_BUDGET_PROPERTY, savedBudget);
            }
        }
    }

    private static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }

    @AfterAll
    static void close() {
        SESSIONS.values().forEach(ConvBackend::close);
        SESSIONS.clear();
    }

    static Stream<Case> problems() {
        List<Case> cs = new ArrayList<>();
        DType f = DType.FP32;
        // convolution: plain, odd sizes with stride > kernel, asymmetric padding, dilation with stride
        cs.add(new Case(ConvSpec.convolution().batch(2).channels(4, 6).input(5, 7).kernel(3).padding(1).build(), f, 0));
        cs.add(new Case(ConvSpec.convolution().batch(1).channels(3, 5).input(9, 11).kernel(2).stride(3).bias(false).build(), f, 0));
        cs.add(new Case(ConvSpec.convolution().batch(2).channels(2, 3).input(6, 5).kernel(3).paddingLo(2, 0).paddingHi(0, 1).build(), f, 0));
        cs.add(new Case(ConvSpec.convolution().batch(1).channels(3, 4).input(9, 8).kernel(3).stride(2).dilation(2).padding(2).build(), f, 0));
        // grouped with a channel multiplier, depthwise, 1x1
        cs.add(new Case(ConvSpec.convolution().batch(2).channels(4, 8).groups(4).input(6, 6).kernel(3).padding(1).build(), f, 0));
        cs.add(new Case(ConvSpec.convolution().batch(1).channels(6, 4).groups(2).input(5, 6).kernel(1).stride(2).build(), f, 0));
        // 1D and 3D
        cs.add(new Case(ConvSpec.convolution().batch(2).channels(3, 4).input(13).kernel(5).stride(2).paddingLo(1).paddingHi(3).dilation(2).build(), f, 0));
        cs.add(new Case(ConvSpec.convolution().batch(1).channels(2, 4).groups(2).input(4, 5, 3).kernel(2, 3, 2).stride(1, 2, 1).padding(1).build(), f, 0));
        // transposed: groups, output padding, 1D with dilation and stride, 3D, asymmetric padding
        cs.add(new Case(ConvSpec.transposed().batch(2).channels(4, 6).groups(2).input(5, 4).kernel(3).stride(2).padding(1).outputPadding(1).build(), f, 0));
        cs.add(new Case(ConvSpec.transposed().batch(1).channels(3, 2).input(6).kernel(3).stride(3).dilation(2).outputPadding(2).build(), f, 0));
        cs.add(new Case(ConvSpec.transposed().batch(1).channels(2, 2).input(3, 3, 2).kernel(2).stride(2).bias(false).build(), f, 0));
        cs.add(new Case(ConvSpec.transposed().batch(2).channels(6, 3).groups(3).input(4, 3).kernel(3, 2).stride(2, 3)
                .paddingLo(1, 0).paddingHi(0, 2).build(), f, 0));
        // deformable: v1, v2 with groups, offset groups, stride and dilation; offsets far beyond the border; 1x1
        cs.add(new Case(ConvSpec.deformable().batch(2).channels(4, 3).input(6, 5).kernel(3).padding(1).build(), f, 1));
        cs.add(new Case(ConvSpec.deformable().batch(1).channels(4, 4).groups(2).offsetGroups(2).mask(true).input(7, 7)
                .kernel(3).stride(2).padding(2).dilation(2).build(), f, 2));
        cs.add(new Case(ConvSpec.deformable().batch(2).channels(4, 2).offsetGroups(4).mask(true).input(5, 4).kernel(2, 3)
                .padding(1).bias(false).build(), f, 9));
        cs.add(new Case(ConvSpec.deformable().batch(1).channels(2, 3).mask(true).input(4, 5).kernel(1).build(), f, 1));
        // FP64 on devices with cl_khr_fp64
        DType d = DType.FP64;
        cs.add(new Case(ConvSpec.convolution().batch(2).channels(4, 6).groups(2).input(5, 7).kernel(3).stride(2).padding(1, 0).build(), d, 0));
        cs.add(new Case(ConvSpec.transposed().batch(1).channels(4, 2).input(4, 5).kernel(3).stride(2).dilation(2).outputPadding(1).build(), d, 0));
        cs.add(new Case(ConvSpec.deformable().batch(1).channels(4, 4).groups(2).offsetGroups(2).mask(true).input(6, 6)
                .kernel(3).padding(1).build(), d, 3));
        // Every case again through the (im2col or sampled-column) + GEMM paths; multi-item cases also in one-item chunks.
        List<Case> all = new ArrayList<>(cs);
        for (Case c : cs) all.add(c.with(Route.GEMM));
        for (Case c : cs) if (c.spec().batch() > 1) all.add(c.with(Route.GEMM_ITEM_CHUNKS));
        return all.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("problems")
    void everyPassMatchesTheReference(Case c) {
        ConvSpec s = c.spec();
        DType dt = c.dtype();
        ConvBackend session = SESSIONS.get(c.route());
        org.junit.jupiter.api.Assumptions.assumeTrue(session.supports(s, Pass.FORWARD, dt).supported(),
                () -> session.supports(s, Pass.FORWARD, dt).reason());
        Random rnd = new Random(s.toString().hashCode());
        boolean deform = s.type() == ConvType.DEFORMABLE;
        double[] x = random(rnd, s.inputShape().elementCount(), -1, 1);
        double[] w = random(rnd, s.weightShape().elementCount(), -1, 1);
        double[] b = s.bias() ? random(rnd, s.outChannels(), -1, 1) : null;
        double[] dy = random(rnd, s.outputShape().elementCount(), -1, 1);
        double[] off = deform ? offsets(rnd, s.offsetShape().elementCount(), c.offsetReach()) : null;
        double[] mask = deform && s.modulated() ? random(rnd, s.maskShape().elementCount(), 0, 1) : null;

        Map<Role, double[]> inputs = new EnumMap<>(Role.class);
        inputs.put(Role.X, x);
        inputs.put(Role.W, w);
        inputs.put(Role.DY, dy);
        if (b != null) inputs.put(Role.B, b);
        if (off != null) inputs.put(Role.OFFSET, off);
        if (mask != null) inputs.put(Role.MASK, mask);

        double tol = dt == DType.FP64 ? 1e-9 : 2e-5;
        int checked = 0;
        for (Pass p : Pass.values()) {
            if (p == Pass.BACKWARD_OFFSET_MASK && !deform) continue;
            if (p == Pass.BACKWARD_BIAS && !s.bias()) continue;
            // the expected outputs: the conformance kit's FP64 reference (module conformance)
            Map<Role, double[]> want = new EnumMap<>(Role.class);
            Reference.run(p, s, inputs).forEach((role, out) -> want.put(role, out.values()));
            List<DeviceBuffer> live = new ArrayList<>();
            try {
                ConvArgs.Builder args = ConvArgs.builder();
                for (Role r : p.inputs(s)) {
                    DeviceBuffer buf = put(session, dt, r.shapeFor(s), inputs.get(r));
                    live.add(buf);
                    args.put(r, buf);
                }
                Map<Role, DeviceBuffer> outs = new EnumMap<>(Role.class);
                for (Role r : p.outputs(s)) {
                    DeviceBuffer buf = poisoned(session, dt, r.shapeFor(s));
                    live.add(buf);
                    outs.put(r, buf);
                    args.put(r, buf);
                }
                session.execute(p, s, args.build());
                for (Map.Entry<Role, DeviceBuffer> e : outs.entrySet()) {
                    double[] got = get(session, e.getValue());
                    double[] ref = want.get(e.getKey());
                    assertEquals(ref.length, got.length);
                    int bad = firstMismatch(got, ref, tol);
                    assertTrue(bad < 0, () -> p + " " + e.getKey().label() + "[" + bad + "] = " + got[bad] + ", reference "
                            + ref[bad] + " (" + session.lastAlgorithm() + ") for " + c);
                    checked++;
                }
            } finally {
                live.forEach(DeviceBuffer::close);
            }
        }
        assertTrue(checked >= 3, "at least forward, data and weight gradients were compared");
    }
}
