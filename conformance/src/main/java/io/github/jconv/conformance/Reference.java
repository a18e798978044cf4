package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;
import io.github.jconv.Role;

import java.util.EnumMap;
import java.util.Map;

/**
 * The FP64 reference: direct loops straight from the definitions, for every operation and every
 * pass. It shares no code with any backend; backends (the CPU one included) are measured against it.
 *
 * <p>Every result comes with a magnitude array: per element, the sum of the absolute values of the
 * terms that were added into it. Rounding error of any summation order is bounded by a multiple of
 * that magnitude, which is what {@link Tolerance} scales.
 *
 * <p><b>Convolution</b> (layout NC + spatial, up to three spatial axes, per-axis stride s, padding
 * p_lo / p_hi, dilation d, groups G with Cg = C_in/G and Kg = C_out/G):
 * {@code y[n, g·Kg+k, o] = b[g·Kg+k] + Σ_{c<Cg, t} x[n, g·Cg+c, o·s − p_lo + t·d] · w[g·Kg+k, c, t]},
 * reads outside the input are zero.
 *
 * <p><b>Transposed convolution</b> is the adjoint, weight [C_in, C_out/G, k…]:
 * {@code y[n, g·Kg+k, i·s − p_lo + t·d] += x[n, g·Cg+c, i] · w[g·Cg+c, k, t]}, positions outside
 * [0, out) are dropped, then the bias is added. Both are one loop here: a "lattice" side (conv: y,
 * transposed: x) is visited position by position and each tap lands on the "spread" side.
 *
 * <p><b>Padding and non-finite numbers.</b> Every op is defined on the zero-padded tensor, as PyTorch
 * defines padding: a pass that reads the spread side through the window (conv forward and weight
 * gradient, transposed data and weight gradient) forms the product with a padding zero too, so a NaN
 * or infinite factor on the other side makes the sum NaN even where the tap reads padding
 * (NaN·0 = NaN). A pass whose result lies on the spread side (conv data gradient, transposed forward)
 * drops the products that land outside, as the crop of the padded result does.
 *
 * <p><b>Deformable convolution</b> (2D; v1 without mask, v2 with). For offset group og, tap
 * t = ky·kw + kx: dy = offset[n, og·2·kh·kw + 2t, oh, ow], dx = offset[n, og·2·kh·kw + 2t + 1, oh, ow],
 * mask m = mask[n, og·kh·kw + t, oh, ow] (1 for v1). Input channel c belongs to offset group
 * c / (C_in/G_off). The sampling point is py = oh·s_h − p_lo_h + ky·d_h + dy, px likewise.
 * <br><b>Value:</b> the sample is zero when py ≤ −1 or py ≥ H or px ≤ −1 or px ≥ W, that is
 * outside the open box (−1, H) × (−1, W); inside it, the value is the bilinear interpolation of the
 * four integer neighbours (⌊py⌋ or ⌊py⌋+1, ⌊px⌋ or ⌊px⌋+1), where each neighbour outside
 * [0, H−1] × [0, W−1] contributes zero (an in-image neighbour is read even at weight zero, so a NaN
 * there makes the sample NaN). The rule makes the sample continuous in (py, px).
 * <br>The sample is multiplied by m and by the weight; weight groups apply as in convolution. The
 * product with the weight is formed for every tap, also where the sample is zero.
 * <br><b>Offset gradient</b> (torchvision's coordinate-weight rule): the derivative of the bilinear form on the
 * cell ⌊py⌋, ⌊px⌋, each of the four neighbours counted when it lies inside the image and no test on
 * the sampling point itself (at an integer coordinate that is the derivative from above). So at
 * py = −1 exactly the y slope is x[0, ·] − 0, not zero: a border tap of a zero-initialised offset
 * learns. It is zero when py &lt; −1 or py ≥ H (no neighbour row inside), likewise in x. The mask
 * gradient is Σ G·sample (sample under the value rule above).
 * <br><b>Input gradient:</b> the adjoint of the value: G·m·(bilinear weight) onto each in-image
 * neighbour, for samples inside the open box.
 * <br><b>NaN sampling position</b> (a NaN offset): the sample is NaN (so are the outputs, weight
 * gradients, offset and mask gradients that multiply it), and it has no neighbours, so it adds nothing
 * to the input gradient. An infinite offset is a position outside the image.
 *
 * <p>With zero offsets and a unit mask the forward pass adds the same products in the same order as
 * the convolution loop, so the two agree bit for bit.
 */
