package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference against hand-computed answers, finite differences and its own algebraic identities. */
class ReferenceTest {

    // ---- known answers, computed by hand from the definitions ----

    private static double[] forward(String line, double[] x, double[] w, double[] b) {
        ConvSpec s = ConvSpec.parse(line);
        Map<Role, double[]> in = new EnumMap<>(Role.class);
        in.put(Role.X, x);
        in.put(Role.W, w);
        if (b != null) in.put(Role.B, b);
        return Reference.run(Pass.FORWARD, s, in).get(Role.Y).values();
    }

    @Test
    void convolution1dMatchesHandComputedValues() {
        double[] x = {1, 2, 3, 4};
        double[] w = {2, -1};
        assertArrayEquals(new double[] {0, 1, 2}, forward("mb1ic1iw4oc1kw2bia0", x, w, null));
        assertArrayEquals(new double[] {-1, 0, 1, 2, 8}, forward("mb1ic1iw4oc1kw2pw1bia0", x, w, null));
        assertArrayEquals(new double[] {-0.5, 0.5, 1.5, 2.5, 8.5}, forward("mb1ic1iw4oc1kw2pw1", x, w, new double[] {0.5}));
        assertArrayEquals(new double[] {-1, 1}, forward("mb1ic1iw5oc1kw2sw2dw2bia0", new double[] {1, 2, 3, 4, 5}, w, null));
        // asymmetric padding: one zero on the left only
        assertArrayEquals(new double[] {-1, 0, 1, 2}, forward("mb1ic1iw4oc1kw2pw1pwr0bia0", x, w, null));
    }

    @Test
    void transposedConvolutionScattersEachInputThroughTheKernel() {
        double[] x = {1, 2};
        double[] w = {1, 10, 100};
        assertArrayEquals(new double[] {1, 10, 102, 20, 200}, forward("tr1mb1ic1iw2oc1kw3sw2bia0", x, w, null));
        assertArrayEquals(new double[] {10, 102, 20}, forward("tr1mb1ic1iw2oc1kw3sw2pw1bia0", x, w, null));
        assertArrayEquals(new double[] {10, 102, 20, 200}, forward("tr1mb1ic1iw2oc1kw3sw2pw1opw1bia0", x, w, null));
        // stride 3 > kernel 2 leaves a gap at position 2
        assertArrayEquals(new double[] {1, 10, 0, 2, 20}, forward("tr1mb1ic1iw2oc1kw2sw3bia0", x, new double[] {1, 10}, null));
    }

    @Test
    void groupsConnectOnlyTheirOwnChannels() {
        // conv: in [a, b], weight [C_out=2, 1, 1]: y0 = a·w0, y1 = b·w1
        assertArrayEquals(new double[] {6, 20}, forward("g2mb1ic2iw1oc2kw1bia0", new double[] {2, 4}, new double[] {3, 5}, null));
        // transposed: weight [C_in=2, C_out/g=2, 1]: y[g·2+k] = x[g]·w[g, k]
        assertArrayEquals(new double[] {2, 4, 12, 16},
                forward("tr1g2mb1ic2iw1oc4kw1bia0", new double[] {2, 4}, new double[] {1, 2, 3, 4}, null));
    }

    private static Map<Role, double[]> deformInputs(double[] x, double dy, double dx, Double mask) {
        Map<Role, double[]> in = new EnumMap<>(Role.class);
        in.put(Role.X, x);
        in.put(Role.W, new double[] {1});
        in.put(Role.OFFSET, new double[] {dy, dx});
        if (mask != null) in.put(Role.MASK, new double[] {mask});
        in.put(Role.DY, new double[] {1});
        return in;
    }

    private static double deformSample(double dy, double dx, Double mask) {
        String line = mask == null ? "dg1mb1ic1ih2oc1kh1sh2bia0" : "dg1msk1mb1ic1ih2oc1kh1sh2bia0";
        // a 2x2 input [[1, 2], [3, 4]] sampled once at (dy, dx)
        return Reference.run(Pass.FORWARD, ConvSpec.parse(line), deformInputs(new double[] {1, 2, 3, 4}, dy, dx, mask))
                .get(Role.Y).values()[0];
    }

