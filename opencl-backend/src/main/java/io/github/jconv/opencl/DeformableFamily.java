package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvGeometry;
import io.github.jconv.spi.Support;
import org.jocl.cl_mem;

import static io.github.jconv.opencl.StandardConvFamily.mem;

/**
 * Deformable convolution v1/v2 (2D) on deformable.cl and gemm.cl: direct kernels, or sampled columns
 * (deform_im2col) and GEMMs; the data gradient as a column gradient and then a per-plane or per-row
 * scatter (the selector picks which, {@link Algorithms#rowScatter}), the offset and mask gradient as a gather.
 */
final class DeformableFamily implements OpFamily {
    private final ClContext cl;
    private final ClPrograms programs;
    private final ClMemory memory;
    private final ClLauncher launch;
    private final ClSettings settings;

    DeformableFamily(ClContext cl, ClPrograms programs, ClMemory memory, ClLauncher launch, ClSettings settings) {
        this.cl = cl;
        this.programs = programs;
        this.memory = memory;
        this.launch = launch;
        this.settings = settings;
    }

    @Override
    public boolean handles(ConvSpec spec) {
        return spec.type() == ConvType.DEFORMABLE;
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        if (dtype == DType.FP16) {
            return Support.no("the OpenCL backend has no FP16 deformable kernels (FP16 covers the other convolution types); "
                    + "use FP32, or the cuda backend for FP16 deformable convolution");
        }
        long max = cl.dev.maxAllocBytes();
        long colPerBatch = ConvGeometry.productOrMinusOne(spec.inChannels(), spec.kernelVolume(), spec.outputSpatial(), dtype.bytes());
        if ((pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_OFFSET_MASK) && (colPerBatch < 0 || colPerBatch > max)) {
            return Support.no("the column gradient of one batch item needs " + (colPerBatch < 0 ? "more than " + Long.MAX_VALUE : colPerBatch)
                    + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + max + "; use fewer channels or a smaller output");
        }
        return OpenClSession.fitsOneAllocation(cl, dtype, spec.offsetShape());
    }

    @Override
    public Algorithms.Choice plan(ConvSpec spec, Pass pass, DType dtype) {
        return Algorithms.choose(spec, pass, settings.mode(), cl.dev.maxAllocBytes() / Math.max(1, dtype.bytes()), false,
                settings.rowScatter());
    }

