package io.github.jconv.numerics;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Deformable sampling exactly on the image border: coordinates −1, 0, H−1 and H. The offset gradient
 * follows torchvision's coordinate-weight rule (the slope of the bilinear form on the cell ⌊p⌋, each
 * of the four neighbours counted when it is inside the image, no test on the point itself); the
 * sampled value is zero at −1 and H and the mask gradient keeps the value's rule. Every expected
 * number below is derived by hand in the comments; each case runs on the FP64 reference and on
 * every backend in FP32 and FP64.
 */
class DeformableBordersTest {

    /** One case: the spec and its inputs, the expected outputs of every pass. */
    record Case(String name, ConvSpec spec, Map<Role, double[]> in, Map<Role, double[]> want) {
        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * Issue 11's hand case, {@code dg1mb1ic1ih2iw2oc1kh1kw1ph1pw1bia0}: x = [[1, 2], [3, 4]], w = 1, zero
     * offsets, dy = 1. Output 4×4; output (oy, ox) samples p = (oy − 1, ox − 1), so rows and columns hit
     * −1, 0, 1 = H−1 and 2 = H. Integer points, so the fractions are 0 and on the cell (p, q):
     * <ul>
     * <li>y = x at the point inside the open box (−1, 2)², 0 on its edge: [[0,0,0,0],[0,1,2,0],[0,3,4,0],[0,0,0,0]].
     * <li>d/dpy = x(p+1, q) − x(p, q), neighbours outside read 0, and 0 when p or q is outside [−1, 2):
     *     p = −1: x(0, q) − 0 → q = 0: 1, q = 1: 2 (q = −1 or 2: 0) → row 0 = [0, 1, 2, 0] (torchvision's);
     *     p = 0: x(1, q) − x(0, q) → 3 − 1 = 2, 4 − 2 = 2 → [0, 2, 2, 0];
     *     p = 1 = H−1: 0 − x(1, q) → −3, −4 → [0, −3, −4, 0]; p = 2 = H: no neighbour row → [0, 0, 0, 0].
     * <li>d/dpx = x(p, q+1) − x(p, q), likewise: column q = −1: x(p, 0) → p = 0: 1, p = 1: 3 → [0, 1, 3, 0]
     *     (torchvision's); q = 0: 2 − 1 = 1, 4 − 3 = 1; q = 1 = W−1: −2, −4; q = 2: 0. By rows:
     *     [0,0,0,0], [1,1,−2,0], [3,1,−4,0], [0,0,0,0].
     * <li>dx: each pixel is read with weight 1 by exactly one sample (the one on it) → [1, 1, 1, 1];
     *     samples on −1 or H add nothing. dw = Σ dy·y = 1 + 2 + 3 + 4 = 10.
     * </ul>
     */
    static Case handCase() {
        ConvSpec s = ConvSpec.parse("dg1mb1ic1ih2iw2oc1kh1kw1ph1pw1bia0");
        Map<Role, double[]> in = new EnumMap<>(Role.class);
        in.put(Role.X, new double[] {1, 2, 3, 4});
        in.put(Role.W, new double[] {1});
        in.put(Role.OFFSET, new double[32]);
        in.put(Role.DY, fill(16, 1));
        Map<Role, double[]> want = new EnumMap<>(Role.class);
        want.put(Role.Y, new double[] {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0});
        want.put(Role.DX, new double[] {1, 1, 1, 1});
        want.put(Role.DW, new double[] {10});
        want.put(Role.DOFFSET, new double[] {
            // y component [oy][ox]
            0, 1, 2, 0,
            0, 2, 2, 0,
            0, -3, -4, 0,
            0, 0, 0, 0,
            // x component [oy][ox]
            0, 0, 0, 0,
            1, 1, -2, 0,
            3, 1, -4, 0,
            0, 0, 0, 0});
        return new Case("torchvision hand case (zero offsets, padding 1)", s, in, want);
    }

    /**
     * Non-zero offsets that land exactly on the borders, v2 with mask 0.5: a column x = [1, 2, 4]
     * (H = 3, W = 1), {@code dg1msk1mb1ic1ih3iw1oc1kh1kw1ph1pw0bia0}: 5 outputs with base row oy − 1,
     * base column 0. Offsets (dy, dx) per output: (0, 0), (−1, 0), (−1, 0), (0, 0), (0, 0), so
     * py = −1, −1, 0, 2 = H−1, 3 = H and px = 0 = W−1 (column 1 = W is outside: it reads 0). w = 1, dy = 1.
     * <ul>
     * <li>value (times mask 0.5): py = −1 → 0; 0 → x0 = 1; 2 → x2 = 4; 3 → 0. y = [0, 0, 0.5, 2, 0].
     * <li>d/dpy = x(p+1) − x(p): −1 → 1 − 0 = 1; 0 → 2 − 1 = 1; 2 → 0 − 4 = −4; 3 → 0; times mask 0.5:
     *     [0.5, 0.5, 0.5, −2, 0].
     * <li>d/dpx = x(p, 1) − x(p, 0) = 0 − x(p): −1 → 0; 0 → −1; 2 → −4; 3 → 0; times 0.5: [0, 0, −0.5, −2, 0].
     * <li>d mask = G · value = [0, 0, 1, 4, 0]. dx: 0.5 onto pixel 0 (py = 0) and 0.5 onto pixel 2 (py = 2):
     *     [0.5, 0, 0.5]. dw = Σ dy · mask · value = 0.5 + 2 = 2.5.
     * </ul>
     */
    static Case offsetsOnTheBorders() {
        ConvSpec s = ConvSpec.parse("dg1msk1mb1ic1ih3iw1oc1kh1kw1ph1pw0bia0");
        Map<Role, double[]> in = new EnumMap<>(Role.class);
        in.put(Role.X, new double[] {1, 2, 4});
        in.put(Role.W, new double[] {1});
        in.put(Role.OFFSET, new double[] {0, -1, -1, 0, 0, /* x */ 0, 0, 0, 0, 0});
        in.put(Role.MASK, fill(5, 0.5));
        in.put(Role.DY, fill(5, 1));
        Map<Role, double[]> want = new EnumMap<>(Role.class);
        want.put(Role.Y, new double[] {0, 0, 0.5, 2, 0});
        want.put(Role.DX, new double[] {0.5, 0, 0.5});
        want.put(Role.DW, new double[] {2.5});
        want.put(Role.DOFFSET, new double[] {0.5, 0.5, 0.5, -2, 0, /* x */ 0, 0, -0.5, -2, 0});
        want.put(Role.DMASK, new double[] {0, 0, 1, 4, 0});
        return new Case("offsets landing on -1, 0, H-1, H (v2, mask 0.5)", s, in, want);
    }

    static Stream<Case> cases() {
        return Stream.of(handCase(), offsetsOnTheBorders());
    }

    static Stream<Object[]> casesOnBackends() {
        return Runs.backends().flatMap(b -> cases().map(c -> new Object[] {b, c}));
    }

    private static double[] fill(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static void check(Case c, String who, Function<Pass, Map<Role, double[]>> run, double tol) {
        for (Pass pass : new Pass[] {Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK}) {
            Map<Role, double[]> got = run.apply(pass);
            for (Role r : pass.outputs(c.spec())) {
                double[] want = c.want().get(r);
                double[] have = got.get(r);
                assertEquals(want.length, have.length, who + " " + r.label());
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], have[i], tol, who + ": " + c.name() + ", " + r.label() + "[" + i + "]");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theReferenceGivesTheHandDerivedValues(Case c) {
        check(c, "reference", pass -> Runs.reference(pass, c.spec(), c.in()), 0);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("casesOnBackends")
    void everyBackendGivesTheHandDerivedValues(String backend, Case c) {
        try (ConvEngine e = Runs.open(backend)) {
            for (DType d : Runs.dtypes(e, c.spec(), Pass.BACKWARD_OFFSET_MASK)) {
                // small integers and halves: every sum is exact in FP32 too
                check(c, backend + " " + d, pass -> Runs.backend(e, d, pass, c.spec(), c.in()), 0);
            }
        }
    }

    @Test
    void theHandCaseIsInTheConformanceCatalogue() {
        assertEquals(1, io.github.jconv.conformance.Catalogue.load("corners").stream()
                .filter(p -> p.spec().equals(handCase().spec()) && p.offsets() == io.github.jconv.conformance.Offsets.ZERO).count());
    }
}
