package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.cuda.KernelLaunch.Launch;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.spi.ConvGeometry;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static io.github.jconv.cuda.KernelLaunch.THREADS;
import static io.github.jconv.cuda.KernelLaunch.flat;
import static io.github.jconv.cuda.KernelLaunch.gridFor;

/**
 * The pure part of deformable convolution on the GPU: from a {@link DeformablePlan}, the steps of each chunk
 * (kernel launches with their argument lists, cuDNN 1x1 GEMMs with their bindings, zero fills), the 17 geometry
 * ints the kernels take, the GEMM's 1x1 problem and the FP16/BF16 conversions. {@link DeformableFamily} runs them.
 * Kernels: kernels-cl's deformable.cl plus deformable_scatter.cu, compiled to PTX through opencl_to_cuda.h.
 */
final class DeformableSteps {
    /** Work-group size the reduction kernels were compiled for (build-ptx.sh's RED_WG). */
    static final int RED_WG = 128;

    private DeformableSteps() {
    }

    /** Which dtypes have deformable PTX of their own; FP16 and BF16 storage computes in FP32 ({@link #widened}). */
    static boolean hasKernels(DType dtype) {
        return dtype == DType.FP32 || dtype == DType.FP64;
    }

    /** Whether {@code dtype} runs through FP32 working copies: the 16-bit storage types. */
    static boolean widened(DType dtype) {
        return dtype == DType.FP16 || dtype == DType.BF16;
    }

    static final String CONVERT_PTX = "convert.ptx";

    /** The kernel that widens {@code dtype} storage to FP32 ({@code toFloat}) or narrows FP32 back to it. */
    static String convertKernel(DType dtype, boolean toFloat) {
        if (!widened(dtype)) throw new IllegalArgumentException("dtype = " + dtype + ": conversions exist for FP16 and BF16 only");
        return (toFloat ? "widen_" : "narrow_") + (dtype == DType.FP16 ? "f16" : "bf16");
    }

    /** The conversion launch of {@code n} elements: (src, dst, n as long long). */
    static Launch convert(DType dtype, boolean toFloat, Object src, Object dst, long n, int sms) {
        long[] grid = gridFor(n, sms);
        return new Launch(convertKernel(dtype, toFloat), grid[0], THREADS, new Object[]{src, dst, n});
    }

    static String ptx(DType dtype) {
        return dtype == DType.FP64 ? "deformable_f64.ptx" : "deformable_f32.ptx";
    }

    /**
     * The 17 geometry ints every kernel takes (DGEOM in deformable.cl), read from core's {@link ConvGeometry}: deformable
     * convolution is 2D, so its height and width are the geometry's axes 1 and 2 (axis 0 is the unit depth).
     */
    static int[] geometry(ConvSpec s) {
        ConvGeometry g = ConvGeometry.of(s);
        return new int[]{g.batch(), g.inChannels(), g.outChannels(), g.groups(), g.offsetGroups(),
                g.in(1), g.in(2), g.out(1), g.out(2), g.kernel(1), g.kernel(2),
                g.stride(1), g.stride(2), g.pad(1), g.pad(2), g.dilation(1), g.dilation(2)};
    }

    /**
     * The 1x1 convolution whose passes are the column route's GEMMs for {@code items} batch items: input
     * [items, C*KH*KW, OH, OW] (the column buffer), weight [K, C/G*KH*KW, 1, 1] (the deformable weight's memory),
     * output [items, K, OH, OW], G groups (group g's columns are the rows of its C/G input channels: contiguous).
     */
    static ConvSpec gemmSpec(ConvSpec s, int items, boolean bias) {
        int rows = Math.toIntExact(s.inChannels() * s.kernelVolume());
        return ConvSpec.convolution().batch(items).channels(rows, s.outChannels()).groups(s.groups())
                .input(s.output(0), s.output(1)).kernel(1, 1).bias(bias).build();
    }

