package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.spi.ConvGeometry;
import io.github.jconv.spi.Support;
import org.jocl.cl_mem;

/**
 * Convolution and transposed convolution (any rank, groups, dilation) on conv.cl, im2col.cl and
 * gemm.cl: direct kernels, im2col + GEMM, implicit GEMM, GEMM + col2im, split-K weight gradients,
 * the bias reduction. Every pass runs on the convolution view ({@link ConvGeometry}); a transposed
 * spec's forward is the view's backward data and the other way round.
 */
final class StandardConvFamily implements OpFamily {
    private final ClContext cl;
    private final ClPrograms programs;
    private final ClMemory memory;
    private final ClLauncher launch;
    private final ClSettings settings;
    /** Whether view-forward GEMMs read the input in place (gemm_conv); the tuner switches it. */
    private volatile boolean implicitGemm;

    StandardConvFamily(ClContext cl, ClPrograms programs, ClMemory memory, ClLauncher launch, ClSettings settings) {
        this.cl = cl;
        this.programs = programs;
        this.memory = memory;
        this.launch = launch;
        this.settings = settings;
        this.implicitGemm = settings.implicitGemm();
    }

    void implicitGemm(boolean on) {
        implicitGemm = on;
    }

    @Override
    public boolean handles(ConvSpec spec) {
        return spec.type() != ConvType.DEFORMABLE;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        // FP16 is storage only (vload_half / vstore_half, core OpenCL on every device, cl_khr_fp16 or not) with
        // FP32 arithmetic, for every pass of this family.
        if (pass == Pass.BACKWARD_OFFSET_MASK) {
            return Support.no("BACKWARD_OFFSET_MASK belongs to deformable convolution; this spec is " + spec.type());
        }
        return Support.yes();
    }

    @Override
    public Algorithms.Choice plan(ConvSpec spec, Pass pass, DType dtype) {
        return Algorithms.choose(spec, pass, settings.mode(), cl.dev.maxAllocBytes() / Math.max(1, dtype.bytes()), implicitGemm);
    }

    @Override
    public void run(Algorithms.Choice plan, Pass pass, ConvSpec spec, ConvArgs a, DType dt) {
        ConvGeometry g = ConvGeometry.of(spec);
        boolean tr = g.fromTransposed();
        cl_mem bias = spec.bias() && a.has(Role.B) ? mem(a, Role.B) : null;
        long n = g.batch(), c = g.inChannels(), k = g.outChannels(), i = g.inSpatial(), o = g.outSpatial();
        // The view's forward reads x (transposed: dy) into y (dx); its backward data reads dy (x) into dx (y).
        // (null where the pass has no such buffer: each path reads only the ones it has)
        cl_mem fwdIn = orNull(a, tr ? Role.DY : Role.X), fwdOut = orNull(a, tr ? Role.DX : Role.Y);
        cl_mem bwdIn = orNull(a, tr ? Role.X : Role.DY), bwdOut = orNull(a, tr ? Role.Y : Role.DX);
        // the direct kernels address the spec's tensors only; the GEMM routes add their column scratch (columns())
        IndexWidth idx = IndexWidth.of(spec, 0);
        switch (plan.path()) {
            case VIEW_FORWARD_DIRECT -> launch.grid(programs.program(dt, "conv", idx), "conv_forward", n * k * o, new KernelArgs()
                    .buf(fwdIn).buf(mem(a, Role.W)).buf(launch.orDummy(bias)).flag(bias != null).buf(fwdOut).geom(g));
            case VIEW_FORWARD_GEMM -> viewForwardGemm(spec, g, fwdIn, mem(a, Role.W), bias, fwdOut, dt);
            case VIEW_FORWARD_IMPLICIT -> viewForwardImplicit(g, fwdIn, mem(a, Role.W), bias, fwdOut, dt);
            case VIEW_BACKWARD_DATA_DIRECT -> launch.grid(programs.program(dt, "conv", idx), "conv_backward_data", n * c * i, new KernelArgs()
                    .buf(bwdIn).buf(mem(a, Role.W)).buf(launch.orDummy(bias)).flag(bias != null).buf(bwdOut).geom(g));
            case VIEW_BACKWARD_DATA_GEMM -> viewBackwardDataGemm(spec, g, bwdIn, mem(a, Role.W), bias, bwdOut, dt);
            // The view's input is the transposed op's output, so for transposed x and dy trade places.
            case VIEW_BACKWARD_WEIGHT_DIRECT -> launch.groups(programs.program(dt, "conv", idx), "conv_backward_weight",
                    spec.weightShape().elementCount(), new KernelArgs().buf(fwdIn).buf(bwdIn).buf(mem(a, Role.DW)).geom(g));
            case VIEW_BACKWARD_WEIGHT_GEMM -> viewBackwardWeightGemm(spec, g, fwdIn, bwdIn, mem(a, Role.DW), dt);
            case BIAS_REDUCE -> launch.groups(programs.program(dt, "conv", idx), "bias_backward", spec.outChannels(), new KernelArgs()
                    .buf(mem(a, Role.DY)).buf(mem(a, Role.DB)).i32(spec.batch()).i32(spec.outChannels()).i64(spec.outputSpatial()));
            default -> throw new IllegalStateException("path " + plan.path() + " is not a convolution path");
        }
    }