public final class Reference {
    private static final int FORWARD = 0;
    private static final int DATA = 1;
    private static final int WEIGHT = 2;

    private Reference() {
    }

    /** A result tensor and, per element, the sum of absolute values of the terms summed into it. */
    public record Output(double[] values, double[] magnitude) {
    }

    /**
     * Runs one pass; {@code in} holds the pass's input roles ({@link Pass#inputs}); returns its output
     * roles ({@link Pass#outputs}).
     */
    public static Map<Role, Output> run(Pass pass, ConvSpec spec, Map<Role, double[]> in) {
        Map<Role, Output> out = new EnumMap<>(Role.class);
        for (Role r : pass.inputs(spec)) {
            double[] v = in.get(r);
            if (v == null) throw new IllegalArgumentException(r.label() + " = null: " + pass + " of " + spec + " reads it");
            if (v.length != r.shapeFor(spec).elementCount()) {
                throw new IllegalArgumentException(r.label() + ".length = " + v.length + ": " + spec + " needs "
                        + r.shapeFor(spec).elementCount());
            }
        }
        if (pass == Pass.BACKWARD_BIAS) {
            out.put(Role.DB, biasGrad(spec, in.get(Role.DY)));
            return out;
        }
        if (spec.type() == ConvType.DEFORMABLE) {
            Deform d = new Deform(spec, in.get(Role.X), in.get(Role.OFFSET), in.get(Role.MASK));
            switch (pass) {
                case FORWARD -> out.put(Role.Y, d.forward(in.get(Role.W), in.get(Role.B)));
                case BACKWARD_DATA -> out.put(Role.DX, d.backwardData(in.get(Role.W), in.get(Role.DY)));
                case BACKWARD_WEIGHT -> out.put(Role.DW, d.backwardWeight(in.get(Role.DY)));
                case BACKWARD_OFFSET_MASK -> d.backwardOffsetMask(in.get(Role.W), in.get(Role.DY), out);
                default -> throw new AssertionError(pass);
            }
            return out;
        }
        switch (pass) {
            case FORWARD -> {
                Output y = newOutput(spec.outputShape().elementCount());
                addBias(spec, in.get(Role.B), y);
                lattice(FORWARD, spec, in.get(Role.X), in.get(Role.W), null, y);
                out.put(Role.Y, y);
            }
            case BACKWARD_DATA -> {
                Output dx = newOutput(spec.inputShape().elementCount());
                lattice(DATA, spec, null, in.get(Role.W), in.get(Role.DY), dx);
                out.put(Role.DX, dx);
            }
            case BACKWARD_WEIGHT -> {
                Output dw = newOutput(spec.weightShape().elementCount());
                lattice(WEIGHT, spec, in.get(Role.X), null, in.get(Role.DY), dw);
                out.put(Role.DW, dw);
            }
            default -> throw new IllegalArgumentException("pass = " + pass + ": only deformable convolution has it; spec " + spec);
        }
        return out;
    }

