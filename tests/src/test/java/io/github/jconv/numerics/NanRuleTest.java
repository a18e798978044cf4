package io.github.jconv.numerics;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.conformance.Offsets;
import io.github.jconv.conformance.ProblemData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where a NaN goes (issue 18, item 11), one rule on the reference and every backend: each op is
 * defined on the zero-padded tensor, so a product with a padding zero is still formed (NaN · 0 is
 * NaN); a NaN sampling position samples NaN and touches no input pixel. The NaN pattern of each
 * output must equal the reference's exactly, and the finite elements must match it closely.
 */
class NanRuleTest {

    static Stream<String> backends() {
        return Runs.backends();
    }

    private static boolean[] nans(double[] v) {
        boolean[] b = new boolean[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Double.isNaN(v[i]);
        return b;
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean v : b) if (v) n++;
        return n;
    }

    /** The same NaN elements as the reference, and the others within a loose FP32 bound of it. */
    private static void samePattern(String what, double[] want, double[] have) {
        assertEquals(want.length, have.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i])) {
                assertTrue(Double.isNaN(have[i]), what + "[" + i + "] must be NaN, is " + have[i]);
            } else {
                assertFalse(Double.isNaN(have[i]), what + "[" + i + "] must be " + want[i] + ", is NaN");
                assertEquals(want[i], have[i], 1e-4 * (1 + Math.abs(want[i])), what + "[" + i + "]");
            }
        }
    }

    private static void onEveryBackend(String backend, ConvSpec s, Pass pass, Map<Role, double[]> in) {
        Map<Role, double[]> ref = Runs.reference(pass, s, in);
        try (ConvEngine e = Runs.open(backend)) {
            for (DType d : Runs.dtypes(e, s, pass)) {
                Map<Role, double[]> got = Runs.backend(e, d, pass, s, in);
                for (Role r : pass.outputs(s)) samePattern(backend + " " + d + " " + pass + " " + r.label(), ref.get(r), got.get(r));
            }
        }
    }

    // ---- convolution: a NaN weight and the padding ----

    /** {@code mb1ic2ih4oc2kh3ph1bia0} with w[0, 0, 0, 0] (output channel 0, the top-left tap) NaN. */
    static Map<Role, double[]> nanWeight(ConvSpec s) {
        Map<Role, double[]> in = new EnumMap<>(ProblemData.generate(s, Offsets.NORMAL, 5).asMap());
        in.get(Role.W)[0] = Double.NaN;
        return in;
    }

    /**
     * By hand: every output (oy, ox) of channel 0 has the top-left tap in its window, reading input
     * (oy − 1, ox − 1); for oy = 0 or ox = 0 that is padding, and 0 · NaN is NaN as well. So all 16 outputs
     * of channel 0 are NaN (skipping padded taps would leave only the 9 with oy, ox ≥ 1 NaN) and the 16
     * of channel 1 are finite.
     */
    @Test
    void theReferenceMarksEveryOutputWhoseWindowCoversANanWeightPaddingIncluded() {
        ConvSpec s = ConvSpec.parse("mb1ic2ih4oc2kh3ph1bia0");
        boolean[] n = nans(Runs.reference(Pass.FORWARD, s, nanWeight(s)).get(Role.Y));
        assertEquals(16, count(n));
        for (int i = 0; i < 16; i++) assertTrue(n[i], "channel 0, output " + i);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aNanWeightMarksTheSameOutputsOnEveryBackend(String backend) {
        ConvSpec s = ConvSpec.parse("mb1ic2ih4oc2kh3ph1bia0");
        onEveryBackend(backend, s, Pass.FORWARD, nanWeight(s));
        // the same through a strided, dilated window and through the transposed op's data gradient (a convolution of dy)
        ConvSpec t = ConvSpec.parse("mb2ic3ih7oc4kh3sh2dh2ph2");
        onEveryBackend(backend, t, Pass.FORWARD, nanWeight(t));
        ConvSpec tr = ConvSpec.parse("tr1mb1ic2ih4oc2kh3ph1bia0");
        onEveryBackend(backend, tr, Pass.BACKWARD_DATA, nanWeight(tr));
        // depthwise (its own CPU loops) and one large enough for the im2col + GEMM kernels of OpenCL
        for (String line : new String[] {"mb1ic4ih6oc4kh3ph1g4bia0", "mb1ic32ih16oc32kh3ph1bia0", "mb1ic2iw9oc2kw3pw2bia0"}) {
            ConvSpec c = ConvSpec.parse(line);
            onEveryBackend(backend, c, Pass.FORWARD, nanWeight(c));
        }
    }

    /**
     * The data gradient (and the transposed forward pass, the same sum) is on the other side: dx[i] sums
     * dy[o]·w[t] over the real pairs with i = o·s − p + t·d only, so w[0, 0, 0, 0] NaN reaches the pixels
     * (iy, ix) = (oy − 1, ox − 1) of input channel 0 with oy, ox in 0..3, that is iy, ix ≤ 2: 9 of 16 (a
     * correlation of zero-padded dy with the flipped kernel would mark all 16).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aNanWeightReachesOnlyThePixelsItsRealPairsReach(String backend) {
        ConvSpec s = ConvSpec.parse("mb1ic2ih4oc2kh3ph1bia0");
        boolean[] n = nans(Runs.reference(Pass.BACKWARD_DATA, s, nanWeight(s)).get(Role.DX));
        assertEquals(9, count(n));
        for (int iy = 0; iy < 3; iy++) for (int ix = 0; ix < 3; ix++) assertTrue(n[iy * 4 + ix]);
        onEveryBackend(backend, s, Pass.BACKWARD_DATA, nanWeight(s));
        for (String line : new String[] {"mb1ic4ih6oc4kh3ph1g4bia0", "mb1ic4ih9oc4kh3sh2ph1bia0", "mb1ic32ih16oc32kh3ph1bia0"}) {
            ConvSpec c = ConvSpec.parse(line);
            onEveryBackend(backend, c, Pass.BACKWARD_DATA, nanWeight(c));
        }
        for (String line : new String[] {"tr1mb1ic2ih4oc2kh3ph1bia0", "tr1mb1ic4ih5oc4kh3sh2ph1bia0", "tr1mb1ic32ih16oc32kh3ph1bia0"}) {
            ConvSpec c = ConvSpec.parse(line);
            onEveryBackend(backend, c, Pass.FORWARD, nanWeight(c));
        }
    }

    /**
     * By hand: dy[0, 0, 0, 0] NaN. dw[0, c, t] = Σ over outputs of x_padded · dy, and output (0, 0)
     * pairs every tap with a pixel or a padding zero, so all 2·3·3 = 18 elements of dw[0] are NaN and the
     * 18 of dw[1] are finite.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aNanOutputGradientMakesTheWholeWeightGradientOfItsChannelNan(String backend) {
        ConvSpec s = ConvSpec.parse("mb1ic2ih4oc2kh3ph1bia0");
        Map<Role, double[]> in = new EnumMap<>(ProblemData.generate(s, Offsets.NORMAL, 6).asMap());
        in.get(Role.DY)[0] = Double.NaN;
        boolean[] n = nans(Runs.reference(Pass.BACKWARD_WEIGHT, s, in).get(Role.DW));
        assertEquals(18, count(n));
        for (int i = 0; i < 18; i++) assertTrue(n[i], "dw[0] element " + i);
        onEveryBackend(backend, s, Pass.BACKWARD_WEIGHT, in);
        // the transposed op reads dy through the window: a NaN x times dy's padding zeros is NaN as well
        for (String line : new String[] {"mb1ic4ih6oc4kh3ph1g4bia0", "mb1ic32ih16oc32kh3ph1bia0", "tr1mb1ic2ih4oc2kh3ph1bia0",
                "tr1mb1ic32ih16oc32kh3ph1bia0"}) {
            ConvSpec c = ConvSpec.parse(line);
            Map<Role, double[]> tx = new EnumMap<>(ProblemData.generate(c, Offsets.NORMAL, 7).asMap());
            tx.get(Role.X)[0] = Double.NaN;
            onEveryBackend(backend, c, Pass.BACKWARD_WEIGHT, tx);
            Map<Role, double[]> big = new EnumMap<>(ProblemData.generate(c, Offsets.NORMAL, 6).asMap());
            big.get(Role.DY)[0] = Double.NaN;
            onEveryBackend(backend, c, Pass.BACKWARD_WEIGHT, big);
        }
    }

    // ---- deformable: a NaN offset, a NaN pixel ----

    static final ConvSpec DEFORM = ConvSpec.parse("dg1msk1mb1ic2ih4oc3kh3ph1bia0");
    /** Output position (1, 2) (flat 6), tap 4 (the centre): the y component of its offset is NaN. */
    static final int POS = 6;
    static final int TAP = 4;

    static Map<Role, double[]> nanOffset() {
        Map<Role, double[]> in = new EnumMap<>(ProblemData.generate(DEFORM, Offsets.NORMAL, 8).asMap());
        in.get(Role.OFFSET)[2 * TAP * 16 + POS] = Double.NaN;
        return in;
    }

    /**
     * By hand: the NaN sample is tap 4 of output position 6 in both input channels (one offset group).
     * y[k, 6] = Σ w·sample is NaN for all 3 output channels, nothing else. dw[k, c, 4] (every k, c: 6
     * elements) sums dy[k, 6]·sample: NaN. d offset: both components of tap 4 at position 6 (2 elements),
     * d mask: tap 4 at position 6 (1 element). dx: the NaN position has no neighbour, so dx has no NaN.
     */
    @Test
    void theReferenceConfinesANanOffsetToWhatItsSampleFeeds() {
        Map<Role, double[]> in = nanOffset();
        assertEquals(3, count(nans(Runs.reference(Pass.FORWARD, DEFORM, in).get(Role.Y))));
        boolean[] dw = nans(Runs.reference(Pass.BACKWARD_WEIGHT, DEFORM, in).get(Role.DW));
        assertEquals(6, count(dw));
        for (int k = 0; k < 3; k++) for (int c = 0; c < 2; c++) assertTrue(dw[(k * 2 + c) * 9 + TAP]);
        assertEquals(0, count(nans(Runs.reference(Pass.BACKWARD_DATA, DEFORM, in).get(Role.DX))));
        Map<Role, double[]> om = Runs.reference(Pass.BACKWARD_OFFSET_MASK, DEFORM, in);
        boolean[] doff = nans(om.get(Role.DOFFSET));
        assertEquals(2, count(doff));
        assertTrue(doff[2 * TAP * 16 + POS] && doff[(2 * TAP + 1) * 16 + POS]);
        assertEquals(1, count(nans(om.get(Role.DMASK))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aNanOffsetGivesTheReferencesNanPatternOnEveryBackendAndNoNanInDx(String backend) {
        for (Pass p : new Pass[] {Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK}) {
            onEveryBackend(backend, DEFORM, p, nanOffset());
        }
    }

    /**
     * A NaN mask at tap 4 of position 6 multiplies that sample (inside the image or not): the outputs
     * and dw elements it feeds are NaN, and so are the pixels it is scattered to in dx (its in-image
     * neighbours) and its offset gradient; its mask gradient is Σ G·sample without the mask, finite.
     * A NaN dy at output (k = 0, position 6) reaches every dw[0, ·, ·], every tap's offset and mask
     * gradient at position 6 (a product with a zero slope included), and in dx only in-image neighbours
     * of samples inside the image. The reference's pattern is the rule; here it must hold on every backend.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aNanMaskOrOutputGradientGivesTheReferencesPatternOnEveryBackend(String backend) {
        Map<Role, double[]> mask = new EnumMap<>(ProblemData.generate(DEFORM, Offsets.FAR, 12).asMap());
        mask.get(Role.MASK)[TAP * 16 + POS] = Double.NaN;
        Map<Role, double[]> dy = new EnumMap<>(ProblemData.generate(DEFORM, Offsets.FAR, 13).asMap());
        dy.get(Role.DY)[POS] = Double.NaN;
        assertEquals(1, count(nans(Runs.reference(Pass.BACKWARD_OFFSET_MASK, DEFORM, mask).get(Role.DOFFSET))) / 2);
        assertEquals(9, count(nans(Runs.reference(Pass.BACKWARD_OFFSET_MASK, DEFORM, dy).get(Role.DMASK))));
        for (Pass p : new Pass[] {Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK}) {
            onEveryBackend(backend, DEFORM, p, mask);
            onEveryBackend(backend, DEFORM, p, dy);
        }
    }

    /**
     * x[0, 0, 0, 0] (the top-left pixel of channel 0) NaN, offsets far beyond the border for half the
     * samples: a sample reads the pixel only when it is one of its in-image neighbours. Samples outside
     * the image read nothing, so they stay finite (a backend whose outside samples read pixel 0 with
     * weight 0 turned them all NaN). The reference's pattern is the rule.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aNanPixelReachesOnlyTheSamplesThatReadIt(String backend) {
        Map<Role, double[]> in = new EnumMap<>(ProblemData.generate(DEFORM, Offsets.FAR, 4).asMap());
        in.get(Role.X)[0] = Double.NaN;
        // the offsets are random: make sure the case is not trivial (some outputs NaN, some not)
        int n = count(nans(Runs.reference(Pass.FORWARD, DEFORM, in).get(Role.Y)));
        assertTrue(n > 0 && n < 48, n + " of 48 outputs NaN");
        for (Pass p : new Pass[] {Pass.FORWARD, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK}) {
            onEveryBackend(backend, DEFORM, p, in);
        }
    }
}
