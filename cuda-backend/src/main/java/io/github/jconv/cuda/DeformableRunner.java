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

    /** One kernel launch: the kernel, its 1D grid and its arguments in declaration order. */
    record Launch(String kernel, long blocks, int threads, Object[] args) {
    }

    /**
     * The launches of one pass (for BACKWARD_DATA and BACKWARD_OFFSET_MASK, of one chunk of batches
     * starting at n0): pure, so the argument lists can be checked against the PTX without a GPU.
     * {@code buf} gives the device pointer (or, in tests, any stand-in) of each role; {@code col}
     * is the column scratch buffer.
     */
    static List<Launch> launches(Pass pass, ConvSpec spec, int sms, java.util.function.Function<Role, Object> buf, Object col,
                                 int n0, int nb) {
        int[] g = geometry(spec);
        Object x = buf.apply(Role.X);
        Object off = buf.apply(Role.OFFSET);
        Object mask = spec.modulated() ? buf.apply(Role.MASK) : off; // never read when has_mask = 0
        int hasMask = spec.modulated() ? 1 : 0;
        List<Launch> out = new ArrayList<>();
        switch (pass) {
            case FORWARD -> {
                long total = (long) spec.batch() * spec.outChannels() * spec.outputSpatial();
                long[] grid = gridFor(total, sms);
                Object b = spec.bias() ? buf.apply(Role.B) : x;
                out.add(new Launch("deform_forward", grid[0], THREADS, flat(x, off, mask, hasMask, buf.apply(Role.W), b,
                        spec.bias() ? 1 : 0, buf.apply(Role.Y), g, total, grid[1])));
            }
            case BACKWARD_DATA, BACKWARD_OFFSET_MASK -> {
                long colTotal = (long) spec.inChannels() * spec.kernelVolume() * spec.outputSpatial() * nb;
                long[] cg = gridFor(colTotal, sms);
                out.add(new Launch("deform_col_grad", cg[0], THREADS, flat(buf.apply(Role.DY), buf.apply(Role.W), col, g, n0,
                        colTotal, cg[1])));
                if (pass == Pass.BACKWARD_DATA) {
                    long total = (long) nb * spec.inChannels();
                    long[] ig = gridFor(total, sms);
                    out.add(new Launch("deform_input_grad", ig[0], THREADS, flat(col, off, mask, hasMask, buf.apply(Role.DX), g, n0,
                            total, ig[1])));
                } else {
                    long total = (long) nb * spec.offsetGroups() * spec.kernelVolume() * spec.outputSpatial();
                    long[] og = gridFor(total, sms);
                    Object dmask = spec.modulated() ? buf.apply(Role.DMASK) : buf.apply(Role.DOFFSET);
                    out.add(new Launch("deform_offset_mask_grad", og[0], THREADS, flat(x, off, mask, hasMask, col,
                            buf.apply(Role.DOFFSET), dmask, g, n0, total, og[1])));
                }
            }
            case BACKWARD_WEIGHT -> out.add(new Launch("deform_weight_grad", spec.weightShape().elementCount(), RED_WG,
                    flat(x, off, mask, hasMask, buf.apply(Role.DY), buf.apply(Role.DW), g)));
            case BACKWARD_BIAS -> out.add(new Launch("deform_bias_grad", spec.outChannels(), RED_WG,
                    flat(buf.apply(Role.DY), buf.apply(Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial())));
        }
        return out;
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

    String run(Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        String problem = spec.toString();
        DeviceContext ctx = session.context();
        String module = ptx(dtype);
        int sms = session.multiprocessors();
        java.util.function.Function<Role, Object> buf = r -> args.get(r) == null ? null : ((CudaBuffer) args.get(r)).ptr;
        if (pass != Pass.BACKWARD_DATA && pass != Pass.BACKWARD_OFFSET_MASK) {
            for (Launch l : launches(pass, spec, sms, buf, null, 0, spec.batch())) launch(ctx, module, l, problem);
            return switch (pass) {
                case FORWARD -> "deformable forward (jconv kernel)";
                case BACKWARD_WEIGHT -> "deformable weight gradient (jconv kernel, tree reduction)";
                default -> "deformable bias gradient (jconv kernel, tree reduction)";
            };
        }
        int chunk = chunkBatches(spec, dtype, session.options().workspaceLimit());
        long perBatchCol = (long) spec.inChannels() * spec.kernelVolume() * spec.outputSpatial();
        CUdeviceptr col = ctx.scratch("column", perBatchCol * chunk * dtype.bytes(), problem);
        for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
            int nb = Math.min(chunk, spec.batch() - n0);
            for (Launch l : launches(pass, spec, sms, buf, col, n0, nb)) launch(ctx, module, l, problem);
        }
        return (pass == Pass.BACKWARD_DATA ? "deformable input gradient" : "deformable offset" + (spec.modulated() ? "+mask" : "")
                + " gradient") + " (jconv kernels, " + chunk + " batch(es) per chunk)";
    }

    private static void launch(DeviceContext ctx, String module, Launch l, String problem) {
        CUfunction f = ctx.function(module, l.kernel());
        ctx.launch(f, l.kernel(), l.blocks(), l.threads(), args(l.args()), problem);
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