    /**
     * The longest sum behind one element of {@code role} for this spec: what the tolerance scales
     * with. For the deformable backward passes it counts the channels and taps that meet in one element.
     */
    public static long reductionLength(ConvSpec spec, Role role) {
        long kv = spec.kernelVolume();
        long cg = spec.inChannels() / spec.groups();
        long kg = spec.outChannels() / spec.groups();
        boolean t = spec.type() == ConvType.TRANSPOSED;
        return switch (role) {
            case Y -> cg * kv;
            // a deformable input element is a neighbour of up to four samples per tap
            case DX -> spec.type() == ConvType.DEFORMABLE ? kg * kv * 4 : kg * kv;
            case DW -> (long) spec.batch() * (t ? spec.inputSpatial() : spec.outputSpatial());
            case DB -> (long) spec.batch() * spec.outputSpatial();
            case DOFFSET, DMASK -> (spec.inChannels() / spec.offsetGroups()) * kg;
            default -> throw new IllegalArgumentException("role = " + role + ": not an output of any pass");
        };
    }

    // ---- convolution and transposed convolution ----

    private static Output newOutput(long n) {
        return new Output(new double[Math.toIntExact(n)], new double[Math.toIntExact(n)]);
    }

    private static void addBias(ConvSpec spec, double[] b, Output y) {
        if (!spec.bias()) return;
        int per = Math.toIntExact(spec.outputSpatial());
        int k = spec.outChannels();
        for (int n = 0; n < spec.batch(); n++) {
            for (int c = 0; c < k; c++) {
                int base = (n * k + c) * per;
                for (int i = 0; i < per; i++) {
                    y.values()[base + i] = b[c];
                    y.magnitude()[base + i] = Math.abs(b[c]);
                }
            }
        }
    }

    private static Output biasGrad(ConvSpec spec, double[] dy) {
        Output db = newOutput(spec.outChannels());
        int per = Math.toIntExact(spec.outputSpatial());
        for (int n = 0; n < spec.batch(); n++) {
            for (int c = 0; c < spec.outChannels(); c++) {
                int base = (n * spec.outChannels() + c) * per;
                for (int i = 0; i < per; i++) {
                    db.values()[c] += dy[base + i];
                    db.magnitude()[c] += Math.abs(dy[base + i]);
                }
            }
        }
        return db;
    }

    /** Sizes padded to three axes: a missing leading axis has size 1, kernel 1, stride 1, no padding. */
    private static int[] three(int[] v, int fill) {
        int[] r = {fill, fill, fill};
        System.arraycopy(v, 0, r, 3 - v.length, v.length);
        return r;
    }