    static cl_mem mem(ConvArgs a, Role r) {
        return ((ClBuffer) a.get(r)).mem;
    }

    private static cl_mem orNull(ConvArgs a, Role r) {
        return a.has(r) ? mem(a, r) : null;
    }

    /** Batch items per chunk so that a chunk's column matrices stay within the scratch budget. */
    static int chunk(ClContext cl, ClSettings settings, long batch, long perItemElements, DType dt) {
        long budget = Math.min(cl.dev.maxAllocBytes(), settings.columnBudgetBytes()) / dt.bytes();
        return (int) Math.max(1, Math.min(batch, budget / Math.max(1, perItemElements)));
    }

    /** The view forward as one implicit GEMM per chunk of items (chunks only keep N = items * O within an int). */
    private void viewForwardImplicit(ConvGeometry g, cl_mem x, cl_mem w, cl_mem bias, cl_mem y, DType dt) {
        long n = g.batch(), k = g.outChannels(), o = g.outSpatial(), kg = g.outChannelsPerGroup(), cgt = g.columnRows();
        int chunk = (int) Math.max(1, Math.min(n, Integer.MAX_VALUE / Math.max(1, o)));
        int[] geom = KernelArgs.geomParams(g);
        for (int n0 = 0; n0 < n; n0 += chunk) {
            int nb = (int) Math.min(chunk, n - n0);
            long cols = nb * o;
            KernelArgs args = new KernelArgs().i32(kg).i32(cols).i32(cgt).operand(Mat.of(w, 0, kg * cgt, cgt, 1))
                    .buf(x).i32(n0).i32(g.inChannels()).i32(g.inChannelsPerGroup()).ints(geom, 4, 22)
                    .operand(Mat.of(y, n0 * k * o, kg * o, o, 1).splitCols(o, k * o))
                    .buf(launch.orDummy(bias)).flag(bias != null).flag(false);
            launch.tiles(programs.gemm(dt, GemmClass.of(kg, cols, cgt), null), "gemm_conv", args, g.groups(), kg, cols);
        }
    }

    /**
     * The column buffer of a GEMM route: elements per batch item, items per chunk, the scratch (none when pointwise),
     * and the index width of im2col.cl's launches over the spec's tensors and this column.
     */
    private record Columns(long perItem, int chunk, cl_mem col, IndexWidth index) {
    }

    private Columns columns(ConvSpec spec, ConvGeometry g, DType dt) {
        long perItem = g.inChannels() * g.kernelVolume() * g.outSpatial();
        int chunk = chunk(cl, settings, g.batch(), perItem, dt);
        boolean none = g.pointwise();
        return new Columns(perItem, chunk, none ? null : memory.scratch(perItem * chunk * dt.bytes()),
                IndexWidth.of(spec, none ? 0 : perItem * chunk));
    }

    /** Samples {@code total} column elements of the items from {@code n0} on into {@code col}. */
    private void im2col(ConvGeometry g, DType dt, Columns cs, cl_mem x, int n0, long total) {
        launch.grid(programs.program(dt, "im2col", cs.index()), "im2col", total, new KernelArgs().buf(x).buf(cs.col()).i32(n0).geom(g));
    }

