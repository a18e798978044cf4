package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.conformance.Reference;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Random inputs for a spec, and every pass of it run through an engine, results as FP64. */
final class PassRunner {
    final ConvSpec spec;
    final Map<Role, double[]> inputs = new EnumMap<>(Role.class);

    PassRunner(ConvSpec spec, long seed, double offsetScale) {
        this.spec = spec;
        SplittableRandom r = new SplittableRandom(seed);
        for (Role role : new Role[]{Role.X, Role.W, Role.B, Role.DY}) inputs.put(role, uniform(r, role.shapeFor(spec), -1, 1));
        if (spec.type() == ConvType.DEFORMABLE) {
            double[] off = new double[(int) spec.offsetShape().elementCount()];
            for (int i = 0; i < off.length; i++) {
                // Mostly moderate offsets, some far beyond the border, none on integer points by accident.
                off[i] = (r.nextInt(10) == 0 ? 20 : offsetScale) * (r.nextDouble() * 2 - 1) + 1e-3;
            }
            inputs.put(Role.OFFSET, off);
            inputs.put(Role.MASK, uniform(r, spec.maskShape(), 0, 1));
        }
    }

    private static double[] uniform(SplittableRandom r, Shape s, double lo, double hi) {
        double[] a = new double[(int) s.elementCount()];
        for (int i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * r.nextDouble();
        return a;
    }

    List<Pass> passes() {
        List<Pass> out = new ArrayList<>(List.of(Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT));
        if (spec.bias()) out.add(Pass.BACKWARD_BIAS);
        if (spec.type() == ConvType.DEFORMABLE) out.add(Pass.BACKWARD_OFFSET_MASK);
        return out;
    }

    /** Runs {@code pass} in {@code dtype}; outputs by role, widened to FP64. Output buffers start filled with garbage. */
    Map<Role, double[]> run(ConvEngine engine, Pass pass, DType dtype) {
        return runAll(engine, java.util.EnumSet.of(pass), dtype);
    }

    /** Runs {@code passes} in one {@link ConvEngine#executeAll} call (one pass: {@link ConvEngine#execute}); outputs as in {@link #run}. */
    Map<Role, double[]> runAll(ConvEngine engine, java.util.Set<Pass> passes, DType dtype) {
        java.util.Set<Role> ins = java.util.EnumSet.noneOf(Role.class), outputs = java.util.EnumSet.noneOf(Role.class);
        for (Pass pass : passes) {
            ins.addAll(pass.inputs(spec));
            outputs.addAll(pass.outputs(spec));
        }
        List<DeviceBuffer> open = new ArrayList<>();
        try {
            ConvArgs.Builder b = ConvArgs.builder();
            for (Role role : ins) {
                DeviceBuffer buf = dtype == DType.FP64 ? engine.upload(inputs.get(role), role.shapeFor(spec))
                        : engine.upload(DType.FP32, toFloat(inputs.get(role)), role.shapeFor(spec));
                open.add(buf);
                b.put(role, buf);
            }
            Map<Role, DeviceBuffer> outs = new EnumMap<>(Role.class);
            for (Role role : outputs) {
                Shape sh = role.shapeFor(spec);
                double[] junk = new double[(int) sh.elementCount()];
                java.util.Arrays.fill(junk, Double.NaN);
                DeviceBuffer buf = dtype == DType.FP64 ? engine.upload(junk, sh) : engine.upload(DType.FP32, toFloat(junk), sh);
                open.add(buf);
                outs.put(role, buf);
                b.put(role, buf);
            }
            if (passes.size() == 1) engine.execute(passes.iterator().next(), spec, b.build());
            else engine.executeAll(passes, spec, b.build());
            Map<Role, double[]> result = new EnumMap<>(Role.class);
            for (Map.Entry<Role, DeviceBuffer> e : outs.entrySet()) {
                result.put(e.getKey(), dtype == DType.FP64 ? engine.downloadDoubles(e.getValue()) : toDouble(engine.downloadFloats(e.getValue())));
            }
            return result;
        } finally {
            open.forEach(DeviceBuffer::close);
        }
    }

    /** The outputs of {@code pass} by the conformance kit's FP64 reference (module conformance). */
    Map<Role, double[]> oracle(Pass pass) {
        Map<Role, double[]> r = new EnumMap<>(Role.class);
        Reference.run(pass, spec, inputs).forEach((role, out) -> r.put(role, out.values()));
        return r;
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