    /**
     * One loop for conv and transposed conv, forward and both weight-side backward passes. Lattice:
     * the side whose every position is visited (conv: y, transposed: x); each tap t of lattice
     * position l lands on spread position l·s − p_lo + t·d, skipped when outside the spread side.
     */
    private static void lattice(int mode, ConvSpec spec, double[] x, double[] w, double[] dy, Output out) {
        boolean tr = spec.type() == ConvType.TRANSPOSED;
        int groups = spec.groups();
        int cx = spec.inChannels();
        int cy = spec.outChannels();
        int gx = cx / groups;
        int gy = cy / groups;
        int[] xs = three(spec.input(), 1);
        int[] ys = three(spec.output(), 1);
        int[] k = three(spec.kernel(), 1);
        int[] s = three(spec.stride(), 1);
        int[] p = three(spec.paddingLo(), 0);
        int[] d = three(spec.dilation(), 1);
        int[] lat = tr ? xs : ys;
        int[] spr = tr ? ys : xs;
        int xsz = xs[0] * xs[1] * xs[2];
        int ysz = ys[0] * ys[1] * ys[2];
        int kv = k[0] * k[1] * k[2];
        // conv data gradient and transposed forward write the spread side; the others read it through the window
        boolean spreadTarget = tr ? mode == FORWARD : mode == DATA;
        double[] acc = out.values();
        double[] mag = out.magnitude();
        // Parallel over the indices that fix the target element, the remaining index looped inside in
        // the same order as a plain n, g, a, b nest: every element sums the same terms in the same order
        // whatever the thread count (weight: (g, a, b) own an element, n inside; forward: (n, g, b), a
        // inside; data: (n, g, a), b inside).
        int batch = spec.batch();
        int inner = mode == WEIGHT ? batch : mode == FORWARD ? gx : gy;
        int outerCount = mode == WEIGHT ? groups * gx * gy : batch * groups * (mode == FORWARD ? gy : gx);
        long work = (long) batch * groups * gx * gy * kv * (long) lat[0] * lat[1] * lat[2];
        java.util.stream.IntStream tasks = java.util.stream.IntStream.range(0, outerCount);
        if (work > (1L << 20)) tasks = tasks.parallel();
        tasks.forEach(task -> {
            for (int i = 0; i < inner; i++) {
                int n;
                int g;
                int a;
                int b;
                if (mode == WEIGHT) {
                    n = i;
                    b = task % gy;
                    a = (task / gy) % gx;
                    g = task / (gy * gx);
                } else if (mode == FORWARD) {
                    a = i;
                    b = task % gy;
                    g = (task / gy) % groups;
                    n = task / (gy * groups);
                } else {
                    b = i;
                    a = task % gx;
                    g = (task / gx) % groups;
                    n = task / (gx * groups);
                }
                        int wBase = tr ? ((g * gx + a) * gy + b) * kv : ((g * gy + b) * gx + a) * kv;
                        int xBase = (n * cx + g * gx + a) * xsz;
                        int yBase = (n * cy + g * gy + b) * ysz;
                        for (int l0 = 0; l0 < lat[0]; l0++) {
                            for (int l1 = 0; l1 < lat[1]; l1++) {
                                for (int l2 = 0; l2 < lat[2]; l2++) {
                                    int li = (l0 * lat[1] + l1) * lat[2] + l2;
                                    for (int t0 = 0; t0 < k[0]; t0++) {
                                        int q0 = l0 * s[0] - p[0] + t0 * d[0];
                                        boolean in0 = q0 >= 0 && q0 < spr[0];
                                        for (int t1 = 0; t1 < k[1]; t1++) {
                                            int q1 = l1 * s[1] - p[1] + t1 * d[1];
                                            boolean in1 = in0 && q1 >= 0 && q1 < spr[1];
                                            for (int t2 = 0; t2 < k[2]; t2++) {
                                                int q2 = l2 * s[2] - p[2] + t2 * d[2];
                                                boolean inside = in1 && q2 >= 0 && q2 < spr[2];
                                                // the result lands on the spread side: an outside tap is cropped away
                                                if (!inside && spreadTarget) continue;
                                                int si = inside ? (q0 * spr[1] + q1) * spr[2] + q2 : -1;
                                                int wi = wBase + (t0 * k[1] + t1) * k[2] + t2;
                                                // an outside tap reads a padding zero and still forms its product
                                                double spread;
                                                double lattice;
                                                if (mode == FORWARD) {
                                                    spread = tr ? 0 : (inside ? x[xBase + si] : 0);
                                                    lattice = tr ? x[xBase + li] : 0;
                                                } else if (mode == DATA) {
                                                    spread = tr ? (inside ? dy[yBase + si] : 0) : 0;
                                                    lattice = tr ? 0 : dy[yBase + li];
                                                } else {
                                                    spread = inside ? (tr ? dy[yBase + si] : x[xBase + si]) : 0;
                                                    lattice = tr ? x[xBase + li] : dy[yBase + li];
                                                }
                                                double term;
                                                int target;
                                                if (mode == FORWARD) {
                                                    term = (tr ? lattice : spread) * w[wi];
                                                    target = tr ? yBase + si : yBase + li;
                                                } else if (mode == DATA) {
                                                    term = (tr ? spread : lattice) * w[wi];
                                                    target = tr ? xBase + li : xBase + si;
                                                } else {
                                                    term = tr ? lattice * spread : spread * lattice;
                                                    target = wi;
                                                }
                                                acc[target] += term;
                                                mag[target] += Math.abs(term);
                                            }
                                        }
                                    }
                                }
                            }
                        }
            }
        });
    }

