package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.spi.ConvGeometry;

/**
 * The CPU kernels' copy of core's {@link ConvGeometry} as plain int fields (the loops read them
 * millions of times): a problem seen as a plain (or deformable) convolution in three spatial axes,
 * 1D and 2D lifted with leading unit axes, a transposed spec viewed as the convolution whose adjoint
 * it is. Every value and predicate comes from the one geometry in core; nothing is derived here.
 */
final class Geometry {
    /** The core geometry these fields are copied from. */
    final ConvGeometry core;
    /** Convolution input and output channels, groups, and per-group counts. */
    final int c, k, g, cg, kg;
    final int id, ih, iw, od, oh, ow;
    final int kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw;
    /** Kernel volume, input and output spatial sizes, and rows of one group's column matrix. */
    final int kv, is, os, rows;
    final int offsetGroups;
    final boolean modulated;
    final int batch;

    private Geometry(ConvGeometry x) {
        core = x;
        batch = x.batch();
        c = x.inChannels(); k = x.outChannels(); g = x.groups();
        cg = x.inChannelsPerGroup(); kg = x.outChannelsPerGroup();
        id = x.in(0); ih = x.in(1); iw = x.in(2);
        od = x.out(0); oh = x.out(1); ow = x.out(2);
        kd = x.kernel(0); kh = x.kernel(1); kw = x.kernel(2);
        sd = x.stride(0); sh = x.stride(1); sw = x.stride(2);
        pd = x.pad(0); ph = x.pad(1); pw = x.pad(2);
        dd = x.dilation(0); dh = x.dilation(1); dw = x.dilation(2);
        kv = (int) x.kernelVolume();
        is = (int) x.inSpatial();
        os = (int) x.outSpatial();
        rows = (int) x.columnRows();
        offsetGroups = x.offsetGroups();
        modulated = x.modulated();
    }

    /** A unit-stride, undilated convolution of explicit sizes (per axis d, h, w); padding may be negative (the input starts later). */
    Geometry(int batch, int c, int k, int g, int[] in, int[] out, int[] ker, int[] pad) {
        this(ConvGeometry.of(batch, c, k, g, in, out, ker, new int[] {1, 1, 1}, pad, new int[] {1, 1, 1}));
    }

    /** See {@link ConvGeometry#splitsIntoPhases()}: backward data runs as one unit-stride convolution per phase ({@link Phases}). */
    boolean splitsIntoPhases() {
        return core.splitsIntoPhases();
    }

    /** See {@link ConvGeometry#adjointIsConvolution()}: backward data is a gather with the flipped kernel. */
    boolean adjointIsConvolution() {
        return core.adjointIsConvolution();
    }

    /** The convolution that computes this one's backward data; only when {@link #adjointIsConvolution()}. */
    Geometry adjoint() {
        return new Geometry(core.adjoint());
    }

    /** The convolution geometry of {@code spec}; for a transposed spec, that of its adjoint convolution. */
    static Geometry of(ConvSpec spec) {
        return new Geometry(ConvGeometry.of(spec));
    }

    /** 1×1 kernel, unit stride, no padding: the input is already the column matrix. */
    boolean pointwise() {
        return core.pointwise();
    }

    /** One input and one output channel per group. */
    boolean depthwise() {
        return core.depthwise();
    }
}
