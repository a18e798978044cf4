package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.cuda.KernelLaunch.Launch;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.spi.Support;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

import static io.github.jconv.cuda.DeformableSteps.CONVERT_PTX;
import static io.github.jconv.cuda.DeformableSteps.convert;
import static io.github.jconv.cuda.DeformableSteps.widened;
import static io.github.jconv.cuda.KernelLaunch.launch;

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
 * The steps of each chunk, with the kernels' argument lists, come from {@link DeformableSteps} (pure); this class
 * holds the family's support rule, its plan, the mode switch and the run.
 * FP16 and BF16 storage computes in FP32: inputs widened into working copies, outputs rounded once (convert.cu).
 * The algorithm label says which route, which cuDNN algorithm, which scatter and how many chunks ran.
 */
final class DeformableFamily implements CudaFamily<DeformablePlan> {
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

    DeformableFamily(CudaBackend session, CudnnRunner cudnn, Mode mode) {
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

    @Override
    public boolean handles(ConvSpec spec) {
        return spec.type() == ConvType.DEFORMABLE;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype, int cc) {
        return rule(cc);
    }

    /** The family's rule: FP32 and FP64 run their own kernels; FP16 and BF16 storage computes in FP32 working copies. */
    static Support rule(int cc) {
        if (cc < 75) return Support.no("jconv's kernels are PTX for compute_75 and up; this device is " + cc / 10 + "." + cc % 10);
        return Support.yes();
    }

    /** The plan of the dtype the kernels compute in (FP32 for the 16-bit storage types), before any cuDNN refusal is applied. */
    @Override
    public DeformablePlan plan(ConvSpec spec, Pass pass, DType dtype) {
        return plan(spec, pass, dtype, session.options(), mode);
    }

    static DeformablePlan plan(ConvSpec spec, Pass pass, DType dtype, CudaOptions options, Mode mode) {
        return DeformablePlan.of(spec, pass, widened(dtype) ? DType.FP32 : dtype, target(options, mode));
    }

    /** What this session offers the plan: a GPU with cuDNN's GEMM (unless direct is forced), the column budget. */
    static DeformablePlan.Target target(CudaOptions o, Mode mode) {
        return new DeformablePlan.Target(DeformablePlan.DeviceKind.GPU, o.deterministic(), mode == Mode.AUTO,
                Math.min(DeformablePlan.DEFAULT_COLUMN_BUDGET, o.workspaceLimit()), CudnnPlan.CUDNN_MAX_ELEMENTS);
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

    @Override
    public String run(DeformablePlan plan, Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        String problem = spec.toString();
        Map<Role, CUdeviceptr> bufs = new EnumMap<>(Role.class);
        args.asMap().forEach((r, b) -> bufs.put(r, ((CudaBuffer) b).ptr));
        if (widened(dtype)) return runWidened(plan, pass, spec, dtype, bufs, problem);
        return runPlanned(plan, pass, spec, dtype, bufs, problem);
    }

    /**
     * FP16 / BF16 storage: every bound tensor gets an FP32 working copy (session scratch, one slot per role, kept
     * and grown like the column buffer); inputs are widened exactly, the FP32 path runs, and each output is rounded
     * once into its 16-bit buffer. So the result is the FP32 computation on the stored values, rounded once.
     */
    private String runWidened(DeformablePlan plan, Pass pass, ConvSpec spec, DType dtype, Map<Role, CUdeviceptr> bufs, String problem) {
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
        String ran = runPlanned(plan, pass, spec, DType.FP32, wide, problem);
        for (Launch l : narrow) launch(ctx, CONVERT_PTX, l, problem);
        return ran + " (" + dtype + " storage, FP32 compute)";
    }

    /** The plan's route, with the direct kernels as the fallback where cuDNN refuses the 1x1 GEMM. */
    private String runPlanned(DeformablePlan plan, Pass pass, ConvSpec spec, DType dtype, Map<Role, CUdeviceptr> bufs, String problem) {
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
        String module = DeformableSteps.ptx(dtype);
        int sms = session.multiprocessors();
        long es = dtype.bytes();
        DeformableSteps.Binder b = (r, e) -> {
            CUdeviceptr p = bufs.get(r);
            if (p == null) throw new IllegalStateException("no " + r.label() + " buffer bound for deformable " + plan.pass() + " of " + problem);
            return e == 0 ? p : DeviceAddress.deviceptr(DeviceAddress.of(p) + e * es);
        };
        CUdeviceptr col = plan.columnElements() > 0 ? ctx.scratch("column", plan.columnElements() * es, problem) : null;
        int chunks = DeformableSteps.chunks(plan, spec);
        String gemm = null;
        for (int i = 0, n0 = 0; i < chunks; i++, n0 += plan.chunkItems()) {
            int nb = Math.min(plan.chunkItems(), spec.batch() - n0);
            for (DeformableSteps.Step s : DeformableSteps.steps(plan, spec, sms, b, col, n0, nb)) {
                if (s instanceof Launch l) {
                    launch(ctx, module, l, problem);
                } else if (s instanceof DeformableSteps.Gemm gm) {
                    Map<Role, CUdeviceptr> ptrs = new EnumMap<>(Role.class);
                    gm.bind().forEach((r, p) -> ptrs.put(r, (CUdeviceptr) p));
                    gemm = cudnn.runBound(gm.pass(), gm.spec(), dtype, ptrs, gm.accumulate());
                } else if (s instanceof DeformableSteps.Zero z) {
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
}
