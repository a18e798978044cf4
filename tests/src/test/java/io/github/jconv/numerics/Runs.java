package io.github.jconv.numerics;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.conformance.Reference;
import io.github.jconv.equivalence.RequiredBackends;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Assumptions;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Runs one pass on the FP64 reference or on a backend from double[] tensors; the backends to run on. */
final class Runs {
    private Runs() {
    }

    /** Every provider on the classpath, by name (cpu, opencl, cuda); an unavailable one skips or fails in {@link #open}. */
    static Stream<String> backends() {
        return ConvEngine.providers().stream().map(ConvBackendProvider::name).sorted();
    }

    /** Opens a backend's first device; skips when it is unavailable, fails when JCONV_REQUIRE_BACKENDS names it. */
    static ConvEngine open(String name) {
        ConvBackendProvider p = ConvEngine.providers().stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no provider " + name));
        ProbeResult r = p.probe();
        if (!r.available()) {
            if (RequiredBackends.fromEnvironment().contains(name)) {
                throw new AssertionError("backend " + name + " is required by JCONV_REQUIRE_BACKENDS but unavailable: " + r.reason());
            }
            Assumptions.assumeTrue(false, "backend " + name + " unavailable: " + r.reason());
        }
        return ConvEngine.open(p, 0);
    }

    /** The dtypes this backend runs {@code pass} of {@code spec} in (FP32 and FP64 where supported). */
    static List<DType> dtypes(ConvEngine e, ConvSpec spec, Pass pass) {
        List<DType> out = new ArrayList<>();
        for (DType d : new DType[] {DType.FP32, DType.FP64}) {
            if (e.backend().supports(spec, pass, d).supported()) out.add(d);
        }
        return out;
    }

    /** The reference's values for every output of {@code pass}. */
    static Map<Role, double[]> reference(Pass pass, ConvSpec spec, Map<Role, double[]> in) {
        Map<Role, double[]> out = new EnumMap<>(Role.class);
        for (Map.Entry<Role, Reference.Output> e : Reference.run(pass, spec, in).entrySet()) out.put(e.getKey(), e.getValue().values());
        return out;
    }

    /** Runs {@code pass} on the engine in {@code dtype}; outputs start as NaN so that an unwritten element shows. */
    static Map<Role, double[]> backend(ConvEngine e, DType dtype, Pass pass, ConvSpec spec, Map<Role, double[]> in) {
        List<DeviceBuffer> open = new ArrayList<>();
        try {
            ConvArgs.Builder args = ConvArgs.builder();
            for (Role r : pass.inputs(spec)) {
                DeviceBuffer b = upload(e, dtype, in.get(r), r.shapeFor(spec));
                open.add(b);
                args.put(r, b);
            }
            for (Role r : pass.outputs(spec)) {
                double[] nan = new double[Math.toIntExact(r.shapeFor(spec).elementCount())];
                java.util.Arrays.fill(nan, Double.NaN);
                DeviceBuffer b = upload(e, dtype, nan, r.shapeFor(spec));
                open.add(b);
                args.put(r, b);
            }
            ConvArgs a = args.build();
            e.execute(pass, spec, a);
            e.backend().synchronize();
            Map<Role, double[]> out = new EnumMap<>(Role.class);
            for (Role r : pass.outputs(spec)) {
                DeviceBuffer b = a.get(r);
                if (dtype == DType.FP64) {
                    out.put(r, e.downloadDoubles(b));
                } else {
                    float[] f = e.downloadFloats(b);
                    double[] d = new double[f.length];
                    for (int i = 0; i < f.length; i++) d[i] = f[i];
                    out.put(r, d);
                }
            }
            return out;
        } finally {
            for (DeviceBuffer b : open) b.close();
        }
    }

    private static DeviceBuffer upload(ConvEngine e, DType dtype, double[] v, Shape shape) {
        if (dtype == DType.FP64) return e.upload(v, shape);
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return e.upload(f, shape);
    }

    /** Unit roundoff of the dtype. */
    static double eps(DType d) {
        return d == DType.FP64 ? 0x1p-53 : 0x1p-24;
    }
}
