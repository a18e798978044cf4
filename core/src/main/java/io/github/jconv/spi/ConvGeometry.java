package io.github.jconv.spi;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;

import java.util.Arrays;

/**
 * The one geometry every backend runs: a {@link ConvSpec} seen as a convolution in three spatial axes
 * (depth, height, width). 1D and 2D problems get leading axes of size 1 (stride 1, padding 0,
 * dilation 1), and a transposed spec becomes the convolution it is the adjoint of: its input is the
 * transposed op's output, its channels are swapped, so the transposed forward runs this geometry's
 * backward-data path and the transposed data gradient its forward path ({@link #fromTransposed()}).
 *
 * <p>Computed once per spec ({@link #of(ConvSpec)}), immutable, with the predicates ATen's
 * {@code ConvParams} gives its kernel choice ({@link #pointwise()}, {@link #depthwise()},
 * {@link #strided()}, {@link #dilated()}, {@link #adjointIsConvolution()}, {@link #splitsIntoPhases()})
 * and element counts that refuse to overflow. Axis arguments are 0 (depth), 1 (height), 2 (width).
 */
public final class ConvGeometry {
    private final int batch;
    private final int c;
    private final int k;
    private final int groups;
    private final int[] in;
    private final int[] out;
    private final int[] kernel;
    private final int[] stride;
    private final int[] pad;
    private final int[] dilation;
    private final int offsetGroups;
    private final boolean modulated;
    private final boolean deformable;
    private final boolean fromTransposed;

    private ConvGeometry(int batch, int c, int k, int groups, int[] in, int[] out, int[] kernel, int[] stride, int[] pad,
                         int[] dilation, int offsetGroups, boolean modulated, boolean deformable, boolean fromTransposed) {
        this.batch = batch;
        this.c = c;
        this.k = k;
        this.groups = groups;
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.pad = pad;
        this.dilation = dilation;
        this.offsetGroups = offsetGroups;
        this.modulated = modulated;
        this.deformable = deformable;
        this.fromTransposed = fromTransposed;
    }

    /** The convolution geometry of {@code spec}; for a transposed spec, that of the convolution it is the adjoint of. */
    public static ConvGeometry of(ConvSpec spec) {
        if (spec == null) throw new IllegalArgumentException("spec = null: pass a ConvSpec, e.g. ConvSpec.convolution()...build()");
        boolean tr = spec.type() == ConvType.TRANSPOSED;
        boolean def = spec.type() == ConvType.DEFORMABLE;
        int r = spec.rank();
        return new ConvGeometry(spec.batch(), tr ? spec.outChannels() : spec.inChannels(), tr ? spec.inChannels() : spec.outChannels(),
                spec.groups(), lift(tr ? spec.output() : spec.input(), r, 1), lift(tr ? spec.input() : spec.output(), r, 1),
                lift(spec.kernel(), r, 1), lift(spec.stride(), r, 1), lift(spec.paddingLo(), r, 0), lift(spec.dilation(), r, 1),
                def ? spec.offsetGroups() : 1, def && spec.modulated(), def, tr);
    }