    /** One step of a chunk: a kernel launch, a cuDNN GEMM or a zero fill. */
    sealed interface Step permits Launch, Gemm, Zero {
    }

    /** A pass of the 1x1 convolution {@code spec} on the bound tensors; {@code accumulate}: dw += (beta = 1). */
    record Gemm(Pass pass, ConvSpec spec, Map<Role, Object> bind, boolean accumulate) implements Step {
    }

    /** {@code elements} elements from {@code at} set to zero. */
    record Zero(Object at, long elements) implements Step {
    }

    /** A tensor of the call at an element offset (a device pointer at run time; anything that names it in tests). */
    @FunctionalInterface
    interface Binder {
        Object at(Role role, long elementOffset);
    }

    /**
     * The steps of one chunk (batch items n0 .. n0 + nb - 1) of {@code plan}: pure, so the argument lists
     * are checked against the PTX and the GEMM bindings against the layouts without a GPU. {@code col} is
     * the column buffer (null when the plan uses none). Direct forward, weight and bias gradients take the
     * whole batch in one chunk.
     */
    static List<Step> steps(DeformablePlan plan, ConvSpec spec, int sms, Binder b, Object col, int n0, int nb) {
        int[] g = geometry(spec);
        // bind what the pass is given: backward data has no x, backward bias neither x nor offsets (nor mask)
        Pass pass = plan.pass();
        Object x = pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_BIAS ? null : b.at(Role.X, 0);
        Object off = pass == Pass.BACKWARD_BIAS ? null : b.at(Role.OFFSET, 0);
        Object mask = spec.modulated() && off != null ? b.at(Role.MASK, 0) : off; // never read when has_mask = 0
        int hasMask = spec.modulated() ? 1 : 0;
        long perItem = DeformablePlan.columnElementsPerItem(spec);
        long outPerItem = (long) spec.outChannels() * spec.outputSpatial();
        boolean gemm = plan.route() == DeformablePlan.Route.COLUMNS_GEMM;
        List<Step> out = new ArrayList<>();
        switch (plan.pass()) {
            case FORWARD -> {
                if (gemm) {
                    out.add(im2col(x, off, mask, hasMask, col, g, n0, nb * perItem, sms));
                    Map<Role, Object> m = new EnumMap<>(Role.class);
                    m.put(Role.X, col);
                    m.put(Role.W, b.at(Role.W, 0));
                    if (spec.bias()) m.put(Role.B, b.at(Role.B, 0));
                    m.put(Role.Y, b.at(Role.Y, n0 * outPerItem));
                    out.add(new Gemm(Pass.FORWARD, gemmSpec(spec, nb, spec.bias()), m, false));
                } else {
                    long total = (long) nb * outPerItem;
                    long[] grid = gridFor(total, sms);
                    Object bias = spec.bias() ? b.at(Role.B, 0) : x;
                    out.add(new Launch("deform_forward", grid[0], THREADS, flat(x, off, mask, hasMask, b.at(Role.W, 0), bias,
                            spec.bias() ? 1 : 0, b.at(Role.Y, 0), g, total, grid[1])));
                }
            }
            case BACKWARD_WEIGHT -> {
                if (gemm) {
                    out.add(im2col(x, off, mask, hasMask, col, g, n0, nb * perItem, sms));
                    Map<Role, Object> m = new EnumMap<>(Role.class);
                    m.put(Role.X, col);
                    m.put(Role.DY, b.at(Role.DY, n0 * outPerItem));
                    m.put(Role.DW, b.at(Role.DW, 0));
                    out.add(new Gemm(Pass.BACKWARD_WEIGHT, gemmSpec(spec, nb, false), m, n0 > 0));
                } else {
                    out.add(new Launch("deform_weight_grad", spec.weightShape().elementCount(), RED_WG,
                            flat(x, off, mask, hasMask, b.at(Role.DY, 0), b.at(Role.DW, 0), g)));
                }
            }
            case BACKWARD_BIAS -> out.add(new Launch("deform_bias_grad", spec.outChannels(), RED_WG,
                    flat(b.at(Role.DY, 0), b.at(Role.DB, 0), spec.batch(), spec.outChannels(), spec.outputSpatial())));
            case BACKWARD_DATA, BACKWARD_OFFSET_MASK -> {
                long colTotal = nb * perItem;
                if (gemm) { // col = W^T dy: the 1x1 convolution's data gradient, written into the column buffer
                    Map<Role, Object> m = new EnumMap<>(Role.class);
                    m.put(Role.DY, b.at(Role.DY, n0 * outPerItem));
                    m.put(Role.W, b.at(Role.W, 0));
                    m.put(Role.DX, col);
                    out.add(new Gemm(Pass.BACKWARD_DATA, gemmSpec(spec, nb, false), m, false));
                } else {
                    long[] cg = gridFor(colTotal, sms);
                    out.add(new Launch("deform_col_grad", cg[0], THREADS, flat(b.at(Role.DY, 0), b.at(Role.W, 0), col, g, n0,
                            colTotal, cg[1])));
                }
                if (plan.pass() == Pass.BACKWARD_DATA) {
                    Object dx = b.at(Role.DX, 0);
                    switch (plan.inputGradient()) {
                        case PLANES -> {
                            long total = (long) nb * spec.inChannels();
                            long[] ig = gridFor(total, sms);
                            out.add(new Launch("deform_input_grad", ig[0], THREADS, flat(col, off, mask, hasMask, dx, g, n0, total, ig[1])));
                        }
                        case ROWS -> {
                            long total = (long) nb * spec.inChannels() * spec.input(0);
                            long[] ig = gridFor(total, sms);
                            out.add(new Launch("deform_input_grad_rows", ig[0], THREADS,
                                    flat(col, off, mask, hasMask, dx, g, n0, total, ig[1])));
                        }
                        case ATOMIC_SCATTER -> {
                            long planes = (long) spec.inChannels() * spec.inputSpatial();
                            out.add(new Zero(b.at(Role.DX, n0 * planes), nb * planes));
                            long[] ig = gridFor(colTotal, sms);
                            out.add(new Launch("deform_col2im_atomic", ig[0], THREADS,
                                    flat(col, off, mask, hasMask, dx, g, n0, colTotal, ig[1])));
                        }
                        case NONE -> throw new IllegalStateException("a BACKWARD_DATA plan without an input-gradient scatter: " + plan);
                    }
                } else {
                    long total = (long) nb * spec.offsetGroups() * spec.kernelVolume() * spec.outputSpatial();
                    long[] og = gridFor(total, sms);
                    Object dmask = spec.modulated() ? b.at(Role.DMASK, 0) : b.at(Role.DOFFSET, 0);
                    out.add(new Launch("deform_offset_mask_grad", og[0], THREADS, flat(x, off, mask, hasMask, col,
                            b.at(Role.DOFFSET, 0), dmask, g, n0, total, og[1])));
                }
            }
        }
        return out;
    }

    private static Launch im2col(Object x, Object off, Object mask, int hasMask, Object col, int[] g, int n0, long total, int sms) {
        long[] grid = gridFor(total, sms);
        return new Launch("deform_im2col", grid[0], THREADS, flat(x, off, mask, hasMask, col, g, n0, total, grid[1]));
    }

    /** How many chunks a pass of {@code plan} runs: direct passes without a column take the whole batch at once, even an empty one. */
    static int chunks(DeformablePlan plan, ConvSpec spec) {
        boolean column = plan.route() == DeformablePlan.Route.COLUMNS_GEMM || plan.pass() == Pass.BACKWARD_DATA
                || plan.pass() == Pass.BACKWARD_OFFSET_MASK;
        return column ? plan.chunks(spec.batch()) : 1;
    }
}