    @Test
    void deformableSamplesBilinearlyWithTheWrittenBoundaryRule() {
        assertEquals(2.5, deformSample(0.5, 0.5, null), 1e-15);
        assertEquals(1.25, deformSample(0.5, 0.5, 0.5), 1e-15);
        assertEquals(1.5, deformSample(0.5, 1.5, null), 1e-15, "right neighbours outside contribute zero");
        assertEquals(0.5, deformSample(-0.5, 0, null), 1e-15, "half way to the row above the border");
        assertEquals(0.75, deformSample(1.75, 0, null), 1e-15);
        assertEquals(0.0, deformSample(-1, 0, null), "py = -1 is outside (-1, H)");
        assertEquals(0.0, deformSample(2, 0, null), "py = H is outside (-1, H)");
        assertEquals(0.0, deformSample(0, -1, null), "px = -1 is outside (-1, W)");
        assertEquals(4.0, deformSample(1, 1, null), "an integer position reads the element itself");
        assertTrue(deformSample(-0.999, 0, null) > 0, "just inside the box the sample is not zero");
    }

    @Test
    void deformableOffsetGradientIsTheSlopeOfTheBilinearForm() {
        ConvSpec s = ConvSpec.parse("dg1msk1mb1ic1ih2oc1kh1sh2bia0");
        Map<Role, Reference.Output> g = Reference.run(Pass.BACKWARD_OFFSET_MASK, s,
                deformInputs(new double[] {1, 2, 3, 4}, 0.5, 0.5, 0.5));
        // d/dpy = (3 + 4 - 1 - 2) / 2 = 2, d/dpx = (2 + 4 - 1 - 3) / 2 = 1, times mask 0.5; d mask = sample 2.5
        assertArrayEquals(new double[] {1, 0.5}, g.get(Role.DOFFSET).values(), 1e-15);
        assertArrayEquals(new double[] {2.5}, g.get(Role.DMASK).values(), 1e-15);
    }

    // ---- finite differences over the corner catalogue ----

    static Stream<Problem> corners() {
        return Stream.concat(Catalogue.load("corners").stream(), Catalogue.fuzz(Catalogue.FUZZ_SEED, 40).stream());
    }

