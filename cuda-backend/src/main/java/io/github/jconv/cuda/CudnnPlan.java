package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvGeometry;
import io.github.jconv.spi.Support;

import java.util.Arrays;

/**
 * How one pass of a convolution or transposed convolution maps onto cuDNN's legacy convolution API:
 * a pure function of the spec and the pass, unit-tested without cuDNN.
 *
 * <p>cuDNN speaks of one forward convolution (xc ⋆ w = yc, xc the larger tensor) and its three
 * adjoints. A plain convolution is that problem with xc = x, yc = y. A transposed convolution is
 * its adjoint: xc = y, yc = x, with the weight [C_in, C_out/g, k…] read as cuDNN's [K, C/g, k…];
 * so transposed forward runs cuDNN backward-data, and transposed backward-data runs cuDNN forward.
 *
 * <p>cuDNN pads symmetrically and derives yc's size from xc's. Where jconv's problem does not fit
 * (asymmetric padding; a transposed output_padding of at least the stride), the plan works in a
 * "big" xc domain with zero padding: our xc tensor sits at offset p_lo inside it (big[q] = ours[q − p_lo]),
 * embedded into it before cuDNN reads it, or cropped out of it after cuDNN writes it.
 * 1D runs as 2D with a height of 1; cuDNN wants at least 4 dimensions.
 */
