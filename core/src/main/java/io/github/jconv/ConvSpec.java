package io.github.jconv;

import java.util.Arrays;
import java.util.Objects;

/**
 * One convolution problem: operation family, batch, channels, spatial input size and the per-axis
 * parameters. Immutable and validated at construction: a spec that exists has a valid output shape.
 *
 * <p>Shape rules (DESIGN.md): effective kernel k' = d·(k−1)+1; convolution output
 * o = ⌊(i + p_lo + p_hi − k') / s⌋ + 1; transposed output o = s·(i−1) − p_lo − p_hi + k' + op with
 * 0 ≤ op &lt; max(s, d). Weight is [C_out, C_in/g, k…] (transposed: [C_in, C_out/g, k…]). Deformable
 * offsets are [N, 2·G_off·k_h·k_w, o_h, o_w] as (dy, dx) pairs per tap, mask [N, G_off·k_h·k_w, o_h, o_w].
 *
 * <p>{@link #toString()} gives the one-line problem form, {@link #parse(String)} reads it back; see
 * {@link ProblemLine}.
 */
public final class ConvSpec {
    private final ConvType type;
    private final int batch;
    private final int inChannels;
    private final int outChannels;
    private final int groups;
    private final int[] input;
    private final int[] kernel;
    private final int[] stride;
    private final int[] padLo;
    private final int[] padHi;
    private final int[] dilation;
    private final int[] outputPadding;
    private final int[] output;
    private final int offsetGroups;
    private final boolean modulated;
    private final boolean bias;

