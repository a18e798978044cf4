package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;

/**
 * A problem seen as a plain (or deformable) convolution in three spatial axes: 1D and 2D problems
 * get leading axes of size 1, and a transposed convolution becomes the convolution whose adjoint it
 * is (its output is this geometry's input), so every pass runs on one set of loops.
 */
final class Geometry {
    /** Convolution input and output channels, groups, and per-group counts. */
    final int c, k, g, cg, kg;
    final int id, ih, iw, od, oh, ow;
    final int kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw;
    /** Kernel volume, input and output spatial sizes, and rows of one group's column matrix. */
    final int kv, is, os, rows;
    final int offsetGroups;
    final boolean modulated;
    final int batch;

    private Geometry(ConvSpec s, boolean transposed) {
        int r = s.rank();
        int[] in = pad3(transposed ? s.output() : s.input(), r, 1);
        int[] out = pad3(transposed ? s.input() : s.output(), r, 1);
        int[] ker = pad3(s.kernel(), r, 1);
        int[] str = pad3(s.stride(), r, 1);
        int[] pl = pad3(s.paddingLo(), r, 0);
        int[] dil = pad3(s.dilation(), r, 1);
        batch = s.batch();
        c = transposed ? s.outChannels() : s.inChannels();
        k = transposed ? s.inChannels() : s.outChannels();
        g = s.groups();
        cg = c / g;
        kg = k / g;
        id = in[0]; ih = in[1]; iw = in[2];
        od = out[0]; oh = out[1]; ow = out[2];
        kd = ker[0]; kh = ker[1]; kw = ker[2];
        sd = str[0]; sh = str[1]; sw = str[2];
        pd = pl[0]; ph = pl[1]; pw = pl[2];
        dd = dil[0]; dh = dil[1]; dw = dil[2];
        kv = kd * kh * kw;
        is = id * ih * iw;
        os = od * oh * ow;
        rows = cg * kv;
        offsetGroups = s.type() == ConvType.DEFORMABLE ? s.offsetGroups() : 1;
        modulated = s.type() == ConvType.DEFORMABLE && s.modulated();
    }

    private Geometry(Geometry o) {
        // The adjoint of a unit-stride convolution: dy correlated with the flipped, transposed kernel.
        batch = o.batch;
        c = o.k; k = o.c; g = o.g; cg = o.kg; kg = o.cg;
        id = o.od; ih = o.oh; iw = o.ow;
        od = o.id; oh = o.ih; ow = o.iw;
        kd = o.kd; kh = o.kh; kw = o.kw;
        sd = 1; sh = 1; sw = 1;
        pd = (o.kd - 1) * o.dd - o.pd; ph = (o.kh - 1) * o.dh - o.ph; pw = (o.kw - 1) * o.dw - o.pw;
        dd = o.dd; dh = o.dh; dw = o.dw;
        kv = o.kv; is = o.os; os = o.is; rows = cg * kv;
        offsetGroups = 1;
        modulated = false;
    }

    /** A convolution of explicit sizes (per axis d, h, w); padding may be negative (the input starts later). */
    Geometry(int batch, int c, int k, int g, int[] in, int[] out, int[] ker, int[] pad) {
        this.batch = batch;
        this.c = c; this.k = k; this.g = g; cg = c / g; kg = k / g;
        id = in[0]; ih = in[1]; iw = in[2];
        od = out[0]; oh = out[1]; ow = out[2];
        kd = ker[0]; kh = ker[1]; kw = ker[2];
        sd = 1; sh = 1; sw = 1;
        pd = pad[0]; ph = pad[1]; pw = pad[2];
        dd = 1; dh = 1; dw = 1;
        kv = kd * kh * kw; is = id * ih * iw; os = od * oh * ow; rows = cg * kv;
        offsetGroups = 1;
        modulated = false;
    }

    /**
     * Dense (dilation 1) with some stride above 1: backward data splits into one unit-stride
     * convolution per output phase ({@link Phases}), gathered instead of scattered.
     */
    boolean splitsIntoPhases() {
        return dd == 1 && dh == 1 && dw == 1 && (sd > 1 || sh > 1 || sw > 1);
    }

    /**
     * Unit stride, and padding at most the effective kernel extent on every axis: then backward data
     * is a plain convolution of dy with the flipped kernel ({@link #adjoint()}), gathered, not scattered.
     */
    boolean adjointIsConvolution() {
        return sd == 1 && sh == 1 && sw == 1
                && (kd - 1) * dd >= pd && (kh - 1) * dh >= ph && (kw - 1) * dw >= pw;
    }

    /** The convolution that computes this one's backward data; only when {@link #adjointIsConvolution()}. */
    Geometry adjoint() {
        return new Geometry(this);
    }

    /** The convolution geometry of {@code spec}; for a transposed spec, that of its adjoint convolution. */
    static Geometry of(ConvSpec spec) {
        return new Geometry(spec, spec.type() == ConvType.TRANSPOSED);
    }

    private static int[] pad3(int[] v, int rank, int fill) {
        int[] o = {fill, fill, fill};
        System.arraycopy(v, 0, o, 3 - rank, rank);
        return o;
    }

    /** 1×1 kernel, unit stride, no padding: the input is already the column matrix. */
    boolean pointwise() {
        return kv == 1 && sd == 1 && sh == 1 && sw == 1 && pd == 0 && ph == 0 && pw == 0
                && id == od && ih == oh && iw == ow;
    }

    /** One input and one output channel per group. */
    boolean depthwise() {
        return cg == 1 && kg == 1;
    }
}
