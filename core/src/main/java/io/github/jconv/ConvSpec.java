package io.github.jconv;

import java.util.Arrays;
import java.util.Objects;

/**
 * One convolution problem: operation family, batch, channels, spatial input size and the per-axis
 * parameters. Immutable and validated at construction: a spec that exists has a valid output shape.
 *
 * <p>Shape rules, per spatial axis, as in PyTorch: the effective kernel is k' = d·(k−1)+1 (d = 1 is
 * dense); a convolution's output is o = ⌊(i + p_lo + p_hi − k') / s⌋ + 1 and needs k' ≤ i + p_lo + p_hi;
 * a transposed convolution's output is o = s·(i−1) − p_lo − p_hi + k' + op with 0 ≤ op &lt; max(s, d)
 * and o ≥ 1. The weight is [C_out, C_in/g, k…] (transposed: [C_in, C_out/g, k…]); g divides both
 * channel counts. Deformable offsets are [N, 2·G_off·k_h·k_w, o_h, o_w] as (dy, dx) pairs per tap, the
 * mask [N, G_off·k_h·k_w, o_h, o_w]; G_off divides C_in.
 *
 * <p>Sizes: every dimension of every tensor is an int, every element count and
 * {@link #forwardFlops()}·3 (forward plus both backward passes) fit in a long; a spec that breaks one
 * of these is refused with an {@link IllegalArgumentException}. A batch of 0 is allowed (empty input
 * and output, as in PyTorch); such a spec is valid exactly when the same spec with batch 1 is.
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
        if (batch < 0) {
            throw new IllegalArgumentException("batch = " + batch
                    + ": must be non-negative (0 is an empty batch); e.g. batch = 1");
        }
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
                    // kernel k with d·(k−1)+1 <= padded; or padding p on both sides with input + 2p >= k'
                    long pad = (kEff - input[a] + 1) / 2;
                    throw new IllegalArgumentException(axisName("kernel", a, rank) + " = " + kernel[a]
                            + ": effective kernel dilation*(kernel-1)+1 = " + kEff + " exceeds padded input input+pad_lo+pad_hi = "
                            + padded + "; e.g. kernel = " + Math.max(1, (padded - 1) / dilation[a] + 1)
                            + (pad <= Integer.MAX_VALUE ? " or padding = " + pad : ""));
                }
                o = (padded - kEff) / stride[a] + 1;
            }
            if (o > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(axisName("output", a, rank) + " = " + o
                        + ": an output dimension must fit in an int (max " + Integer.MAX_VALUE + "); "
                        + outputTooLargeFix(a, rank, op[a]));
            }
            output[a] = (int) o;
        }
        this.outputPadding = op;
        checkSizes();
    }

    /** A fix for an output dimension beyond int: a larger stride (convolution) or a smaller input (transposed). */
    private String outputTooLargeFix(int a, int rank, int op) {
        long kEff = effectiveKernel(a);
        if (type != ConvType.TRANSPOSED) {
            long span = (long) input[a] + padLo[a] + padHi[a] - kEff;
            long s = (span + Integer.MAX_VALUE - 2) / (Integer.MAX_VALUE - 1);  // ⌊span/s⌋ + 1 <= MAX
            return "e.g. " + axisName("stride", a, rank) + " = " + s;
        }
        // s·(i'−1) − p_lo − p_hi + k' + op <= MAX
        long room = (long) Integer.MAX_VALUE - kEff - op + padLo[a] + padHi[a];
        if (room >= 0) return "e.g. " + axisName("input", a, rank) + " = " + (room / stride[a] + 1);
        return "use a smaller kernel or dilation";
    }

    /**
     * Every tensor's element count, the offset and mask channel counts and 3·forward FLOPs within their
     * types: first for one sample (so that a batch of 0 hides nothing), then for the batch, whose
     * suggested value satisfies every one of these rules at once.
     */
    private void checkSizes() {
        String transposedWeight = "[in_channels, out_channels/groups, kernel...]";
        String plainWeight = "[out_channels, in_channels/groups, kernel...]";
        if (perSample(weightShapeDims(), 0) < 0) {
            throw new IllegalArgumentException("weight shape " + Arrays.toString(weightShapeDims())
                    + ": element count overflows long (max " + Long.MAX_VALUE + "); the weight is "
                    + (type == ConvType.TRANSPOSED ? transposedWeight : plainWeight)
                    + ", use fewer channels, more groups or a smaller kernel");
        }
        java.util.List<String> tensors = new java.util.ArrayList<>(java.util.List.of("input", "output"));
        java.util.List<int[]> dims = new java.util.ArrayList<>(java.util.List.of(
                concat(batch, inChannels, input), concat(batch, outChannels, output)));
        if (type == ConvType.DEFORMABLE) {
            long taps = kernelVolume();  // k_h·k_w, each an int: no overflow
            long limit = Integer.MAX_VALUE / (2L * offsetGroups);
            if (taps > limit) {
                String fix;
                if (2 * taps <= Integer.MAX_VALUE) {
                    fix = "offset_groups = " + largestDivisorAtMost(inChannels, (int) (Integer.MAX_VALUE / (2 * taps)));
                } else {
                    // a square kernel side with 2·offset_groups·side² within int; offset_groups 1 if even 1×1 is too many
                    long room = limit >= 1 ? limit : Integer.MAX_VALUE / 2;
                    int side = (int) Math.sqrt((double) room);
                    while ((long) side * side > room) side--;
                    fix = (limit >= 1 ? "" : "offset_groups = 1 and ") + "kernel = "
                            + Arrays.toString(new int[] {Math.min(kernel[0], side), Math.min(kernel[1], side)});
                }
                throw new IllegalArgumentException("kernel = " + Arrays.toString(kernel) + " with offset_groups = "
                        + offsetGroups + ": the offset tensor [N, 2·offset_groups·kh·kw, oh, ow] would have "
                        + (2L * offsetGroups * taps) + " channels, more than an int dimension holds (" + Integer.MAX_VALUE
                        + "); e.g. " + fix);
            }
            tensors.add("offset");
            dims.add(new int[] {batch, (int) (2L * offsetGroups * taps), output[0], output[1]});
            tensors.add("mask");
            dims.add(new int[] {batch, (int) (offsetGroups * taps), output[0], output[1]});
        }
        long maxBatch = Long.MAX_VALUE;
        String limiting = null;
        for (int i = 0; i < tensors.size(); i++) {
            long per = perSample(dims.get(i), 1);
            if (per < 0) {
                throw new IllegalArgumentException(tensors.get(i) + " shape " + Arrays.toString(dims.get(i))
                        + ": element count overflows long even for one sample (max " + Long.MAX_VALUE
                        + "); use fewer channels or a smaller " + (tensors.get(i).equals("input") ? "input" : "output"));
            }
            if (Long.MAX_VALUE / per < maxBatch) {
                maxBatch = Long.MAX_VALUE / per;
                limiting = "the " + tensors.get(i) + " shape " + Arrays.toString(dims.get(i))
                        + ": element count overflows long (max " + Long.MAX_VALUE + ")";
            }
        }
        // FLOPs: 2·N·C_out·out_spatial·(C_in/g)·k (transposed: 2·N·C_in·in_spatial·(C_out/g)·k); three passes.
        long flops = type == ConvType.TRANSPOSED
                ? mul(mul(mul(mul(6, inChannels), inputSpatial()), outChannels / groups), kernelVolume())
                : mul(mul(mul(mul(6, outChannels), outputSpatial()), inChannels / groups), kernelVolume());
        String formula = type == ConvType.TRANSPOSED ? "2·batch·in_channels·input·(out_channels/groups)·kernel"
                : "2·batch·out_channels·output·(in_channels/groups)·kernel";
        if (flops < 0) {
            throw new IllegalArgumentException("forward FLOPs = " + formula + " with batch 1: more than a long holds "
                    + "three times (forward and both backward passes, max " + Long.MAX_VALUE + "); use fewer channels, "
                    + "a smaller kernel or a smaller " + (type == ConvType.TRANSPOSED ? "input" : "output"));
        }
        if (Long.MAX_VALUE / flops < maxBatch) {
            maxBatch = Long.MAX_VALUE / flops;
            limiting = "the forward FLOPs " + formula + " = " + batch + " x " + (flops / 3)
                    + " do not fit three times (forward and both backward passes) in a long (max " + Long.MAX_VALUE + ")";
        }
        if (batch > maxBatch) {
            throw new IllegalArgumentException("batch = " + batch + ": " + limiting + "; e.g. batch = " + maxBatch);
        }
    }

    private int[] weightShapeDims() {
        return type == ConvType.TRANSPOSED ? concat(inChannels, outChannels / groups, kernel)
                : concat(outChannels, inChannels / groups, kernel);
    }

    /** The product of dims[from..], or −1 when it overflows a long. */
    private static long perSample(int[] dims, int from) {
        long p = 1;
        for (int i = from; i < dims.length; i++) p = mul(p, dims[i]);
        return p;
    }

    /** a·b for non-negative a and b, or −1 when the product overflows a long (or a is already −1). */
    private static long mul(long a, long b) {
        if (a < 0 || b < 0) return -1;
        if (a != 0 && b > Long.MAX_VALUE / a) return -1;
        return a * b;
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
        return Shape.named("input", concat(batch, inChannels, input));
    }

    public Shape outputShape() {
        return Shape.named("output", concat(batch, outChannels, output));
    }

    public Shape weightShape() {
        return type == ConvType.TRANSPOSED
                ? Shape.named("weight", concat(inChannels, outChannels / groups, kernel))
                : Shape.named("weight", concat(outChannels, inChannels / groups, kernel));
    }

    public Shape biasShape() {
        return Shape.of(outChannels);
    }

    /** [N, 2·G_off·k_h·k_w, o_h, o_w]; deformable only. */
    public Shape offsetShape() {
        requireDeformable("offset");
        return Shape.named("offset", batch, (int) (2L * offsetGroups * kernelVolume()), output[0], output[1]);
    }

    /** [N, G_off·k_h·k_w, o_h, o_w]; deformable only. */
    public Shape maskShape() {
        requireDeformable("mask");
        return Shape.named("mask", batch, (int) ((long) offsetGroups * kernelVolume()), output[0], output[1]);
    }

    private void requireDeformable(String what) {
        if (type != ConvType.DEFORMABLE) {
            throw new IllegalArgumentException(what + ": only deformable convolution has one; this spec is " + type);
        }
    }

    // ---- counts ----

    /**
     * FLOPs of the forward pass, a multiply-add counting as two: 2·N·C_out·o…·(C_in/g)·k… (transposed:
     * counted on the input side, 2·N·C_in·i…·(C_out/g)·k…). Never overflows: the spec checks it.
     */
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
                    + Arrays.toString(fitRank(name, v, rank)));
        }
        return v.clone();
    }

    /**
     * {@code v} cut or extended (repeating its last value) to {@code rank} values, each raised to the
     * parameter's least valid value (0 for paddings, 1 otherwise): a suggestion that satisfies the rank rule.
     */
    static int[] fitRank(String name, int[] v, int rank) {
        int least = name.contains("padding") ? 0 : 1;
        int[] r = new int[rank];
        for (int a = 0; a < rank; a++) r[a] = Math.max(least, v[Math.min(a, v.length - 1)]);
        return r;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /** The largest divisor of n (n >= 1) that is at most limit, or 1; O(sqrt n), whatever n is. */
    static int largestDivisorAtMost(int n, int limit) {
        int best = 1;
        for (int d = 1; (long) d * d <= n; d++) {
            if (n % d != 0) continue;
            if (d <= limit) best = Math.max(best, d);
            int q = n / d;
            if (q <= limit) best = Math.max(best, q);
        }
        return best;
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
        private boolean same;

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
        /** Same padding on both sides of each axis. Replaces an earlier {@link #paddingSame()}. */
        public Builder padding(int... p) {
            this.padLo = copy("padding", p);
            this.padHi = copy("padding", p);
            this.same = false;
            return this;
        }
        /** Low-side padding of each axis. Replaces an earlier {@link #paddingSame()} (high side then 0 unless given). */
        public Builder paddingLo(int... p) { this.padLo = copy("padding_lo", p); this.same = false; return this; }
        /** High-side padding of each axis. Replaces an earlier {@link #paddingSame()} (low side then 0 unless given). */
        public Builder paddingHi(int... p) { this.padHi = copy("padding_hi", p); this.same = false; return this; }
        /**
         * PyTorch's {@code padding='same'}: the output has the input's size. Per axis the total padding is
         * dilation·(kernel−1), the low side gets half of it rounded down, the high side the rest (so an odd
         * total puts the extra one on the high side). Resolved when built: the spec holds the per-side values.
         * Convolution only, and only with stride 1, as in PyTorch; a transposed or deformable builder refuses
         * it at {@link #build()} with the explicit values to use instead. Replaces earlier padding calls, and
         * a later padding call replaces it.
         */
        public Builder paddingSame() {
            this.same = true;
            this.padLo = null;
            this.padHi = null;
            return this;
        }
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
            if (same) return resolveSame().build();
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
                        // sizes below 1 are no outputs: then only less padding helps (padding 0 gives base >= 1)
                        String fix = base + limit - 1 >= 1 ? "output_size = " + (base + limit - 1) : "padding = 0";
                        throw new IllegalArgumentException(axisName("output_size", a, rank) + " = " + want[a]
                                + ": reachable sizes are stride*(input-1) - pad_lo - pad_hi + dilation*(kernel-1) + 1 + output_padding with 0 <= output_padding < "
                                + limit + ", i.e. " + base + ".." + (base + limit - 1) + "; e.g. " + fix);
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

        /** A copy with {@code padding='same'} replaced by its per-side values (convolution, stride 1). */
        private Builder resolveSame() {
            if (input == null) {
                throw new IllegalArgumentException("input = null: the spatial input size is required; e.g. input(56, 56)");
            }
            int rank = input.length;
            int[] k = perAxis("kernel", kernel, rank, null);
            int[] s = perAxis("stride", stride, rank, 1);
            int[] d = perAxis("dilation", dilation, rank, 1);
            int[] lo = new int[rank];
            int[] hi = new int[rank];
            boolean strided = false;
            for (int a = 0; a < rank; a++) {
                if (k[a] < 1 || d[a] < 1 || s[a] < 1) return copyWithout();  // the spec names the bad value
                long total = (long) d[a] * (k[a] - 1);
                if (total / 2 > Integer.MAX_VALUE || total - total / 2 > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(axisName("kernel", a, rank) + " = " + k[a] + ", "
                            + axisName("dilation", a, rank) + " = " + d[a] + ": padding = same needs dilation*(kernel-1) = "
                            + total + " in total, more than an int per side holds; e.g. dilation = 1");
                }
                lo[a] = (int) (total / 2);
                hi[a] = (int) (total - total / 2);
                strided |= s[a] != 1;
            }
            String explicit = "paddingLo(" + list(lo) + ").paddingHi(" + list(hi) + ")";
            if (type == ConvType.TRANSPOSED) {
                // The transposed counterpart of 'same' (TensorFlow's): output = stride·input. With
                // P = max(0, k'−s) in total and op = max(0, s−k'), s·(i−1) − P + k' + op = s·i.
                int[] tlo = new int[rank];
                int[] thi = new int[rank];
                int[] op = new int[rank];
                for (int a = 0; a < rank; a++) {
                    long kEff = (long) d[a] * (k[a] - 1) + 1;
                    long p = Math.max(0, kEff - s[a]);
                    tlo[a] = (int) Math.min(Integer.MAX_VALUE, p / 2);
                    thi[a] = (int) Math.min(Integer.MAX_VALUE, p - p / 2);
                    op[a] = (int) Math.max(0, s[a] - kEff);
                }
                throw new IllegalArgumentException("padding = same: transposed convolution has no 'same' padding "
                        + "(PyTorch's ConvTranspose refuses it); for output = stride*input use paddingLo(" + list(tlo)
                        + ").paddingHi(" + list(thi) + ").outputPadding(" + list(op)
                        + "), or ask for a size with outputSize(...)");
            }
            if (type == ConvType.DEFORMABLE) {
                throw new IllegalArgumentException("padding = same: deformable convolution has no 'same' padding "
                        + "(torchvision's deform_conv2d takes numbers only); give what it would be for a plain "
                        + "convolution explicitly: " + explicit + (strided ? "" : " keeps the input size"));
            }
            if (strided) {
                throw new IllegalArgumentException("padding = same: not supported for strided convolutions (stride = "
                        + Arrays.toString(s) + "), as in PyTorch; e.g. stride(1), or the same per-side padding explicitly: "
                        + explicit);
            }
            Builder b = copyWithout();
            b.padLo = lo;
            b.padHi = hi;
            return b;
        }

        private Builder copyWithout() {
            Builder b = copyOf();
            b.same = false;
            return b;
        }

        private static String list(int[] v) {
            StringBuilder b = new StringBuilder();
            for (int x : v) b.append(b.length() == 0 ? "" : ", ").append(x);
            return b.toString();
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