    // ---- deformable ----

    /** Deformable convolution on one problem's x, offset and mask: samples are computed once. */
    private static final class Deform {
        private final ConvSpec spec;
        private final double[] x;
        private final int h;
        private final int w;
        private final int oh;
        private final int ow;
        private final int kh;
        private final int kw;
        private final int taps;
        private final int cin;
        private final int cout;
        private final int cg;
        private final int kg;
        private final int perOffsetGroup;
        /** [n, c, t, oh, ow]: mask · bilinear sample. */
        private final double[] col;
        /** [n, c, t, oh, ow]: |mask| · Σ|in-range neighbours| (position-error aware magnitude). */
        private final double[] colMag;
        private final double[] offset;
        private final double[] mask;

        Deform(ConvSpec spec, double[] x, double[] offset, double[] mask) {
            this.spec = spec;
            this.x = x;
            this.offset = offset;
            this.mask = mask;
            h = spec.input(0);
            w = spec.input(1);
            oh = spec.output(0);
            ow = spec.output(1);
            kh = spec.kernel(0);
            kw = spec.kernel(1);
            taps = kh * kw;
            cin = spec.inChannels();
            cout = spec.outChannels();
            cg = cin / spec.groups();
            kg = cout / spec.groups();
            perOffsetGroup = cin / spec.offsetGroups();
            int size = Math.toIntExact((long) spec.batch() * cin * taps * oh * ow);
            col = new double[size];
            colMag = new double[size];
            double[] nb = new double[5];
            for (int n = 0; n < spec.batch(); n++) {
                for (int c = 0; c < cin; c++) {
                    for (int t = 0; t < taps; t++) {
                        for (int i = 0; i < oh; i++) {
                            for (int j = 0; j < ow; j++) {
                                int ci = colIndex(n, c, t, i, j);
                                sample(n, c, t, i, j, nb);
                                double m = maskAt(n, c, t, i, j);
                                col[ci] = m * nb[0];
                                colMag[ci] = Math.abs(m) * nb[3];
                            }
                        }
                    }
                }
            }
        }

        int colIndex(int n, int c, int t, int i, int j) {
            return (((n * cin + c) * taps + t) * oh + i) * ow + j;
        }

        int offsetGroup(int c) {
            return c / perOffsetGroup;
        }

        double maskAt(int n, int c, int t, int i, int j) {
            if (!spec.modulated()) return 1.0;
            int ch = offsetGroup(c) * taps + t;
            return mask[((n * spec.offsetGroups() * taps + ch) * oh + i) * ow + j];
        }

        int offsetIndex(int n, int c, int t, int i, int j, int component) {
            int ch = offsetGroup(c) * 2 * taps + 2 * t + component;
            return ((n * 2 * spec.offsetGroups() * taps + ch) * oh + i) * ow + j;
        }

        double py(int n, int c, int t, int i, int j) {
            return (double) i * spec.stride(0) - spec.paddingLo(0) + (t / kw) * spec.dilation(0)
                    + offset[offsetIndex(n, c, t, i, j, 0)];
        }

        double px(int n, int c, int t, int i, int j) {
            return (double) j * spec.stride(1) - spec.paddingLo(1) + (t % kw) * spec.dilation(1)
                    + offset[offsetIndex(n, c, t, i, j, 1)];
        }

        /** The value's box: the open (−1, H) × (−1, W); false for a NaN position. */
        boolean inside(double py, double px) {
            return py > -1 && py < h && px > -1 && px < w;
        }

        /** The offset gradient's box: [−1, H) × [−1, W); outside it no neighbour is in the image. */
        boolean insideForSlope(double py, double px) {
            return py >= -1 && py < h && px >= -1 && px < w;
        }