    /**
     * A plain convolution of explicit sizes (per axis depth, height, width): {@code in} and {@code out}
     * are the input and output sizes, {@code pad} the leading padding, which may be negative (the
     * input starts later). Used for the sub-problems a backend cuts a pass into (phases, adjoints).
     */
    public static ConvGeometry of(int batch, int inChannels, int outChannels, int groups, int[] in, int[] out, int[] kernel,
                                  int[] stride, int[] pad, int[] dilation) {
        if (batch < 0) throw new IllegalArgumentException("batch = " + batch + ": must be >= 0; e.g. 1");
        positive("inChannels", inChannels);
        positive("outChannels", outChannels);
        positive("groups", groups);
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("groups = " + groups + ": must divide inChannels = " + inChannels
                    + " and outChannels = " + outChannels + "; e.g. 1");
        }
        int[][] axes = {in, out, kernel, stride, pad, dilation};
        String[] names = {"in", "out", "kernel", "stride", "pad", "dilation"};
        for (int i = 0; i < axes.length; i++) {
            if (axes[i] == null || axes[i].length != 3) {
                throw new IllegalArgumentException(names[i] + " = " + Arrays.toString(axes[i])
                        + ": three values (depth, height, width) are required; e.g. {1, 1, 1}");
            }
            if (i != 4) for (int v : axes[i]) if (v < 1) positive(names[i] + " entry", v);
        }
        return new ConvGeometry(batch, inChannels, outChannels, groups, in.clone(), out.clone(), kernel.clone(), stride.clone(),
                pad.clone(), dilation.clone(), 1, false, false, false);
    }

    private static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + " = " + v + ": must be >= 1; e.g. 1");
    }

    /** {@code v} of {@code rank} axes as three: leading axes of value {@code fill}. */
    private static int[] lift(int[] v, int rank, int fill) {
        int[] o = {fill, fill, fill};
        System.arraycopy(v, 0, o, 3 - rank, rank);
        return o;
    }

    public int batch() { return batch; }
    /** Input channels of this convolution (for a transposed spec, the spec's output channels). */
    public int inChannels() { return c; }
    /** Output channels of this convolution (for a transposed spec, the spec's input channels). */
    public int outChannels() { return k; }
    public int groups() { return groups; }
    public int inChannelsPerGroup() { return c / groups; }
    public int outChannelsPerGroup() { return k / groups; }
    public int in(int axis) { return in[axis]; }
    public int out(int axis) { return out[axis]; }
    public int kernel(int axis) { return kernel[axis]; }
    public int stride(int axis) { return stride[axis]; }
    /** Leading padding of an axis (negative in sub-problems whose input starts later). */
    public int pad(int axis) { return pad[axis]; }
    public int dilation(int axis) { return dilation[axis]; }
    /** 1 unless deformable. */
    public int offsetGroups() { return offsetGroups; }
    /** Deformable v2 (a mask multiplies every sample). */
    public boolean modulated() { return modulated; }
    public boolean deformable() { return deformable; }
    /** Whether the spec was transposed: its forward is this geometry's backward data and vice versa. */
    public boolean fromTransposed() { return fromTransposed; }

    /** Kernel taps: kd·kh·kw. */
    public long kernelVolume() { return (long) kernel[0] * kernel[1] * kernel[2]; }
    /** Input positions per channel: d·h·w. */
    public long inSpatial() { return (long) in[0] * in[1] * in[2]; }
    /** Output positions per channel. */
    public long outSpatial() { return (long) out[0] * out[1] * out[2]; }
    /** Rows of one group's column matrix: input channels per group times taps. */
    public long columnRows() { return inChannelsPerGroup() * kernelVolume(); }

    /** Elements of the input tensor, N·C·in; ArithmeticException when that overflows a long. */
    public long inputElements() { return exact(batch, c, inSpatial()); }
    /** Elements of the output tensor, N·K·out; ArithmeticException on overflow. */
    public long outputElements() { return exact(batch, k, outSpatial()); }
    /** Elements of the weight, K·(C/G)·taps; ArithmeticException on overflow. */
    public long weightElements() { return exact(k, inChannelsPerGroup(), kernelVolume()); }
    /** Elements of the column matrix of one batch item, C·taps·out; ArithmeticException on overflow. */
    public long columnElementsPerItem() { return exact(c, kernelVolume(), outSpatial()); }

    /** The product of non-negative factors, or -1 when it overflows a long. */
    public static long productOrMinusOne(long... factors) {
        long p = 1;
        for (long f : factors) {
            if (f != 0 && p > Long.MAX_VALUE / f) return -1;
            p *= f;
        }
        return p;
    }

    private long exact(long... factors) {
        long p = productOrMinusOne(factors);
        if (p < 0) throw new ArithmeticException("element count " + Arrays.toString(factors) + " overflows a long in " + this);
        return p;
    }

    /** 1×1×1 kernel, unit stride, no padding, same size in and out: the input is already the column matrix. */
    public boolean pointwise() {
        return kernelVolume() == 1 && !strided() && pad[0] == 0 && pad[1] == 0 && pad[2] == 0
                && in[0] == out[0] && in[1] == out[1] && in[2] == out[2];
    }

    /** One input and one output channel per group (channel multiplier 1). */
    public boolean depthwise() {
        return c == groups && k == groups;
    }

    /** Some stride above 1. */
    public boolean strided() {
        return stride[0] > 1 || stride[1] > 1 || stride[2] > 1;
    }

    /** Some dilation above 1. */
    public boolean dilated() {
        return dilation[0] > 1 || dilation[1] > 1 || dilation[2] > 1;
    }

    /**
     * Unit stride, and padding at most the effective kernel extent minus one on every axis: then
     * backward data is a plain convolution of dy with the flipped kernel ({@link #adjoint()}).
     */
    public boolean adjointIsConvolution() {
        if (strided()) return false;
        for (int a = 0; a < 3; a++) if ((long) (kernel[a] - 1) * dilation[a] < pad[a]) return false;
        return true;
    }

    /** Dense (no dilation) with some stride above 1: backward data splits into one unit-stride convolution per output phase. */
    public boolean splitsIntoPhases() {
        return !dilated() && strided();
    }

    /**
     * The convolution that computes this one's backward data: dy correlated with the flipped kernel
     * whose channel roles are swapped, padding (k−1)·d − p; only when {@link #adjointIsConvolution()}.
     */
    public ConvGeometry adjoint() {
        if (!adjointIsConvolution()) {
            throw new IllegalStateException("the backward data of " + this + " is not a convolution (strided, or padded beyond "
                    + "the kernel extent); check adjointIsConvolution() first");
        }
        int[] p = new int[3];
        for (int a = 0; a < 3; a++) p[a] = (kernel[a] - 1) * dilation[a] - pad[a];
        return new ConvGeometry(batch, k, c, groups, out.clone(), in.clone(), kernel.clone(), new int[] {1, 1, 1}, p,
                dilation.clone(), 1, false, false, false);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConvGeometry g && batch == g.batch && c == g.c && k == g.k && groups == g.groups
                && Arrays.equals(in, g.in) && Arrays.equals(out, g.out) && Arrays.equals(kernel, g.kernel)
                && Arrays.equals(stride, g.stride) && Arrays.equals(pad, g.pad) && Arrays.equals(dilation, g.dilation)
                && offsetGroups == g.offsetGroups && modulated == g.modulated && deformable == g.deformable
                && fromTransposed == g.fromTransposed;
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(new Object[] {batch, c, k, groups, in, out, kernel, stride, pad, dilation, offsetGroups,
                modulated, deformable, fromTransposed});
    }

    @Override
    public String toString() {
        return "ConvGeometry[n=" + batch + " c=" + c + " k=" + k + " g=" + groups + " in=" + Arrays.toString(in) + " out="
                + Arrays.toString(out) + " kernel=" + Arrays.toString(kernel) + " stride=" + Arrays.toString(stride) + " pad="
                + Arrays.toString(pad) + " dilation=" + Arrays.toString(dilation) + (deformable ? " deformable offsetGroups="
                + offsetGroups + (modulated ? " modulated" : "") : "") + (fromTransposed ? " (adjoint view of a transposed spec)" : "") + "]";
    }
}