record CudnnPlan(Op op, Role xc, Role w, Role yc, int[] xcDims, int[] wDims, int[] ycDims,
                 int[] pad, int[] stride, int[] dilation, int groups, boolean addBias,
                 int[] ourXcDims, int[] offset) {

    /** The cuDNN call family. */
    enum Op {
        FORWARD("cudnnConvolutionForward"),
        BACKWARD_DATA("cudnnConvolutionBackwardData"),
        BACKWARD_FILTER("cudnnConvolutionBackwardFilter"),
        BACKWARD_BIAS("cudnnConvolutionBackwardBias");

        final String call;

        Op(String call) {
            this.call = call;
        }

        /** Whether the op reads the xc tensor (and so needs it embedded in the big domain). */
        boolean readsXc() {
            return this == FORWARD || this == BACKWARD_FILTER;
        }

        /** Whether the op writes the xc tensor (and so needs it cropped out of the big domain). */
        boolean writesXc() {
            return this == BACKWARD_DATA;
        }
    }

    /** True when xc is staged through a zero-padded big tensor (see the class comment). */
    boolean staged() {
        return offset != null;
    }

    /** Elements of the staged big xc tensor; 0 when not staged. */
    long stagedElements() {
        if (!staged()) return 0;
        long n = 1;
        for (int d : xcDims) n *= d;
        return n;
    }

    /** cuDNN's legacy API indexes with int: every tensor must stay below 2^31 elements. */
    static final long CUDNN_MAX_ELEMENTS = Integer.MAX_VALUE;

    /** Why cuDNN cannot run this spec at all, or yes. Types other than convolution and transposed are not cuDNN's. */
    static Support supports(ConvSpec spec) {
        if (spec.type() == ConvType.DEFORMABLE) return Support.no("deformable convolution runs on jconv's own kernels, not cuDNN");
        if (spec.weightShape().elementCount() > CUDNN_MAX_ELEMENTS) {
            return Support.no("the weight has " + spec.weightShape().elementCount() + " elements, over cuDNN's limit of "
                    + CUDNN_MAX_ELEMENTS + " (int indexing); use fewer channels or a smaller kernel");
        }
        if (batchSlice(spec) == 0) {
            return Support.no("one batch item's tensors exceed cuDNN's limit of " + CUDNN_MAX_ELEMENTS
                    + " elements (int indexing), so even batch slices of 1 cannot run; use a smaller input or fewer channels");
        }
        return Support.yes();
    }

    /**
     * Like {@link #supports(ConvSpec)} for one pass: a convolution whose single batch item is over the
     * limit runs split along its outermost spatial axis ({@link SpatialSplit}), every pass, where that split exists.
     */
    static Support supports(ConvSpec spec, Pass pass) {
        Support all = supports(spec);
        if (all.supported() || spec.type() == ConvType.DEFORMABLE || spec.weightShape().elementCount() > CUDNN_MAX_ELEMENTS) return all;
        SpatialSplit.Plan split = SpatialSplit.plan(spec.toBuilder().batch(1).build(), CUDNN_MAX_ELEMENTS);
        if (!split.possible()) {
            return Support.no("one batch item's tensors exceed cuDNN's limit of " + CUDNN_MAX_ELEMENTS
                    + " elements (int indexing) and cannot be split: " + split.refusal());
        }
        return Support.yes();
    }

    /** Elements per batch item of the largest batch-major tensor (x, y, or the staged xc). */
    private static long largestPerItem(ConvSpec spec) {
        ConvSpec one = spec.batch() == 1 ? spec : spec.toBuilder().batch(1).build(); // batch 0 is valid: measure one item
        long per = Math.max(one.inputShape().elementCount(), one.outputShape().elementCount());
        CudnnPlan p = of(one, Pass.FORWARD);
        if (p.staged()) per = Math.max(per, p.stagedElements());
        return per;
    }

    /**
     * The most batch items one cuDNN call may take so that every tensor stays within int indexing:
     * the whole batch when it fits, else a slice (the runner loops over slices); 0 when not even
     * one item fits.
     */
    static int batchSlice(ConvSpec spec) {
        long per = largestPerItem(spec);
        return (int) Math.min(Math.max(spec.batch(), 1), CUDNN_MAX_ELEMENTS / per);
    }

    /** The plan of {@code pass} (not BACKWARD_OFFSET_MASK) for a convolution or transposed convolution. */
    static CudnnPlan of(ConvSpec spec, Pass pass) {
        if (spec.type() == ConvType.DEFORMABLE) {
            throw new IllegalArgumentException("spec = " + spec + ": cuDNN plans cover convolution and transposed convolution; "
                    + "deformable runs on jconv's own kernels");
        }
        if (pass == Pass.BACKWARD_OFFSET_MASK) {
            throw new IllegalArgumentException("pass = " + pass + ": only deformable convolution has it; use FORWARD..BACKWARD_BIAS");
        }
        // the numbers come from core's one geometry (a transposed spec is already the convolution it is the adjoint of:
        // its in/c are cuDNN's xc side, its out/k the yc side); only the descriptor rank is cuDNN's own (firstAxis)
        ConvGeometry g = ConvGeometry.of(spec);
        boolean transposed = g.fromTransposed();
        int rank = spec.rank();
        int first = firstAxis(rank);
        int sp = 3 - first;
        int xcChannels = g.inChannels();
        int ycChannels = g.outChannels();
        int[] xcSpatial = new int[sp];
        int[] ycSpatial = new int[sp];
        for (int j = 0; j < sp; j++) {
            xcSpatial[j] = g.in(first + j);
            ycSpatial[j] = g.out(first + j);
        }

        boolean symmetric = true;
        for (int a = 0; a < rank; a++) {
            if (spec.paddingLo(a) != spec.paddingHi(a)) symmetric = false;
            // cuDNN derives yc = (xc + 2p - k')/s + 1; an output_padding >= stride breaks that equation
            if (transposed && spec.outputPadding(a) >= spec.stride(a)) symmetric = false;
        }
        int[] bigSpatial = xcSpatial.clone();
        int[] pad = new int[sp];
        int[] offset = null;
        if (symmetric) {
            for (int j = 0; j < sp; j++) pad[j] = g.pad(first + j);
        } else {
            offset = new int[sp];
            for (int j = 0; j < sp; j++) {
                int ax = first + j;
                offset[j] = g.pad(ax);
                // a leading unit axis (1D's height) has no padding: its big size stays 1 either way
                int padHi = ax < 3 - rank ? 0 : spec.paddingHi(ax - (3 - rank));
                long kEff = (long) g.dilation(ax) * (g.kernel(ax) - 1) + 1;
                bigSpatial[j] = transposed
                        ? Math.toIntExact((long) g.stride(ax) * (g.out(ax) - 1) + kEff)
                        : Math.toIntExact((long) g.in(ax) + g.pad(ax) + padHi);
            }
        }
        int[] k = new int[sp];
        int[] stride = new int[sp];
        int[] dilation = new int[sp];
        for (int j = 0; j < sp; j++) {
            k[j] = g.kernel(first + j);
            stride[j] = g.stride(first + j);
            dilation[j] = g.dilation(first + j);
        }

        Op op;
        Role xc;
        Role w;
        Role yc;
        boolean addBias = false;
        switch (pass) {
            case FORWARD -> {
                op = transposed ? Op.BACKWARD_DATA : Op.FORWARD;
                xc = transposed ? Role.Y : Role.X;
                yc = transposed ? Role.X : Role.Y;
                w = Role.W;
                addBias = spec.bias();
            }
            case BACKWARD_DATA -> {
                op = transposed ? Op.FORWARD : Op.BACKWARD_DATA;
                xc = transposed ? Role.DY : Role.DX;
                yc = transposed ? Role.DX : Role.DY;
                w = Role.W;
            }
            case BACKWARD_WEIGHT -> {
                op = Op.BACKWARD_FILTER;
                xc = transposed ? Role.DY : Role.X;
                yc = transposed ? Role.X : Role.DY;
                w = Role.DW;
            }
            case BACKWARD_BIAS -> {
                op = Op.BACKWARD_BIAS;
                xc = null;
                yc = Role.DY;
                w = null;
            }
            default -> throw new AssertionError(pass);
        }
        int[] wDims = concat(ycChannels, xcChannels / g.groups(), k);
        if (pass == Pass.BACKWARD_BIAS) {
            // the bias gradient sums our dy (transposed too) and needs no convolution descriptor
            return new CudnnPlan(op, null, null, Role.DY, null, null, outputDims(spec), null, null, null,
                    spec.groups(), false, null, null);
        }
        return new CudnnPlan(op, xc, w, yc,
                concat(g.batch(), xcChannels, bigSpatial), wDims, concat(g.batch(), ycChannels, ycSpatial),
                pad, stride, dilation, g.groups(), addBias,
                offset == null ? null : concat(g.batch(), xcChannels, xcSpatial),
                offset);
    }

    /** Packed NCHW / NCDHW strides of {@code dims}. */
    static int[] packedStrides(int[] dims) {
        int[] s = new int[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = Math.toIntExact(acc);
            acc *= dims[i];
        }
        return s;
    }

    /** The bias tensor as cuDNN broadcasts it: [1, C, 1, 1(, 1)] with the rank of {@code like}. */
    static int[] biasDims(int channels, int[] like) {
        int[] d = new int[like.length];
        Arrays.fill(d, 1);
        d[1] = channels;
        return d;
    }

    /**
     * The first of {@link ConvGeometry}'s three spatial axes (depth, height, width) that cuDNN's descriptors carry:
     * height for 1D and 2D problems (4-D descriptors: 1D runs as 2D with a height of 1, which cuDNN needs, and 2D is
     * not given a unit depth, which would change the kernels cuDNN picks), depth for 3D (5-D descriptors).
     */
    static int firstAxis(int rank) {
        return rank == 3 ? 0 : 1;
    }

    /** The descriptor dims [N, C, spatial…] of the op's input x (our x, transposed too), from the geometry. */
    static int[] inputDims(ConvSpec spec) {
        ConvGeometry g = ConvGeometry.of(spec);
        return g.fromTransposed() ? dims(g.batch(), g.outChannels(), g, false, spec.rank())
                : dims(g.batch(), g.inChannels(), g, true, spec.rank());
    }

    /** The descriptor dims [N, K, spatial…] of the op's output y (our y, transposed too), from the geometry. */
    static int[] outputDims(ConvSpec spec) {
        ConvGeometry g = ConvGeometry.of(spec);
        return g.fromTransposed() ? dims(g.batch(), g.inChannels(), g, true, spec.rank())
                : dims(g.batch(), g.outChannels(), g, false, spec.rank());
    }

    /** [n, c] and the geometry's input ({@code in}) or output spatial sizes from {@link #firstAxis} on. */
    private static int[] dims(int n, int c, ConvGeometry g, boolean in, int rank) {
        int first = firstAxis(rank);
        int[] s = new int[3 - first];
        for (int j = 0; j < s.length; j++) s[j] = in ? g.in(first + j) : g.out(first + j);
        return concat(n, c, s);
    }

    private static int[] concat(int a, int b, int[] rest) {
        int[] r = new int[rest.length + 2];
        r[0] = a;
        r[1] = b;
        System.arraycopy(rest, 0, r, 2, rest.length);
        return r;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CudnnPlan p && op == p.op && xc == p.xc && w == p.w && yc == p.yc && groups == p.groups
                && addBias == p.addBias && Arrays.equals(xcDims, p.xcDims) && Arrays.equals(wDims, p.wDims)
                && Arrays.equals(ycDims, p.ycDims) && Arrays.equals(pad, p.pad) && Arrays.equals(stride, p.stride)
                && Arrays.equals(dilation, p.dilation) && Arrays.equals(ourXcDims, p.ourXcDims) && Arrays.equals(offset, p.offset);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(op, xc, yc, Arrays.hashCode(xcDims), Arrays.hashCode(ycDims), Arrays.hashCode(offset));
    }

    @Override
    public String toString() {
        return op.call + " xc=" + xc + Arrays.toString(xcDims) + " w=" + w + Arrays.toString(wDims) + " yc=" + yc
                + Arrays.toString(ycDims) + " pad=" + Arrays.toString(pad) + " stride=" + Arrays.toString(stride)
                + " dilation=" + Arrays.toString(dilation) + " groups=" + groups + (addBias ? " +bias" : "")
                + (staged() ? " staged ours=" + Arrays.toString(ourXcDims) + " at " + Arrays.toString(offset) : "");
    }

    /**
     * Whether the batch slices of a pass add into one output (beta = 1 after the first): only the
     * weight and bias gradients, which sum over the batch. Forward and backward data write each
     * slice's own rows, and must not read what the output held before (outputs are written, never read).
     */
    static boolean slicesAccumulate(Pass pass) {
        return pass == Pass.BACKWARD_WEIGHT || pass == Pass.BACKWARD_BIAS;
    }
}