    private ConvSpec(Builder b) {
        this.type = b.type;
        this.batch = b.batch;
        this.inChannels = b.inChannels;
        this.outChannels = b.outChannels;
        this.groups = b.groups;
        this.offsetGroups = b.offsetGroups;
        this.modulated = b.modulated;
        this.bias = b.bias;
        if (b.input == null) {
            throw new IllegalArgumentException("input = null: the spatial input size is required; e.g. input(56, 56)");
        }
        int rank = b.input.length;
        if (rank < 1 || rank > 3) {
            throw new IllegalArgumentException("input = " + Arrays.toString(b.input)
                    + ": 1, 2 or 3 spatial dimensions are supported; e.g. input(56, 56)");
        }
        if (type == ConvType.DEFORMABLE && rank != 2) {
            throw new IllegalArgumentException("input = " + Arrays.toString(b.input)
                    + ": deformable convolution is 2D only; give two spatial sizes, e.g. input(28, 28)");
        }
        this.input = b.input.clone();
        this.kernel = perAxis("kernel", b.kernel, rank, null);
        this.stride = perAxis("stride", b.stride, rank, 1);
        this.padLo = perAxis("padding_lo", b.padLo, rank, 0);
        this.padHi = perAxis("padding_hi", b.padHi, rank, 0);
        this.dilation = perAxis("dilation", b.dilation, rank, 1);
        int[] op = perAxis("output_padding", b.outputPadding, rank, 0);
        positive("batch", batch, 1);
        positive("in_channels", inChannels, 1);
        positive("out_channels", outChannels, 1);
        for (int a = 0; a < rank; a++) {
            positive(axisName("input", a, rank), input[a], 1);
            positive(axisName("kernel", a, rank), kernel[a], 1);
            positive(axisName("stride", a, rank), stride[a], 1);
            positive(axisName("dilation", a, rank), dilation[a], 1);
            if (padLo[a] < 0 || padHi[a] < 0) {
                throw new IllegalArgumentException(axisName("padding", a, rank) + " = (" + padLo[a] + ", " + padHi[a]
                        + "): padding must be non-negative on both sides; e.g. padding = 0");
            }
        }
        positive("groups", groups, 1);
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("groups = " + groups + ": must divide in_channels (" + inChannels
                    + ") and out_channels (" + outChannels + "); e.g. groups = "
                    + largestDivisorAtMost(gcd(inChannels, outChannels), groups));
        }
        if (type == ConvType.DEFORMABLE) {
            positive("offset_groups", offsetGroups, 1);
            if (inChannels % offsetGroups != 0) {
                throw new IllegalArgumentException("offset_groups = " + offsetGroups + ": must divide in_channels ("
                        + inChannels + "); e.g. offset_groups = " + largestDivisorAtMost(inChannels, offsetGroups));
            }
        } else if (offsetGroups != 1 || modulated) {
            throw new IllegalArgumentException("offset_groups = " + offsetGroups + ", mask = " + modulated
                    + ": offsets and masks belong to deformable convolution only; use ConvType.DEFORMABLE or leave them unset");
        }
        boolean anyOp = false;
        for (int v : op) anyOp |= v != 0;
        if (anyOp && type != ConvType.TRANSPOSED) {
            throw new IllegalArgumentException("output_padding = " + Arrays.toString(op)
                    + ": output_padding applies to transposed convolution only; use 0 or ConvType.TRANSPOSED");
        }
        this.output = new int[rank];
        for (int a = 0; a < rank; a++) {
            long kEff = (long) dilation[a] * (kernel[a] - 1) + 1;
            long o;
            if (type == ConvType.TRANSPOSED) {
                int limit = Math.max(stride[a], dilation[a]);
                if (op[a] < 0 || op[a] >= limit) {
                    throw new IllegalArgumentException(axisName("output_padding", a, rank) + " = " + op[a]
                            + ": must satisfy 0 <= output_padding < max(stride, dilation) = " + limit
                            + " (output = stride*(input-1) - pad_lo - pad_hi + dilation*(kernel-1) + 1 + output_padding); valid range 0.."
                            + (limit - 1) + ", e.g. output_padding = 0");
                }
                o = (long) stride[a] * (input[a] - 1) - padLo[a] - padHi[a] + kEff + op[a];
                if (o < 1) {
                    throw new IllegalArgumentException(axisName("padding", a, rank) + " = (" + padLo[a] + ", " + padHi[a]
                            + "): transposed output = stride*(input-1) - pad_lo - pad_hi + dilation*(kernel-1) + 1 + output_padding = "
                            + o + " must be at least 1; e.g. padding = 0");
                }
            } else {
                long padded = (long) input[a] + padLo[a] + padHi[a];
                if (kEff > padded) {
                    throw new IllegalArgumentException(axisName("kernel", a, rank) + " = " + kernel[a]
                            + ": effective kernel dilation*(kernel-1)+1 = " + kEff + " exceeds padded input input+pad_lo+pad_hi = "
                            + padded + "; e.g. kernel = " + Math.max(1, (padded - 1) / dilation[a] + 1)
                            + " or padding = " + ((kEff - input[a] + 1) / 2));
                }
                o = (padded - kEff) / stride[a] + 1;
            }
            if (o > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(axisName("output", a, rank) + " = " + o
                        + ": an output dimension must fit in an int (max " + Integer.MAX_VALUE + "); use a smaller input or larger stride");
            }
            output[a] = (int) o;
        }
        this.outputPadding = op;
        // Every tensor of the problem must have an element count within long: Shape checks it.
        inputShape();
        weightShape();
        outputShape();
        if (type == ConvType.DEFORMABLE) {
            offsetShape();
            maskShape();
        }
    }

    // ---- construction ----

    public static Builder builder(ConvType type) {
        return new Builder(Objects.requireNonNull(type, "type"));
    }

    public static Builder convolution() {
        return new Builder(ConvType.CONVOLUTION);
    }

    public static Builder transposed() {
        return new Builder(ConvType.TRANSPOSED);
    }

    public static Builder deformable() {
        return new Builder(ConvType.DEFORMABLE);
    }

    /** Parses the one-line problem form (see {@link ProblemLine}). */
    public static ConvSpec parse(String line) {
        return ProblemLine.parse(line);
    }

    /** A builder holding this spec's values, to derive a variant. */
    public Builder toBuilder() {
        Builder b = new Builder(type).batch(batch).channels(inChannels, outChannels).groups(groups)
                .input(input).kernel(kernel).stride(stride).paddingLo(padLo).paddingHi(padHi).dilation(dilation)
                .bias(bias);
        if (type == ConvType.TRANSPOSED) b.outputPadding(outputPadding);
        if (type == ConvType.DEFORMABLE) b.offsetGroups(offsetGroups).mask(modulated);
        return b;
    }

    /** The same layer applied to another input: {@code x} is [N, C_in, spatial…]. */
    public ConvSpec withInput(Shape x) {
        if (x == null) throw new IllegalArgumentException("x = null: pass the input shape, e.g. " + inputShape());
        if (x.rank() != rank() + 2 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("x shape = " + x + ": must be [N, " + inChannels + ", " + rank()
                    + " spatial dims]; e.g. " + inputShape());
        }
        int[] d = x.dims();
        return toBuilder().batch(d[0]).input(Arrays.copyOfRange(d, 2, d.length)).build();
    }

    // ---- accessors ----

    public ConvType type() { return type; }
    public int rank() { return input.length; }
    public int batch() { return batch; }
    public int inChannels() { return inChannels; }
    public int outChannels() { return outChannels; }
    public int groups() { return groups; }
    public int offsetGroups() { return offsetGroups; }
    public boolean modulated() { return modulated; }
    public boolean bias() { return bias; }
    public boolean depthwise() { return groups == inChannels && groups > 1; }

    public int[] input() { return input.clone(); }
    public int[] kernel() { return kernel.clone(); }
    public int[] stride() { return stride.clone(); }
    public int[] paddingLo() { return padLo.clone(); }
    public int[] paddingHi() { return padHi.clone(); }
    public int[] dilation() { return dilation.clone(); }
    public int[] outputPadding() { return outputPadding.clone(); }
    public int[] output() { return output.clone(); }

    public int input(int axis) { return input[axis]; }
    public int kernel(int axis) { return kernel[axis]; }
    public int stride(int axis) { return stride[axis]; }
    public int paddingLo(int axis) { return padLo[axis]; }
    public int paddingHi(int axis) { return padHi[axis]; }
    public int dilation(int axis) { return dilation[axis]; }
    public int outputPadding(int axis) { return outputPadding[axis]; }
    public int output(int axis) { return output[axis]; }

    /** d·(k−1)+1 on this axis. */
    public long effectiveKernel(int axis) {
        return (long) dilation[axis] * (kernel[axis] - 1) + 1;
    }

    public long kernelVolume() {
        return product(kernel);
    }

    public long inputSpatial() {
        return product(input);
    }

    public long outputSpatial() {
        return product(output);
    }

    // ---- shapes ----

    public Shape inputShape() {
        return Shape.of(concat(batch, inChannels, input));
    }

    public Shape outputShape() {
        return Shape.of(concat(batch, outChannels, output));
    }

    public Shape weightShape() {
        return type == ConvType.TRANSPOSED
                ? Shape.of(concat(inChannels, outChannels / groups, kernel))
                : Shape.of(concat(outChannels, inChannels / groups, kernel));
    }

    public Shape biasShape() {
        return Shape.of(outChannels);
    }

    /** [N, 2·G_off·k_h·k_w, o_h, o_w]; deformable only. */
    public Shape offsetShape() {
        requireDeformable("offset");
        return Shape.of(batch, Math.toIntExact(2L * offsetGroups * kernelVolume()), output[0], output[1]);
    }

    /** [N, G_off·k_h·k_w, o_h, o_w]; deformable only. */
    public Shape maskShape() {
        requireDeformable("mask");
        return Shape.of(batch, Math.toIntExact((long) offsetGroups * kernelVolume()), output[0], output[1]);
    }

    private void requireDeformable(String what) {
        if (type != ConvType.DEFORMABLE) {
            throw new IllegalArgumentException(what + ": only deformable convolution has one; this spec is " + type);
        }
    }

    // ---- counts ----

    /** Multiply-adds counted as two FLOPs, for the forward pass (PROBLEMS.md's convention). */
    public long forwardFlops() {
        if (type == ConvType.TRANSPOSED) {
            return 2L * batch * inChannels * inputSpatial() * (outChannels / groups) * kernelVolume();
        }
        return 2L * batch * outChannels * outputSpatial() * (inChannels / groups) * kernelVolume();
    }

    /** Weight elements plus bias elements. */
    public long parameterCount() {
        return weightShape().elementCount() + (bias ? outChannels : 0);
    }

    @Override
    public String toString() {
        return ProblemLine.format(this);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ConvSpec s)) return false;
        return type == s.type && batch == s.batch && inChannels == s.inChannels && outChannels == s.outChannels
                && groups == s.groups && offsetGroups == s.offsetGroups && modulated == s.modulated && bias == s.bias
                && Arrays.equals(input, s.input) && Arrays.equals(kernel, s.kernel) && Arrays.equals(stride, s.stride)
                && Arrays.equals(padLo, s.padLo) && Arrays.equals(padHi, s.padHi) && Arrays.equals(dilation, s.dilation)
                && Arrays.equals(outputPadding, s.outputPadding);
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    // ---- helpers ----

    private static long product(int[] a) {
        long p = 1;
        for (int v : a) p *= v;
        return p;
    }

    private static int[] concat(int a, int b, int[] rest) {
        int[] r = new int[rest.length + 2];
        r[0] = a;
        r[1] = b;
        System.arraycopy(rest, 0, r, 2, rest.length);
        return r;
    }

    static String axisName(String param, int axis, int rank) {
        return rank == 1 ? param : param + "[" + axis + "]";
    }

    private static void positive(String name, int v, int example) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " = " + v + ": must be positive; e.g. " + name + " = " + example);
        }
    }

    private static int[] perAxis(String name, int[] v, int rank, Integer dflt) {
        if (v == null) {
            if (dflt == null) {
                throw new IllegalArgumentException(name + " = null: required, one value per spatial axis (" + rank
                        + "); e.g. " + name + " = 3");
            }
            int[] r = new int[rank];
            Arrays.fill(r, dflt);
            return r;
        }
        if (v.length == 1 && rank > 1) {
            int[] r = new int[rank];
            Arrays.fill(r, v[0]);
            return r;
        }
        if (v.length != rank) {
            throw new IllegalArgumentException(name + " = " + Arrays.toString(v) + ": rank mismatch, the input has "
                    + rank + " spatial dimension(s); give 1 or " + rank + " values, e.g. " + name + " = "
                    + Arrays.toString(Arrays.copyOf(v, rank)));
        }
        return v.clone();
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    private static int largestDivisorAtMost(int n, int limit) {
        for (int d = Math.max(1, Math.min(n, limit)); d > 1; d--) {
            if (n % d == 0) return d;
        }
        return 1;
    }

    /** Collects a spec's values; {@link #build()} validates them. Single values broadcast to every axis. */
    public static final class Builder {
        private final ConvType type;
        private int batch = 1;
        private int inChannels = -1;
        private int outChannels = -1;
        private int groups = 1;
        private int offsetGroups = 1;
        private boolean modulated;
        private boolean bias = true;
        private int[] input;
        private int[] kernel;
        private int[] stride;
        private int[] padLo;
        private int[] padHi;
        private int[] dilation;
        private int[] outputPadding;
        private int[] outputSize;

        private Builder(ConvType type) {
            this.type = type;
        }

        public Builder batch(int n) { this.batch = n; return this; }
        public Builder channels(int in, int out) { this.inChannels = in; this.outChannels = out; return this; }
        public Builder inChannels(int c) { this.inChannels = c; return this; }
        public Builder outChannels(int c) { this.outChannels = c; return this; }
        public Builder groups(int g) { this.groups = g; return this; }
        /** Depthwise: groups = in_channels (call after {@link #channels}). */
        public Builder depthwise() { this.groups = inChannels; return this; }
        public Builder input(int... spatial) { this.input = copy("input", spatial); return this; }
        public Builder kernel(int... k) { this.kernel = copy("kernel", k); return this; }
        public Builder stride(int... s) { this.stride = copy("stride", s); return this; }
        /** Same padding on both sides of each axis. */
        public Builder padding(int... p) { this.padLo = copy("padding", p); this.padHi = copy("padding", p); return this; }
        public Builder paddingLo(int... p) { this.padLo = copy("padding_lo", p); return this; }
        public Builder paddingHi(int... p) { this.padHi = copy("padding_hi", p); return this; }
        public Builder dilation(int... d) { this.dilation = copy("dilation", d); return this; }
        /** Transposed only. */
        public Builder outputPadding(int... op) { this.outputPadding = copy("output_padding", op); return this; }
        /** Transposed only: the output size wanted; output_padding is derived from it. */
        public Builder outputSize(int... o) { this.outputSize = copy("output_size", o); return this; }
        /** Deformable only: offset groups (1 by default). */
        public Builder offsetGroups(int g) { this.offsetGroups = g; return this; }
        /** Deformable only: true for v2 (modulation mask), false for v1. */
        public Builder mask(boolean m) { this.modulated = m; return this; }
        public Builder bias(boolean b) { this.bias = b; return this; }

        private static int[] copy(String name, int[] v) {
            if (v == null) throw new IllegalArgumentException(name + " = null: give at least one value, e.g. " + name + "(1)");
            if (v.length == 0) throw new IllegalArgumentException(name + " = []: give at least one value, e.g. " + name + "(1)");
            return v.clone();
        }

        public ConvSpec build() {
            if (inChannels == -1 || outChannels == -1) {
                throw new IllegalArgumentException("channels = unset: in_channels and out_channels are required; e.g. channels(64, 64)");
            }
            if (outputSize != null) {
                if (type != ConvType.TRANSPOSED) {
                    throw new IllegalArgumentException("output_size = " + Arrays.toString(outputSize)
                            + ": a requested output size applies to transposed convolution only");
                }
                if (outputPadding != null) {
                    throw new IllegalArgumentException("output_size = " + Arrays.toString(outputSize)
                            + ": give output_size or output_padding, not both");
                }
                // derive output_padding arithmetically; the spec built below validates everything else
                if (input == null) {
                    throw new IllegalArgumentException("input = null: the spatial input size is required; e.g. input(28, 28)");
                }
                int rank = input.length;
                int[] want = perAxis("output_size", outputSize, rank, null);
                int[] k = perAxis("kernel", kernel, rank, null);
                int[] s = perAxis("stride", stride, rank, 1);
                int[] lo = perAxis("padding_lo", padLo, rank, 0);
                int[] hi = perAxis("padding_hi", padHi, rank, 0);
                int[] d = perAxis("dilation", dilation, rank, 1);
                int[] op = new int[rank];
                for (int a = 0; a < rank; a++) {
                    long base = (long) s[a] * (input[a] - 1) - lo[a] - hi[a] + (long) d[a] * (k[a] - 1) + 1;
                    int limit = Math.max(s[a], d[a]);
                    long extra = want[a] - base;
                    if (extra < 0 || extra >= limit) {
                        throw new IllegalArgumentException(axisName("output_size", a, rank) + " = " + want[a]
                                + ": reachable sizes are stride*(input-1) - pad_lo - pad_hi + dilation*(kernel-1) + 1 + output_padding with 0 <= output_padding < "
                                + limit + ", i.e. " + base + ".." + (base + limit - 1)
                                + "; e.g. output_size = " + Math.max(1, base + limit - 1));
                    }
                    op[a] = (int) extra;
                }
                Builder b = copyOf();
                b.outputSize = null;
                b.outputPadding = op;
                return new ConvSpec(b);
            }
            return new ConvSpec(this);
        }

        private Builder copyOf() {
            Builder b = new Builder(type);
            b.batch = batch;
            b.inChannels = inChannels;
            b.outChannels = outChannels;
            b.groups = groups;
            b.offsetGroups = offsetGroups;
            b.modulated = modulated;
            b.bias = bias;
            b.input = input;
            b.kernel = kernel;
            b.stride = stride;
            b.padLo = padLo;
            b.padHi = padHi;
            b.dilation = dilation;
            b.outputPadding = outputPadding;
            b.outputSize = outputSize;
            return b;
        }
    }
}
