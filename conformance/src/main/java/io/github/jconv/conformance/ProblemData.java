package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Role;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The input tensors of one problem: x, w, b, dy (and offset, mask), drawn from a seed. Every value is
 * an FP32 number, so an FP32 and an FP64 backend read exactly the same inputs as the reference.
 */
public final class ProblemData {
    private final ConvSpec spec;
    private final Map<Role, double[]> tensors;

    private ProblemData(ConvSpec spec, Map<Role, double[]> tensors) {
        this.spec = spec;
        this.tensors = tensors;
    }

    /** Uniform [-1, 1) for x, w, b, dy; offsets as {@code offsets} says; mask uniform [0, 1) (1 for ZERO). */
    public static ProblemData generate(ConvSpec spec, Offsets offsets, long seed) {
        if (spec == null) throw new IllegalArgumentException("spec = null: pass the problem, e.g. ConvSpec.parse(\"mb1ic3ih8oc4kh3\")");
        if (offsets == null) throw new IllegalArgumentException("offsets = null: choose one, e.g. Offsets.NORMAL");
        SplittableRandom r = new SplittableRandom(seed);
        Map<Role, double[]> t = new EnumMap<>(Role.class);
        t.put(Role.X, uniform(r, spec.inputShape().elementCount()));
        t.put(Role.W, uniform(r, spec.weightShape().elementCount()));
        if (spec.bias()) t.put(Role.B, uniform(r, spec.biasShape().elementCount()));
        t.put(Role.DY, uniform(r, spec.outputShape().elementCount()));
        if (spec.type() == ConvType.DEFORMABLE) {
            double[] off = new double[size(spec.offsetShape().elementCount())];
            int far = Math.max(spec.input(0), spec.input(1)) + 2;
            for (int i = 0; i < off.length; i++) {
                off[i] = switch (offsets) {
                    case ZERO -> 0.0;
                    case NEAR_INTEGER -> nearInteger(r);
                    case NORMAL -> awayFromInteger(2 * r.nextGaussian(), r);
                    case FAR -> r.nextBoolean()
                            ? awayFromInteger(2 * r.nextGaussian(), r)
                            : (r.nextBoolean() ? 1 : -1) * awayFromInteger(far + 10 * r.nextDouble(), r);
                };
            }
            t.put(Role.OFFSET, off);
            if (spec.modulated()) {
                double[] m = new double[size(spec.maskShape().elementCount())];
                for (int i = 0; i < m.length; i++) m[i] = offsets == Offsets.ZERO ? 1.0 : (float) r.nextDouble();
                t.put(Role.MASK, m);
            }
        }
        return new ProblemData(spec, t);
    }

    /** A problem with given tensors (tests of the kit). */
    public static ProblemData of(ConvSpec spec, Map<Role, double[]> tensors) {
        return new ProblemData(spec, new EnumMap<>(tensors));
    }

    public ConvSpec spec() {
        return spec;
    }

    /** The tensor for {@code role} (x, w, b, dy, offset, mask), or null if the problem has none. */
    public double[] get(Role role) {
        return tensors.get(role);
    }

    public Map<Role, double[]> asMap() {
        return Collections.unmodifiableMap(tensors);
    }

    /** Σ r·y over the forward output: the scalar loss whose gradients are the backward passes with dy = r. */
    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static int size(long n) {
        return Math.toIntExact(n);
    }

    private static double[] uniform(SplittableRandom r, long n) {
        double[] v = new double[size(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble(-1, 1);
        return v;
    }

    /**
     * An integer in [−3, 3], half of them moved by ±(2⁻²⁴ … 10⁻³) (log-uniform); an FP32 number. Moves
     * below half an FP32 ulp of the sampling coordinate (2⁻²¹ at 4…8) vanish when base + offset is
     * rounded to FP32, and a move down then lands in the cell above: the slope jumps.
     */
    private static double nearInteger(SplittableRandom r) {
        double k = r.nextInt(7) - 3;
        double u = r.nextDouble();
        if (u < 0.5) return k;
        double eps = Math.exp(r.nextDouble(Math.log(0x1p-24), Math.log(1e-3)));
        return (float) (u < 0.75 ? k + eps : k - eps);
    }

    /** Keeps the fractional part in [0.01, 0.99]: see {@link Offsets#NORMAL}. */
    private static double awayFromInteger(double v, SplittableRandom r) {
        double f = v - Math.floor(v);
        double kept = f < 0.01 || f > 0.99 ? Math.floor(v) + 0.01 + 0.98 * r.nextDouble() : v;
        return (float) kept;
    }
}