        double at(int n, int c, int yy, int xx) {
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) return 0.0;
            return x[((n * cin + c) * h + yy) * w + xx];
        }

        /**
         * r[0] value, r[1] d/dpy, r[2] d/dpx, r[3] Σ|neighbours| of the value (0 outside its open box),
         * r[4] Σ|neighbours| of the slopes; all NaN for a NaN position.
         */
        void sample(int n, int c, int t, int i, int j, double[] r) {
            double py = py(n, c, t, i, j);
            double px = px(n, c, t, i, j);
            if (Double.isNaN(py) || Double.isNaN(px)) {
                r[0] = r[1] = r[2] = r[3] = r[4] = Double.NaN;
                return;
            }
            r[0] = r[1] = r[2] = r[3] = r[4] = 0;
            if (!insideForSlope(py, px)) return;
            int y0 = (int) Math.floor(py);
            int x0 = (int) Math.floor(px);
            double ly = py - y0;
            double lx = px - x0;
            double hy = 1 - ly;
            double hx = 1 - lx;
            double v00 = at(n, c, y0, x0);
            double v01 = at(n, c, y0, x0 + 1);
            double v10 = at(n, c, y0 + 1, x0);
            double v11 = at(n, c, y0 + 1, x0 + 1);
            r[1] = -hx * v00 - lx * v01 + hx * v10 + lx * v11;
            r[2] = -hy * v00 + hy * v01 - ly * v10 + ly * v11;
            r[4] = Math.abs(v00) + Math.abs(v01) + Math.abs(v10) + Math.abs(v11);
            if (inside(py, px)) {
                r[0] = hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11;
                r[3] = r[4];
            }
        }

