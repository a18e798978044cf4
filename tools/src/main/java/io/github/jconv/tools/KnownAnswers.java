package io.github.jconv.tools;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Known-answer runs of one capability cell. Inputs, weights and gradients are all ones (bias 0.5;
 * deformable: zero offsets and a unit mask), so every answer is a count of valid taps, counted here
 * per axis with plain loops: with positions pos = i·s − p + t·d between a short index i ∈ [0, A) and
 * a long index pos ∈ [0, B) (convolution: A = output, B = input; transposed: A = input, B = output),
 * one answer counts taps per i, another (i, t) pairs per pos, the weight gradient i per tap t.
 */
final class KnownAnswers {
    static final float BIAS = 0.5f;

    private KnownAnswers() {
    }

    /** A pass's answer that did not match, or null when all matched. */
    record Mismatch(String pass, String role, int[] index, double got, double want) {
        @Override
        public String toString() {
            return pass + " " + role + Arrays.toString(index) + " = " + Text.num(got) + ", want " + Text.num(want);
        }
    }

    /** Runs every pass of the family on {@code engine} and compares with the counted answers. */
    static ProbeReport.CellReport check(ConvEngine engine, ConvType type, int rank, DType dtype) {
        ConvSpec spec = io.github.jconv.spi.Capabilities.representative(type, rank);
        String op = type.name().toLowerCase(Locale.ROOT);
        List<String> passes = new ArrayList<>();
        Pass current = null;
        try {
            for (Pass p : Pass.values()) {
                if (p == Pass.BACKWARD_OFFSET_MASK && type != ConvType.DEFORMABLE) continue;
                current = p;
                Mismatch m = run(engine, spec, p, dtype);
                if (m != null) {
                    return new ProbeReport.CellReport(op, rank, dtype.name(), ProbeReport.CellReport.FAIL,
                            m + " on " + spec + " -- repro: " + repro(p, dtype, spec));
                }
                passes.add(p.name().toLowerCase(Locale.ROOT));
            }
        } catch (Throwable t) { // one broken cell must not stop the matrix
            return new ProbeReport.CellReport(op, rank, dtype.name(), ProbeReport.CellReport.ERROR,
                    current + " threw " + t + " on " + spec + (current == null ? "" : " -- repro: " + repro(current, dtype, spec)));
        }
        return new ProbeReport.CellReport(op, rank, dtype.name(), ProbeReport.CellReport.PASS,
                "known answers of " + String.join(", ", passes) + " on " + spec);
    }

    /** The failing cell in the conformance kit's one repro form (the kit's suite checks that case with its own data). */
    private static String repro(Pass pass, DType dtype, ConvSpec spec) {
        return new io.github.jconv.conformance.Repro(pass, dtype, new io.github.jconv.conformance.Problem(spec, "", null, false, "")).toString();
    }

    static Mismatch run(ConvEngine engine, ConvSpec spec, Pass pass, DType dtype) {
        List<DeviceBuffer> open = new ArrayList<>();
        try {
            ConvArgs.Builder args = ConvArgs.builder();
            for (Role r : pass.inputs(spec)) {
                float value = switch (r) {
                    case B -> BIAS;
                    case OFFSET -> 0f;
                    default -> 1f;
                };
                DeviceBuffer b = filled(engine, dtype, r.shapeFor(spec), value);
                open.add(b);
                args.put(r, b);
            }
            List<Role> outs = new ArrayList<>(pass.outputs(spec));
            for (Role r : outs) {
                DeviceBuffer b = engine.allocate(dtype, r.shapeFor(spec));
                open.add(b);
                args.put(r, b);
            }
            ConvArgs built = args.build();
            engine.execute(pass, spec, built);
            double tol = dtype == DType.FP16 || dtype == DType.BF16 ? 1e-2 : 1e-4;
            for (Role r : outs) {
                double[] got = download(engine, built.get(r));
                int[] dims = r.shapeFor(spec).dims();
                for (int i = 0; i < got.length; i++) {
                    int[] idx = unravel(i, dims);
                    Double want = expected(spec, r, idx);
                    if (want == null) continue;
                    if (!(Math.abs(got[i] - want) <= tol * Math.max(1, Math.abs(want)))) {
                        return new Mismatch(pass.name().toLowerCase(Locale.ROOT), r.label(), idx, got[i], want);
                    }
                }
            }
            return null;
        } finally {
            for (DeviceBuffer b : open) b.close();
        }
    }

    private static DeviceBuffer filled(ConvEngine engine, DType dtype, Shape shape, float value) {
        int n = Math.toIntExact(shape.elementCount());
        if (dtype == DType.FP64) {
            double[] d = new double[n];
            Arrays.fill(d, value);
            return engine.upload(d, shape);
        }
        float[] f = new float[n];
        Arrays.fill(f, value);
        return engine.upload(dtype, f, shape);
    }

