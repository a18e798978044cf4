package io.github.jconv.opencl;

import io.github.jconv.spi.ConvGeometry;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

import java.util.ArrayList;
import java.util.List;

import static org.jocl.CL.clSetKernelArg;

/**
 * The arguments of one kernel launch as typed values, checked against the kernel's parsed
 * {@link KernelSignature} (count and kind of every position) before any is set.
 */
final class KernelArgs {
    /** One argument: a buffer or a scalar of a definite OpenCL type. */
    sealed interface Arg permits Buf, I32, I64 {
        KernelSignature.Kind kind();
    }

    record Buf(cl_mem mem) implements Arg {
        public KernelSignature.Kind kind() { return KernelSignature.Kind.BUFFER; }
    }

    record I32(int value) implements Arg {
        public KernelSignature.Kind kind() { return KernelSignature.Kind.INT; }
    }

    record I64(long value) implements Arg {
        public KernelSignature.Kind kind() { return KernelSignature.Kind.LONG; }
    }

    private final List<Arg> args = new ArrayList<>();

    KernelArgs buf(cl_mem m) {
        args.add(new Buf(m));
        return this;
    }

    KernelArgs i32(int v) {
        args.add(new I32(v));
        return this;
    }

    /** An int that a long size must fit (GEMM dimensions); ArithmeticException when it does not. */
    KernelArgs i32(long v) {
        return i32(Math.toIntExact(v));
    }

    KernelArgs i64(long v) {
        args.add(new I64(v));
        return this;
    }

    /** A flag as 0 or 1 (has_bias, accumulate). */
    KernelArgs flag(boolean b) {
        return i32(b ? 1 : 0);
    }

    KernelArgs ints(int[] values, int from, int to) {
        for (int i = from; i < to; i++) i32(values[i]);
        return this;
    }

    /** A GEMM operand as gemm.cl's OPERAND expands: buffer, offset, group stride, row and column addressing. */
    KernelArgs operand(Mat m) {
        return buf(m.mem()).i64(m.off()).i64(m.sG()).i64(m.sR()).i32(m.nsR()).i64(m.sRO()).i64(m.sC()).i32(m.nsC()).i64(m.sCO());
    }

    /** conv.cl / im2col.cl's GEOM_PARAMS. */
    KernelArgs geom(ConvGeometry g) {
        return ints(geomParams(g), 0, 22);
    }

    /** deformable.cl's DGEOM_PARAMS. */
    KernelArgs dgeom(ConvGeometry g) {
        for (int v : dgeomParams(g)) i32(v);
        return this;
    }

    int size() {
        return args.size();
    }

    /**
     * The 22 ints of GEOM_PARAMS (N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW)
     * of a geometry: for a transposed spec, those of the convolution it is the adjoint of.
     */
    static int[] geomParams(ConvGeometry g) {
        int[] p = new int[22];
        p[0] = g.batch();
        p[1] = g.inChannels();
        p[2] = g.outChannels();
        p[3] = g.groups();
        for (int a = 0; a < 3; a++) {
            p[4 + a] = g.in(a);
            p[7 + a] = g.out(a);
            p[10 + a] = g.kernel(a);
            p[13 + a] = g.stride(a);
            p[16 + a] = g.pad(a);
            p[19 + a] = g.dilation(a);
        }
        return p;
    }

    /** The 17 ints of DGEOM_PARAMS (N, C, K, G, GOFF, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW): height and width axes. */
    static int[] dgeomParams(ConvGeometry g) {
        return new int[] {g.batch(), g.inChannels(), g.outChannels(), g.groups(), g.offsetGroups(), g.in(1), g.in(2), g.out(1),
                g.out(2), g.kernel(1), g.kernel(2), g.stride(1), g.stride(2), g.pad(1), g.pad(2), g.dilation(1), g.dilation(2)};
    }

    /** Checks the arguments against {@code signature} and sets them on {@code k}. */
    void apply(cl_kernel k, String name, List<KernelSignature.Kind> signature) {
        if (args.size() != signature.size()) {
            throw new IllegalStateException("kernel " + name + " declares " + signature.size() + " parameters, the host passes "
                    + args.size() + ": the .cl source and the host code have drifted apart");
        }
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).kind() != signature.get(i)) {
                throw new IllegalStateException("kernel " + name + " parameter " + i + " is " + signature.get(i).word
                        + " in the .cl source, the host passes " + args.get(i).kind().word + " " + args.get(i));
            }
        }
        for (int i = 0; i < args.size(); i++) {
            Arg a = args.get(i);
            if (a instanceof Buf b) {
                clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(b.mem()));
            } else if (a instanceof I32 v) {
                clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v.value()}));
            } else if (a instanceof I64 v) {
                clSetKernelArg(k, i, Sizeof.cl_long, Pointer.to(new long[] {v.value()}));
            }
        }
    }
}