        Output forward(double[] wt, double[] b) {
            Output y = newOutput(spec.outputShape().elementCount());
            addBias(spec, b, y);
            int osz = oh * ow;
            // same loop order as the convolution reference (n, g, c, k, position, tap): bit-equal at zero offsets
            for (int n = 0; n < spec.batch(); n++) {
                for (int g = 0; g < spec.groups(); g++) {
                    for (int a = 0; a < cg; a++) {
                        int c = g * cg + a;
                        for (int k = 0; k < kg; k++) {
                            int co = g * kg + k;
                            int yBase = (n * cout + co) * osz;
                            int wBase = (co * cg + a) * taps;
                            for (int i = 0; i < oh; i++) {
                                for (int j = 0; j < ow; j++) {
                                    for (int t = 0; t < taps; t++) {
                                        int ci = colIndex(n, c, t, i, j);
                                        // formed for every tap: a zero sample times a NaN weight is NaN
                                        double term = wt[wBase + t] * col[ci];
                                        y.values()[yBase + i * ow + j] += term;
                                        y.magnitude()[yBase + i * ow + j] += Math.abs(wt[wBase + t]) * colMag[ci];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return y;
        }

        /** G = Σ_k w[co, c, t] · dy[n, co, i, j] over the output channels that read input channel c. */
        void gather(double[] wt, double[] dy, int n, int c, int t, int i, int j, double[] gOut) {
            int g = c / cg;
            int a = c % cg;
            double s = 0;
            double m = 0;
            for (int k = 0; k < kg; k++) {
                int co = g * kg + k;
                double term = wt[(co * cg + a) * taps + t] * dy[((n * cout + co) * oh + i) * ow + j];
                s += term;
                m += Math.abs(term);
            }
            gOut[0] = s;
            gOut[1] = m;
        }

        Output backwardData(double[] wt, double[] dy) {
            Output dx = newOutput(spec.inputShape().elementCount());
            double[] gs = new double[2];
            for (int n = 0; n < spec.batch(); n++) {
                for (int c = 0; c < cin; c++) {
                    for (int t = 0; t < taps; t++) {
                        for (int i = 0; i < oh; i++) {
                            for (int j = 0; j < ow; j++) {
                                double py = py(n, c, t, i, j);
                                double px = px(n, c, t, i, j);
                                if (!inside(py, px)) continue;
                                gather(wt, dy, n, c, t, i, j, gs);
                                double m = maskAt(n, c, t, i, j);
                                int y0 = (int) Math.floor(py);
                                int x0 = (int) Math.floor(px);
                                double ly = py - y0;
                                double lx = px - x0;
                                scatter(dx, n, c, y0, x0, (1 - ly) * (1 - lx), gs, m);
                                scatter(dx, n, c, y0, x0 + 1, (1 - ly) * lx, gs, m);
                                scatter(dx, n, c, y0 + 1, x0, ly * (1 - lx), gs, m);
                                scatter(dx, n, c, y0 + 1, x0 + 1, ly * lx, gs, m);
                            }
                        }
                    }
                }
            }
            return dx;
        }

        private void scatter(Output dx, int n, int c, int yy, int xx, double weight, double[] gs, double m) {
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) return;
            int idx = ((n * cin + c) * h + yy) * w + xx;
            dx.values()[idx] += gs[0] * m * weight;
            // the interpolation weight itself moves with the sampling position, so bound it by 1
            dx.magnitude()[idx] += gs[1] * Math.abs(m);
        }

        Output backwardWeight(double[] dy) {
            Output dw = newOutput(spec.weightShape().elementCount());
            for (int n = 0; n < spec.batch(); n++) {
                for (int co = 0; co < cout; co++) {
                    int g = co / kg;
                    for (int a = 0; a < cg; a++) {
                        int c = g * cg + a;
                        for (int t = 0; t < taps; t++) {
                            int wi = (co * cg + a) * taps + t;
                            for (int i = 0; i < oh; i++) {
                                for (int j = 0; j < ow; j++) {
                                    int ci = colIndex(n, c, t, i, j);
                                    double d = dy[((n * cout + co) * oh + i) * ow + j];
                                    dw.values()[wi] += d * col[ci];
                                    dw.magnitude()[wi] += Math.abs(d) * colMag[ci];
                                }
                            }
                        }
                    }
                }
            }
            return dw;
        }

        void backwardOffsetMask(double[] wt, double[] dy, Map<Role, Output> out) {
            Output doff = newOutput(spec.offsetShape().elementCount());
            Output dmask = spec.modulated() ? newOutput(spec.maskShape().elementCount()) : null;
            double[] gs = new double[2];
            double[] nb = new double[5];
            for (int n = 0; n < spec.batch(); n++) {
                for (int c = 0; c < cin; c++) {
                    for (int t = 0; t < taps; t++) {
                        for (int i = 0; i < oh; i++) {
                            for (int j = 0; j < ow; j++) {
                                sample(n, c, t, i, j, nb);
                                // no skip where the slopes are zero: a NaN column gradient times 0 is NaN
                                gather(wt, dy, n, c, t, i, j, gs);
                                double m = maskAt(n, c, t, i, j);
                                int oy = offsetIndex(n, c, t, i, j, 0);
                                int ox = offsetIndex(n, c, t, i, j, 1);
                                double offMag = gs[1] * Math.abs(m) * nb[4];
                                doff.values()[oy] += gs[0] * m * nb[1];
                                doff.magnitude()[oy] += offMag;
                                doff.values()[ox] += gs[0] * m * nb[2];
                                doff.magnitude()[ox] += offMag;
                                if (dmask != null) {
                                    int mi = ((n * spec.offsetGroups() * taps + offsetGroup(c) * taps + t) * oh + i) * ow + j;
                                    dmask.values()[mi] += gs[0] * nb[0];
                                    dmask.magnitude()[mi] += gs[1] * nb[3];
                                }
                            }
                        }
                    }
                }
            }
            out.put(Role.DOFFSET, doff);
            if (dmask != null) out.put(Role.DMASK, dmask);
        }
    }
}