    @Override
    public void run(Algorithms.Choice plan, Pass pass, ConvSpec spec, ConvArgs a, DType dt) {
        if (dt == DType.FP16) throw new UnsupportedOperationException(supports(spec, pass, dt).reason());
        ClProgram f = programs.program(dt, "deformable");
        ConvGeometry g = ConvGeometry.of(spec);
        boolean m = spec.modulated() && pass != Pass.BACKWARD_BIAS;
        cl_mem mask = m ? mem(a, Role.MASK) : launch.dummy();
        cl_mem bias = spec.bias() && a.has(Role.B) ? mem(a, Role.B) : null;
        long groups = g.groups(), o = g.outSpatial(), k = g.outChannels(), cgt = g.columnRows(), kg = g.outChannelsPerGroup();
        // (formed as before the split: only the GEMM paths use it, and the selector sends columns that overflow to the direct ones)
        long perBatch = g.inChannels() * g.kernelVolume() * o;
        switch (plan.path()) {
            case DEFORM_FORWARD -> launch.grid(f, "deform_forward", spec.outputShape().elementCount(), new KernelArgs()
                    .buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask).flag(m).buf(mem(a, Role.W)).buf(launch.orDummy(bias))
                    .flag(bias != null).buf(mem(a, Role.Y)).dgeom(g));
            case DEFORM_FORWARD_GEMM -> {
                int chunk = StandardConvFamily.chunk(cl, settings, spec.batch(), perBatch, dt);
                cl_mem col = memory.scratch(perBatch * chunk * dt.bytes());
                for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                    int nb = Math.min(chunk, spec.batch() - n0);
                    sampleColumns(f, g, a, mask, m, col, nb, n0, perBatch);
                    launch.gemm(dt, groups, kg, nb * o, cgt, Mat.of(mem(a, Role.W), 0, kg * cgt, cgt, 1),
                            Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perBatch),
                            Mat.of(mem(a, Role.Y), n0 * k * o, kg * o, o, 1).splitCols(o, k * o), bias, false);
                }
            }
            case DEFORM_WEIGHT -> launch.groups(f, "deform_weight_grad", spec.weightShape().elementCount(), new KernelArgs()
                    .buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask).flag(m).buf(mem(a, Role.DY)).buf(mem(a, Role.DW)).dgeom(g));
            case DEFORM_WEIGHT_GEMM -> {
                int chunk = StandardConvFamily.chunk(cl, settings, spec.batch(), perBatch, dt);
                cl_mem col = memory.scratch(perBatch * chunk * dt.bytes());
                for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                    int nb = Math.min(chunk, spec.batch() - n0);
                    sampleColumns(f, g, a, mask, m, col, nb, n0, perBatch);
                    launch.gemm(dt, groups, kg, cgt, nb * o, Mat.of(mem(a, Role.DY), n0 * k * o, kg * o, o, 1).splitCols(o, k * o),
                            Mat.of(col, 0, cgt * o, 1, o).splitRows(o, perBatch), Mat.of(mem(a, Role.DW), 0, kg * cgt, cgt, 1), null, n0 > 0);
                }
            }
            case DEFORM_BIAS -> launch.groups(f, "deform_bias_grad", spec.outChannels(), new KernelArgs()
                    .buf(mem(a, Role.DY)).buf(mem(a, Role.DB)).i32(spec.batch()).i32(spec.outChannels()).i64(spec.outputSpatial()));
            case DEFORM_DATA, DEFORM_DATA_ROWS, DEFORM_OFFSET_MASK, DEFORM_DATA_GEMM, DEFORM_DATA_GEMM_ROWS, DEFORM_OFFSET_MASK_GEMM ->
                    columnGradient(f, plan.path(), pass, spec, g, a, mask, m, dt);
            default -> throw new IllegalStateException("path " + plan.path() + " is not a deformable path");
        }
    }

    private void sampleColumns(ClProgram f, ConvGeometry g, ConvArgs a, cl_mem mask, boolean m, cl_mem col, int nb, int n0, long perBatch) {
        launch.grid(f, "deform_im2col", nb * perBatch, new KernelArgs().buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask).flag(m)
                .buf(col).dgeom(g).i32(n0));
    }

    /** The column gradient W^T dy (a kernel or a GEMM) per chunk, then the input scatter or the offset and mask gather. */
    private void columnGradient(ClProgram f, Algorithms.Path path, Pass pass, ConvSpec spec, ConvGeometry g, ConvArgs a, cl_mem mask,
                                boolean m, DType dt) {
        boolean viaGemm = path == Algorithms.Path.DEFORM_DATA_GEMM || path == Algorithms.Path.DEFORM_DATA_GEMM_ROWS
                || path == Algorithms.Path.DEFORM_OFFSET_MASK_GEMM;
        boolean rows = path == Algorithms.Path.DEFORM_DATA_ROWS || path == Algorithms.Path.DEFORM_DATA_GEMM_ROWS;
        long groups = g.groups(), o = g.outSpatial(), k = g.outChannels(), cgt = g.columnRows(), kg = g.outChannelsPerGroup();
        long perBatch = g.inChannels() * g.kernelVolume() * o;
        int chunk = StandardConvFamily.chunk(cl, settings, spec.batch(), perBatch, dt);
        cl_mem col = memory.scratch(perBatch * chunk * dt.bytes());
        for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
            int nb = Math.min(chunk, spec.batch() - n0);
            if (viaGemm) {
                // Column gradient W^T dy_n: the weight read with its two strides swapped.
                launch.gemm(dt, groups, cgt, nb * o, kg, Mat.of(mem(a, Role.W), 0, kg * cgt, 1, cgt),
                        Mat.of(mem(a, Role.DY), n0 * k * o, kg * o, o, 1).splitCols(o, k * o),
                        Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perBatch), null, false);
            } else {
                launch.grid(f, "deform_col_grad", perBatch * nb, new KernelArgs().buf(mem(a, Role.DY)).buf(mem(a, Role.W)).buf(col)
                        .dgeom(g).i32(n0));
            }
            if (pass == Pass.BACKWARD_DATA) {
                long planes = (long) nb * spec.inChannels();
                launch.grid(f, rows ? "deform_input_grad_rows" : "deform_input_grad", rows ? planes * spec.input(0) : planes,
                        new KernelArgs().buf(col).buf(mem(a, Role.OFFSET)).buf(mask).flag(m).buf(mem(a, Role.DX)).dgeom(g).i32(n0));
            } else {
                long total = (long) nb * spec.offsetGroups() * g.kernelVolume() * o;
                launch.grid(f, "deform_offset_mask_grad", total, new KernelArgs().buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask)
                        .flag(m).buf(col).buf(mem(a, Role.DOFFSET)).buf(m ? mem(a, Role.DMASK) : launch.dummy()).dgeom(g).i32(n0));
            }
        }
    }
}