    /** L(θ) = Σ dy·y(θ); its gradient in each input is what the backward passes compute with that dy. */
    private static double loss(ConvSpec spec, Map<Role, double[]> in, double[] r, double[] magOut) {
        Reference.Output y = Reference.run(Pass.FORWARD, spec, in).get(Role.Y);
        double l = 0;
        double m = 0;
        for (int i = 0; i < r.length; i++) {
            l += r[i] * y.values()[i];
            m += Math.abs(r[i]) * y.magnitude()[i];
        }
        if (magOut != null) magOut[0] = m;
        return l;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corners")
    void everyBackwardPassMatchesCentralDifferencesOfTheForwardPass(Problem p) {
        ConvSpec spec = p.spec();
        ProblemData data = ProblemData.generate(spec, p.offsets(), p.seed());
        Map<Role, double[]> in = new EnumMap<>(data.asMap());
        double[] r = data.get(Role.DY);
        double[] mag = new double[1];
        loss(spec, in, r, mag);
        Map<Role, double[]> grads = new EnumMap<>(Role.class);
        grads.put(Role.X, Reference.run(Pass.BACKWARD_DATA, spec, in).get(Role.DX).values());
        grads.put(Role.W, Reference.run(Pass.BACKWARD_WEIGHT, spec, in).get(Role.DW).values());
        if (spec.bias()) grads.put(Role.B, Reference.run(Pass.BACKWARD_BIAS, spec, in).get(Role.DB).values());
        if (spec.type() == ConvType.DEFORMABLE) {
            Map<Role, Reference.Output> om = Reference.run(Pass.BACKWARD_OFFSET_MASK, spec, in);
            // zero offsets put every sample on a bilinear kink, where the derivative is a convention, not a limit
            if (p.offsets() != Offsets.ZERO && p.offsets() != Offsets.NEAR_INTEGER) grads.put(Role.OFFSET, om.get(Role.DOFFSET).values());
            if (spec.modulated()) grads.put(Role.MASK, om.get(Role.DMASK).values());
        }
        double h = 1e-3;
        SplittableRandom rnd = new SplittableRandom(p.seed());
        for (Map.Entry<Role, double[]> e : grads.entrySet()) {
            Role role = e.getKey();
            double[] theta = in.get(role);
            int checks = Math.min(theta.length, 16);
            for (int c = 0; c < checks; c++) {
                int i = c < 2 ? (c == 0 ? 0 : theta.length - 1) : rnd.nextInt(theta.length);
                double keep = theta[i];
                theta[i] = keep + h;
                double up = loss(spec, in, r, null);
                theta[i] = keep - h;
                double down = loss(spec, in, r, null);
                theta[i] = keep;
                double fd = (up - down) / (2 * h);
                double an = e.getValue()[i];
                double tol = 1e-11 * mag[0] / h + 1e-12;
                assertEquals(fd, an, tol, () -> p.label() + ": d loss / d " + role.label() + "[" + i + "] analytic " + an
                        + " vs central difference " + fd);
            }
        }
    }

    // ---- identities ----

    static Stream<Problem> deformableCorners() {
        return Catalogue.all().stream().filter(p -> p.spec().type() == ConvType.DEFORMABLE && p.spec().outputSpatial() <= 64);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("deformableCorners")
    void deformableWithZeroOffsetsAndUnitMaskEqualsPlainConvolutionBitForBit(Problem p) {
        ConvSpec spec = p.spec();
        ProblemData zero = ProblemData.generate(spec, Offsets.ZERO, p.seed());
        double[] d = Reference.run(Pass.FORWARD, spec, zero.asMap()).get(Role.Y).values();
        double[] c = Reference.run(Pass.FORWARD, ConformanceSuite.plainSpec(spec), zero.asMap()).get(Role.Y).values();
        assertEquals(c.length, d.length);
        for (int i = 0; i < c.length; i++) {
            assertEquals(Double.doubleToRawLongBits(c[i]), Double.doubleToRawLongBits(d[i]),
                    p.line() + ": element " + i + " deformable " + d[i] + " vs plain " + c[i]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corners")
    void transposedConvolutionIsTheAdjointOfConvolution(Problem p) {
        ConvSpec s = p.spec();
        if (s.type() != ConvType.CONVOLUTION) return;
        // the transposed problem whose input is the convolution's output, with the same weight tensor
        // output_padding = what the convolution's floor division dropped (computed here, not with
        // Builder.outputSize, which rejects a size whose output_padding-0 base is below 1)
        int[] op = new int[s.rank()];
        for (int a = 0; a < s.rank(); a++) {
            op[a] = (int) (s.input(a) - ((long) s.stride(a) * (s.output(a) - 1) - s.paddingLo(a) - s.paddingHi(a) + s.effectiveKernel(a)));
        }
        ConvSpec t = ConvSpec.transposed().batch(s.batch()).channels(s.outChannels(), s.inChannels()).groups(s.groups())
                .input(s.output()).kernel(s.kernel()).stride(s.stride()).paddingLo(s.paddingLo()).paddingHi(s.paddingHi())
                .dilation(s.dilation()).outputPadding(op).bias(false).build();
        assertArrayEquals(s.input(), t.output(), t.toString());
        ProblemData data = ProblemData.generate(s, Offsets.NORMAL, p.seed());
        Map<Role, double[]> conv = new EnumMap<>(Role.class);
        conv.put(Role.X, data.get(Role.X));
        conv.put(Role.W, data.get(Role.W));
        conv.put(Role.B, new double[s.outChannels()]);
        double[] y = Reference.run(Pass.FORWARD, s, conv).get(Role.Y).values();
        Map<Role, double[]> tr = new EnumMap<>(Role.class);
        tr.put(Role.X, data.get(Role.DY));
        tr.put(Role.W, data.get(Role.W));
        double[] z = Reference.run(Pass.FORWARD, t, tr).get(Role.Y).values();
        // <conv(x), r> = <x, conv^T(r)>
        assertEquals(ProblemData.dot(y, data.get(Role.DY)), ProblemData.dot(data.get(Role.X), z), 1e-10 * (1 + y.length),
                p.line() + " against " + t);
    }

    @Test
    void magnitudeBoundsEveryValueAndIsZeroWhereNothingIsSummed() {
        for (Problem p : List.of(Problem.of("mb1ic2ih4oc3kh1sh3ph2bia0"), Problem.of("tr1mb1ic2ih3oc2kh2sh3bia0"))) {
            ProblemData data = ProblemData.generate(p.spec(), Offsets.NORMAL, 7);
            Reference.Output y = Reference.run(Pass.FORWARD, p.spec(), data.asMap()).get(Role.Y);
            boolean someEmpty = false;
            for (int i = 0; i < y.values().length; i++) {
                assertTrue(Math.abs(y.values()[i]) <= y.magnitude()[i], p.line() + " element " + i);
                if (y.magnitude()[i] == 0) {
                    someEmpty = true;
                    assertEquals(0.0, y.values()[i]);
                }
            }
            assertTrue(someEmpty, p.line() + " was chosen to have output positions that see only padding or gaps");
        }
    }
}
