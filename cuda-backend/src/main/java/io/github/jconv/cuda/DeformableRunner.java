package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.spi.ConvGeometry;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Deformable convolution v1/v2 on the GPU, planned by {@link DeformablePlan}, in the manner of torchvision:
 * <ul>
 * <li>column route (the default): deform_im2col samples a chunk of batch items into the column buffer
 *     col [items, C*KH*KW, OH*OW]; the GEMMs are cuDNN 1x1 convolutions over col viewed as NCHW
 *     (C*KH*KW channels, OH x OW), grouped like the deformable convolution, with the weight [K, C/G, KH, KW]
 *     read as [K, C/G*KH*KW, 1, 1] (same memory): forward y = conv(col, w) (+ bias by cuDNN),
 *     weight gradient dw = backward-filter(col, dy) accumulated over the chunks (beta = 1 after the first),
 *     column gradient = backward-data(w, dy) = W^T dy, from which deform_offset_mask_grad gives the
 *     offset and mask gradients and the input gradient is scattered by deform_input_grad_rows (deterministic:
 *     identical bits from call to call) or, with {@code jconv.cuda.deterministic=false}, by
 *     deform_col2im_atomic (atomic adds);</li>
 * <li>direct route: jconv's kernels without GEMM (one output per thread, tree reductions, deform_col_grad),
 *     taken where the plan says (a column of one item over cuDNN's int indexing), where cuDNN refuses the 1x1
 *     problem (remembered for the session), or everywhere with {@code jconv.cuda.deformable=direct}.</li>
 * </ul>
 * Kernels: kernels-cl's deformable.cl plus deformable_scatter.cu, compiled to PTX through opencl_to_cuda.h.
 * FP16 and BF16 storage computes in FP32: inputs widened into working copies, outputs rounded once (convert.cu).
 * The algorithm label says which route, which cuDNN algorithm, which scatter and how many chunks ran.
 */
final class DeformableRunner {
    /** Work-group size the reduction kernels were compiled for (build-ptx.sh's RED_WG). */
    static final int RED_WG = 128;
    static final int THREADS = 256;
    static final String PROPERTY = "jconv.cuda.deformable";
    static final String ENV = "JCONV_CUDA_DEFORMABLE";

    /** {@code jconv.cuda.deformable}: auto (the plan's route: columns + cuDNN GEMM where it can) or direct. */
    enum Mode {
        AUTO,
        DIRECT
    }

    private final CudaBackend session;
    private final CudnnRunner cudnn;
    private final Mode mode;
    /** Problems (line, pass, dtype) whose 1x1 GEMM cuDNN refused, with why: they run direct for the rest of the session. */
    private final Map<String, String> refused = new HashMap<>();

    DeformableRunner(CudaBackend session, CudnnRunner cudnn, Mode mode) {
        this.session = session;
        this.cudnn = cudnn;
        this.mode = mode;
    }

    static Mode mode(Properties props, Map<String, String> env) {
        String v = props.getProperty(PROPERTY);
        if (v == null || v.isBlank()) v = env.get(ENV);
        if (v == null || v.isBlank()) return Mode.AUTO;
        try {
            return Mode.valueOf(v.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + " = " + v + ": must be auto or direct; e.g. auto");
        }
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

    /** What this session offers the plan: a GPU with cuDNN's GEMM (unless direct is forced), the column budget. */
    static DeformablePlan.Target target(CudaOptions o, Mode mode) {
        return new DeformablePlan.Target(DeformablePlan.DeviceKind.GPU, o.deterministic(), mode == Mode.AUTO,
                Math.min(DeformablePlan.DEFAULT_COLUMN_BUDGET, o.workspaceLimit()), CudnnPlan.CUDNN_MAX_ELEMENTS);
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

    /** Grid-stride launch shape: blocks and the stride in items. */
    static long[] gridFor(long total, int sms) {
        long blocks = Math.max(1, Math.min((total + THREADS - 1) / THREADS, (long) Math.max(sms, 1) * 32));
        return new long[]{blocks, blocks * THREADS};
    }

    /** One step of a chunk: a kernel launch, a cuDNN GEMM or a zero fill. */
    sealed interface Step permits Launch, Gemm, Zero {
    }

    /** One kernel launch: the kernel, its 1D grid and its arguments in declaration order. */
    record Launch(String kernel, long blocks, int threads, Object[] args) implements Step {
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

    /** Arguments with int[] spread into Integers (the geometry). */
    static Object[] flat(Object... values) {
        List<Object> out = new ArrayList<>();
        for (Object v : values) {
            if (v instanceof int[] a) {
                for (int i : a) out.add(i);
            } else {
                out.add(v);
            }
        }
        return out.toArray();
    }

    /**
     * Why a failure of the column route's GEMM lets the direct route run instead, or null when it must
     * propagate: cuDNN has no algorithm or reports the problem unsupported (remembered), or memory ran out for
     * the column buffer or the GEMM's workspace (not remembered: memory may free up).
     */
    static String refusal(RuntimeException e) {
        if (e instanceof UnsupportedOperationException) return "cuDNN refused the 1x1 GEMM: " + e.getMessage();
        if (e instanceof CudaOutOfMemoryException) return "out of memory on the column route: " + e.getMessage();
        if (e instanceof CudaException c && !c.sticky() && c.library().equals(CudaStatus.Library.CUDNN.label)
                && c.status().startsWith("CUDNN_STATUS_NOT_SUPPORTED")) {
            return "cuDNN refused the 1x1 GEMM: " + e.getMessage();
        }
        return null;
    }

    String run(Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        String problem = spec.toString();
        Map<Role, CUdeviceptr> bufs = new EnumMap<>(Role.class);
        args.asMap().forEach((r, b) -> bufs.put(r, ((CudaBuffer) b).ptr));
        if (widened(dtype)) return runWidened(pass, spec, dtype, bufs, problem);
        return runPlanned(pass, spec, dtype, bufs, problem);
    }

    /**
     * FP16 / BF16 storage: every bound tensor gets an FP32 working copy (session scratch, one slot per role, kept
     * and grown like the column buffer); inputs are widened exactly, the FP32 path runs, and each output is rounded
     * once into its 16-bit buffer. So the result is the FP32 computation on the stored values, rounded once.
     */
    private String runWidened(Pass pass, ConvSpec spec, DType dtype, Map<Role, CUdeviceptr> bufs, String problem) {
        DeviceContext ctx = session.context();
        int sms = session.multiprocessors();
        java.util.Set<Role> outs = pass.outputs(spec);
        Map<Role, CUdeviceptr> wide = new EnumMap<>(Role.class);
        List<Launch> narrow = new ArrayList<>();
        for (Map.Entry<Role, CUdeviceptr> e : bufs.entrySet()) {
            Role r = e.getKey();
            long n = r.shapeFor(spec).elementCount();
            CUdeviceptr w = ctx.scratch("fp32 " + r.label(), Math.max(n, 1) * 4, problem);
            wide.put(r, w);
            if (n == 0) continue;
            if (outs.contains(r)) narrow.add(convert(dtype, false, w, e.getValue(), n, sms));
            else launch(ctx, CONVERT_PTX, convert(dtype, true, e.getValue(), w, n, sms), problem);
        }
        String ran = runPlanned(pass, spec, DType.FP32, wide, problem);
        for (Launch l : narrow) launch(ctx, CONVERT_PTX, l, problem);
        return ran + " (" + dtype + " storage, FP32 compute)";
    }

    private static void launch(DeviceContext ctx, String module, Launch l, String problem) {
        CUfunction f = ctx.function(module, l.kernel());
        ctx.launch(f, l.kernel(), l.blocks(), l.threads(), args(l.args()), problem);
    }

    /** The plan's route, with the direct kernels as the fallback where cuDNN refuses the 1x1 GEMM. */
    private String runPlanned(Pass pass, ConvSpec spec, DType dtype, Map<Role, CUdeviceptr> bufs, String problem) {
        DeformablePlan plan = DeformablePlan.of(spec, pass, dtype, target(session.options(), mode));
        String key = problem + " " + pass + " " + dtype;
        String known = refused.get(key);
        if (plan.route() == DeformablePlan.Route.COLUMNS_GEMM && known != null) plan = plan.direct(spec, known);
        if (plan.route() == DeformablePlan.Route.COLUMNS_GEMM) {
            try {
                return execute(plan, spec, dtype, bufs, problem);
            } catch (RuntimeException e) {
                String why = refusal(e);
                if (why == null) throw e;
                if (!(e instanceof CudaOutOfMemoryException)) refused.put(key, why);
                plan = plan.direct(spec, why); // every output is written again from the start
            }
        }
        return execute(plan, spec, dtype, bufs, problem);
    }

    private String execute(DeformablePlan plan, ConvSpec spec, DType dtype, Map<Role, CUdeviceptr> bufs, String problem) {
        DeviceContext ctx = session.context();
        String module = ptx(dtype);
        int sms = session.multiprocessors();
        long es = dtype.bytes();
        Binder b = (r, e) -> {
            CUdeviceptr p = bufs.get(r);
            if (p == null) throw new IllegalStateException("no " + r.label() + " buffer bound for deformable " + plan.pass() + " of " + problem);
            return e == 0 ? p : DeviceAddress.deviceptr(DeviceAddress.of(p) + e * es);
        };
        CUdeviceptr col = plan.columnElements() > 0 ? ctx.scratch("column", plan.columnElements() * es, problem) : null;
        int chunks = chunks(plan, spec);
        String gemm = null;
        for (int i = 0, n0 = 0; i < chunks; i++, n0 += plan.chunkItems()) {
            int nb = Math.min(plan.chunkItems(), spec.batch() - n0);
            for (Step s : steps(plan, spec, sms, b, col, n0, nb)) {
                if (s instanceof Launch l) {
                    launch(ctx, module, l, problem);
                } else if (s instanceof Gemm gm) {
                    Map<Role, CUdeviceptr> ptrs = new EnumMap<>(Role.class);
                    gm.bind().forEach((r, p) -> ptrs.put(r, (CUdeviceptr) p));
                    gemm = cudnn.runBound(gm.pass(), gm.spec(), dtype, ptrs, gm.accumulate());
                } else if (s instanceof Zero z) {
                    ctx.zero((CUdeviceptr) z.at(), z.elements() * es, problem);
                }
            }
        }
        return label(plan, spec, gemm, chunks);
    }

    /** The algorithm label: the pass, the route (with cuDNN's algorithm), the scatter and the chunks. */
    static String label(DeformablePlan plan, ConvSpec spec, String gemmAlgo, int chunks) {
        String what = switch (plan.pass()) {
            case FORWARD -> "forward";
            case BACKWARD_DATA -> "input gradient";
            case BACKWARD_WEIGHT -> "weight gradient";
            case BACKWARD_BIAS -> "bias gradient";
            case BACKWARD_OFFSET_MASK -> "offset" + (spec.modulated() ? "+mask" : "") + " gradient";
        };
        StringBuilder s = new StringBuilder("deformable ").append(what).append(": ");
        if (plan.route() == DeformablePlan.Route.COLUMNS_GEMM) {
            s.append("jconv im2col + cuDNN 1x1 GEMM (").append(gemmAlgo).append(')');
        } else {
            s.append("jconv kernels, direct");
        }
        switch (plan.inputGradient()) {
            case ROWS -> s.append(", input scatter by rows (deterministic)");
            case PLANES -> s.append(", input scatter by planes (deterministic)");
            case ATOMIC_SCATTER -> s.append(", input scatter by atomics (not deterministic)");
            case NONE -> {
            }
        }
        if (plan.columnElements() > 0) s.append(", ").append(chunks).append(" chunk(s) of up to ").append(plan.chunkItems()).append(" item(s)");
        if (plan.route() == DeformablePlan.Route.DIRECT && plan.pass() != Pass.BACKWARD_BIAS) s.append(" [").append(plan.reason()).append(']');
        return s.toString();
    }

    /**
     * Kernel parameters in declaration order: device pointers, ints, longs, and int[] spread as
     * ints (the geometry). Integer and Long boxes keep C int and long apart.
     */
    static Pointer args(Object... values) {
        List<Pointer> ps = new ArrayList<>();
        for (Object v : values) {
            if (v instanceof CUdeviceptr p) ps.add(Pointer.to(p));
            else if (v instanceof Integer i) ps.add(Pointer.to(new int[]{i}));
            else if (v instanceof Long l) ps.add(Pointer.to(new long[]{l}));
            else if (v instanceof int[] a) for (int i : a) ps.add(Pointer.to(new int[]{i}));
            else throw new IllegalArgumentException("kernel argument " + v + ": expected CUdeviceptr, Integer, Long or int[]");
        }
        return Pointer.to(ps.toArray(new Pointer[0]));
    }
}