    private void viewForwardGemm(ConvSpec spec, ConvGeometry g, cl_mem x, cl_mem w, cl_mem bias, cl_mem y, DType dt) {
        long n = g.batch(), c = g.inChannels(), k = g.outChannels(), i = g.inSpatial(), o = g.outSpatial();
        long kg = g.outChannelsPerGroup(), cgt = g.columnRows();
        Columns cs = columns(spec, g, dt);
        long perItem = cs.perItem();
        int chunk = cs.chunk();
        cl_mem col = cs.col();
        for (int n0 = 0; n0 < n; n0 += chunk) {
            int nb = (int) Math.min(chunk, n - n0);
            Mat b;
            if (col != null) {
                im2col(g, dt, cs, x, n0, nb * perItem);
                b = Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perItem);
            } else {
                b = Mat.of(x, n0 * c * i, g.inChannelsPerGroup() * i, i, 1).splitCols(o, c * i);
            }
            launch.gemm(dt, g.groups(), kg, nb * o, cgt, Mat.of(w, 0, kg * cgt, cgt, 1), b,
                    Mat.of(y, n0 * k * o, kg * o, o, 1).splitCols(o, k * o), bias, false);
        }
    }

    private void viewBackwardDataGemm(ConvSpec spec, ConvGeometry g, cl_mem dy, cl_mem w, cl_mem bias, cl_mem dx, DType dt) {
        long n = g.batch(), c = g.inChannels(), k = g.outChannels(), i = g.inSpatial(), o = g.outSpatial();
        long kg = g.outChannelsPerGroup(), cgt = g.columnRows();
        Columns cs = columns(spec, g, dt);
        long perItem = cs.perItem();
        int chunk = cs.chunk();
        cl_mem col = cs.col();
        for (int n0 = 0; n0 < n; n0 += chunk) {
            int nb = (int) Math.min(chunk, n - n0);
            // columns = W^T dy: the weight read with its two strides swapped.
            Mat a = Mat.of(w, 0, kg * cgt, 1, cgt);
            Mat b = Mat.of(dy, n0 * k * o, kg * o, o, 1).splitCols(o, k * o);
            if (col != null) {
                launch.gemm(dt, g.groups(), cgt, nb * o, kg, a, b, Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perItem), null, false);
                launch.grid(programs.program(dt, "im2col", cs.index()), "col2im", nb * c * i, new KernelArgs().buf(col).buf(launch.orDummy(bias))
                        .flag(bias != null).buf(dx).i32(n0).geom(g));
            } else {
                launch.gemm(dt, g.groups(), cgt, nb * o, kg, a, b,
                        Mat.of(dx, n0 * c * i, g.inChannelsPerGroup() * i, i, 1).splitCols(o, c * i), bias, false);
            }
        }
    }

    private void viewBackwardWeightGemm(ConvSpec spec, ConvGeometry g, cl_mem x, cl_mem dy, cl_mem dw, DType dt) {
        long n = g.batch(), c = g.inChannels(), k = g.outChannels(), i = g.inSpatial(), o = g.outSpatial();
        long kg = g.outChannelsPerGroup(), cgt = g.columnRows();
        Columns cs = columns(spec, g, dt);
        long perItem = cs.perItem();
        int chunk = cs.chunk();
        cl_mem col = cs.col();
        for (int n0 = 0; n0 < n; n0 += chunk) {
            int nb = (int) Math.min(chunk, n - n0);
            Mat b;
            if (col != null) {
                im2col(g, dt, cs, x, n0, nb * perItem);
                b = Mat.of(col, 0, cgt * o, 1, o).splitRows(o, perItem);
            } else {
                b = Mat.of(x, n0 * c * i, g.inChannelsPerGroup() * i, 1, i).splitRows(o, c * i);
            }
            // dW (+)= dy * columns^T over the chunk's items and positions; chunks summed in order, no atomics.
            Mat a = Mat.of(dy, n0 * k * o, kg * o, o, 1).splitCols(o, k * o);
            int slices = g.groups() == 1 ? splitK(dt, kg, cgt, nb, o) : 1;
            if (slices > 1) {
                SplitK.weightGradient(launch, programs, memory, dt, g, a, b, col != null ? perItem : c * i, nb, slices, dw, n0 > 0);
            } else {
                launch.gemm(dt, g.groups(), kg, cgt, nb * o, a, b, Mat.of(dw, 0, kg * cgt, cgt, 1), null, n0 > 0);
            }
        }
    }

    /**
     * How many slices of whole items the K range (items x positions) of a weight-gradient GEMM of {@code items}
     * splits into: enough for about two work-groups per compute unit when the M x N tiles alone are fewer
     * (a 64 x 576 weight gradient is 9 tiles: a GPU would idle), at most one slice per item;
     * -Djconv.opencl.splitK=S caps it at S (1: never split; {@link ClSettings#splitK()}).
     */
    private int splitK(DType dt, long m, long n, int items, long positions) {
        // FP16 storage: each slice's partial sum would be rounded to half before gemm_sum adds them (two roundings
        // instead of one after a float sum; an NVIDIA H200 run showed whole half-step errors), so never split.
        if (items < 2 || dt == DType.FP16) return 1;
        int max = items;
        if (settings.splitK() > 0) {
            max = Math.min(items, settings.splitK());
            if (max > 1 && settings.splitKForce()) return max;
        }
        int[] t = programs.gemm(dt, GemmClass.of(m, n, (long) items * positions), null).gemmTiles();
        long tiles = ((m + t[0] - 1) / t[0]) * ((n + t[1] - 1) / t[1]);
        long target = 2L * Math.max(1, cl.info.computeUnits());
        if (tiles >= target) return 1;
        return (int) Math.max(1, Math.min(max, (target + tiles - 1) / tiles));
    }
}