    private static double[] download(ConvEngine engine, DeviceBuffer b) {
        if (b.dtype() == DType.FP64) return engine.downloadDoubles(b);
        float[] f = engine.downloadFloats(b);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static int[] unravel(long flat, int[] dims) {
        int[] idx = new int[dims.length];
        for (int a = dims.length - 1; a >= 0; a--) {
            idx[a] = (int) (flat % dims[a]);
            flat /= dims[a];
        }
        return idx;
    }

    /** The answer at {@code idx} of output role {@code r}, or null where the answer is not pinned down. */
    static Double expected(ConvSpec s, Role r, int[] idx) {
        boolean tr = s.type() == ConvType.TRANSPOSED;
        int g = s.groups();
        int rank = s.rank();
        switch (r) {
            case Y -> {
                long n = 1;
                for (int a = 0; a < rank; a++) {
                    n *= tr ? pairsTo(s, a, idx[2 + a], s.input(a)) : tapsAt(s, a, idx[2 + a], s.input(a));
                }
                return BIAS + (double) (s.inChannels() / g) * n;
            }
            case DX -> {
                long n = 1;
                for (int a = 0; a < rank; a++) {
                    n *= tr ? tapsAt(s, a, idx[2 + a], s.output(a)) : pairsTo(s, a, idx[2 + a], s.output(a));
                }
                return (double) (s.outChannels() / g) * n;
            }
            case DW -> {
                long n = 1;
                for (int a = 0; a < rank; a++) {
                    n *= tr ? indicesFor(s, a, idx[2 + a], s.input(a), s.output(a)) : indicesFor(s, a, idx[2 + a], s.output(a), s.input(a));
                }
                return (double) s.batch() * n;
            }
            case DB -> {
                return (double) s.batch() * s.outputSpatial();
            }
            case DMASK -> {
                int kk = (int) s.kernelVolume();
                int og = idx[1] / kk, t = idx[1] % kk;
                return inside(s, idx[2], idx[3], t, 0) ? (double) channelsSeen(s, og) : 0.0;
            }
            case DOFFSET -> {
                int kk = (int) s.kernelVolume();
                int t = (idx[1] / 2) % kk;
                // bilinear slope at an integer point is one-sided; only where all four neighbours are inside is it surely 0
                return inside(s, idx[2], idx[3], t, 1) ? 0.0 : null;
            }
            default -> throw new IllegalStateException("no known answer for " + r);
        }
    }

    /** Convolution taps t with 0 ≤ i·s − p + t·d &lt; limit, for short index i. */
    static int tapsAt(ConvSpec s, int a, int i, int limit) {
        int n = 0;
        for (int t = 0; t < s.kernel(a); t++) {
            long pos = (long) i * s.stride(a) - s.paddingLo(a) + (long) t * s.dilation(a);
            if (pos >= 0 && pos < limit) n++;
        }
        return n;
    }

    /** Pairs (i, t) with i ∈ [0, shortSize) and i·s − p + t·d = pos. */
    static int pairsTo(ConvSpec s, int a, int pos, int shortSize) {
        int n = 0;
        for (int i = 0; i < shortSize; i++) {
            for (int t = 0; t < s.kernel(a); t++) {
                if ((long) i * s.stride(a) - s.paddingLo(a) + (long) t * s.dilation(a) == pos) n++;
            }
        }
        return n;
    }

    /** Short indices i ∈ [0, shortSize) whose tap t lands in [0, longSize). */
    static int indicesFor(ConvSpec s, int a, int t, int shortSize, int longSize) {
        int n = 0;
        for (int i = 0; i < shortSize; i++) {
            long pos = (long) i * s.stride(a) - s.paddingLo(a) + (long) t * s.dilation(a);
            if (pos >= 0 && pos < longSize) n++;
        }
        return n;
    }

    /** Whether deformable tap t of output (oy, ox) samples inside the image, with {@code margin} rows/columns to spare. */
    private static boolean inside(ConvSpec s, int oy, int ox, int t, int margin) {
        int ky = t / s.kernel(1), kx = t % s.kernel(1);
        long py = (long) oy * s.stride(0) - s.paddingLo(0) + (long) ky * s.dilation(0);
        long px = (long) ox * s.stride(1) - s.paddingLo(1) + (long) kx * s.dilation(1);
        return py >= 0 && px >= 0 && py + margin < s.input(0) && px + margin < s.input(1);
    }

    /** Σ over output channels of the input channels they share with offset group {@code og}. */
    private static long channelsSeen(ConvSpec s, int og) {
        int cg = s.inChannels() / s.groups(), kg = s.outChannels() / s.groups(), per = s.inChannels() / s.offsetGroups();
        long n = 0;
        for (int k = 0; k < s.outChannels(); k++) {
            int lo = (k / kg) * cg, hi = lo + cg;
            n += Math.max(0, Math.min(hi, (og + 1) * per) - Math.max(lo, og * per));
        }
        return n;
    }
}
