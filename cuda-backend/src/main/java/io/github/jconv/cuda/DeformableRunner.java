package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

import java.util.ArrayList;
import java.util.List;

/**
 * Deformable convolution v1/v2 on jconv's own kernels: kernels-cl's deformable.cl compiled to PTX
 * through opencl_to_cuda.h, launched with the argument lists that file documents. Every pass is
 * deterministic (no atomics: the input gradient gathers per image plane, reductions are trees).
 */
final class DeformableRunner {
    /** Work-group size the reduction kernels were compiled for (build-ptx.sh's RED_WG). */
    static final int RED_WG = 128;
    static final int THREADS = 256;

    private final CudaBackend session;

    DeformableRunner(CudaBackend session) {
        this.session = session;
    }

    /** Which dtypes have PTX. */
    static boolean hasKernels(DType dtype) {
        return dtype == DType.FP32 || dtype == DType.FP64;
    }

    static String ptx(DType dtype) {
        return dtype == DType.FP64 ? "deformable_f64.ptx" : "deformable_f32.ptx";
    }

    /** The 17 geometry ints every kernel takes (DGEOM in deformable.cl). */
    static int[] geometry(ConvSpec s) {
        return new int[]{s.batch(), s.inChannels(), s.outChannels(), s.groups(), s.offsetGroups(),
                s.input(0), s.input(1), s.output(0), s.output(1), s.kernel(0), s.kernel(1),
                s.stride(0), s.stride(1), s.paddingLo(0), s.paddingLo(1), s.dilation(0), s.dilation(1)};
    }

    /**
     * Batches per chunk of the column buffer [batches, C, kh*kw, oh, ow] used by the data and
     * offset gradients: as many as fit the workspace limit, at least one.
     */
    static int chunkBatches(ConvSpec s, DType dtype, long workspaceLimit) {
        long perBatch = (long) s.inChannels() * s.kernelVolume() * s.outputSpatial() * dtype.bytes();
        long fit = perBatch == 0 ? s.batch() : workspaceLimit / perBatch;
        return (int) Math.max(1, Math.min(s.batch(), fit));
    }

    /** Grid-stride launch shape: blocks and the stride in items. */
    static long[] gridFor(long total, int sms) {
        long blocks = Math.max(1, Math.min((total + THREADS - 1) / THREADS, (long) Math.max(sms, 1) * 32));
        return new long[]{blocks, blocks * THREADS};
    }

    String run(Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        String problem = spec.toString();
        DeviceContext ctx = session.context();
        String module = ptx(dtype);
        int[] g = geometry(spec);
        CUdeviceptr x = ptr(args, Role.X);
        CUdeviceptr off = ptr(args, Role.OFFSET);
        CUdeviceptr mask = spec.modulated() ? ptr(args, Role.MASK) : off; // never read when has_mask = 0
        int hasMask = spec.modulated() ? 1 : 0;
        int sms = session.multiprocessors();
        switch (pass) {
            case FORWARD -> {
                long total = (long) spec.batch() * spec.outChannels() * spec.outputSpatial();
                long[] grid = gridFor(total, sms);
                CUdeviceptr b = spec.bias() ? ptr(args, Role.B) : x;
                launch(ctx, module, "deform_forward", grid[0], THREADS, problem,
                        args(x, off, mask, hasMask, ptr(args, Role.W), b, spec.bias() ? 1 : 0, ptr(args, Role.Y), g, total, grid[1]));
                return "deformable forward (jconv kernel)";
            }
            case BACKWARD_DATA, BACKWARD_OFFSET_MASK -> {
                int chunk = chunkBatches(spec, dtype, session.options().workspaceLimit());
                long perBatchCol = (long) spec.inChannels() * spec.kernelVolume() * spec.outputSpatial();
                CUdeviceptr col = ctx.alloc(perBatchCol * chunk * dtype.bytes(), problem);
                try {
                    for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                        int nb = Math.min(chunk, spec.batch() - n0);
                        long colTotal = perBatchCol * nb;
                        long[] cg = gridFor(colTotal, sms);
                        launch(ctx, module, "deform_col_grad", cg[0], THREADS, problem,
                                args(ptr(args, Role.DY), ptr(args, Role.W), col, g, n0, colTotal, cg[1]));
                        if (pass == Pass.BACKWARD_DATA) {
                            long total = (long) nb * spec.inChannels();
                            long[] ig = gridFor(total, sms);
                            launch(ctx, module, "deform_input_grad", ig[0], THREADS, problem,
                                    args(col, off, mask, hasMask, ptr(args, Role.DX), g, n0, total, ig[1]));
                        } else {
                            long total = (long) nb * spec.offsetGroups() * spec.kernelVolume() * spec.outputSpatial();
                            long[] og = gridFor(total, sms);
                            CUdeviceptr dmask = spec.modulated() ? ptr(args, Role.DMASK) : ptr(args, Role.DOFFSET);
                            launch(ctx, module, "deform_offset_mask_grad", og[0], THREADS, problem,
                                    args(x, off, mask, hasMask, col, ptr(args, Role.DOFFSET), dmask, g, n0, total, og[1]));
                        }
                    }
                    ctx.synchronize(problem); // the column buffer is freed next
                } finally {
                    ctx.free(col);
                }
                return pass == Pass.BACKWARD_DATA ? "deformable input gradient (jconv kernels, " + chunk + " batch(es) per chunk)"
                        : "deformable offset" + (spec.modulated() ? "+mask" : "") + " gradient (jconv kernels, " + chunk + " batch(es) per chunk)";
            }
            case BACKWARD_WEIGHT -> {
                long groups = spec.weightShape().elementCount();
                launch(ctx, module, "deform_weight_grad", groups, RED_WG, problem,
                        args(x, off, mask, hasMask, ptr(args, Role.DY), ptr(args, Role.DW), g));
                return "deformable weight gradient (jconv kernel, tree reduction)";
            }
            case BACKWARD_BIAS -> {
                launch(ctx, module, "deform_bias_grad", spec.outChannels(), RED_WG, problem,
                        args(ptr(args, Role.DY), ptr(args, Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial()));
                return "deformable bias gradient (jconv kernel, tree reduction)";
            }
            default -> throw new AssertionError(pass);
        }
    }

    private static void launch(DeviceContext ctx, String module, String kernel, long blocks, int threads, String problem, Pointer params) {
        CUfunction f = ctx.function(module, kernel);
        ctx.launch(f, kernel, blocks, threads, params, problem);
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

    private static CUdeviceptr ptr(ConvArgs args, Role r) {
        return ((CudaBuffer) args.get(r)).ptr;
    }
}
