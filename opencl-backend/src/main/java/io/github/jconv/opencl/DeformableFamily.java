package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.plan.DeformablePlan;
import io.github.jconv.spi.ConvGeometry;
import io.github.jconv.spi.Support;
import org.jocl.cl_mem;

import static io.github.jconv.opencl.StandardConvFamily.mem;

/**
 * Deformable convolution v1/v2 (2D) on deformable.cl and gemm.cl, planned by core's {@link DeformablePlan} (the
 * planner cuda's DeformableRunner uses too) with this device's facts ({@link Algorithms#deformableTarget}):
 * the direct kernels, or sampled columns (deform_im2col) and gemm.cl GEMMs, in the plan's chunks of batch
 * items; the data gradient as a column gradient and then the plan's per-plane or per-row scatter, the offset and
 * mask gradient as a gather. The label ({@code lastAlgorithm()}) names the kernels, the chunks and, for the
 * direct route, the plan's reason.
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

    /** This session's facts as the deformable plan takes them. */
    DeformablePlan.Target target() {
        return Algorithms.deformableTarget(settings.mode(), cl.info.type(), settings.deformScatter(), settings.columnBudgetBytes(),
                cl.dev.maxAllocBytes());
    }

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        if (dtype == DType.FP16) {
            return Support.no("the OpenCL backend has no FP16 deformable kernels (FP16 covers the other convolution types); "
                    + "use FP32, or the cuda backend for FP16 deformable convolution");
        }
        long max = cl.dev.maxAllocBytes();
        // the input and offset gradients need a column of at least one item whatever the route: it must be one buffer
        long colPerBatch = ConvGeometry.productOrMinusOne(DeformablePlan.columnElementsPerItem(spec), dtype.bytes());
        if ((pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_OFFSET_MASK) && spec.batch() > 0 && (colPerBatch < 0 || colPerBatch > max)) {
            return Support.no("the column gradient of one batch item needs " + (colPerBatch < 0 ? "more than " + Long.MAX_VALUE : colPerBatch)
                    + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + max + "; use fewer channels or a smaller output");
        }
        return OpenClSession.fitsOneAllocation(cl, dtype, spec.offsetShape());
    }

    @Override
    public Algorithms.Choice plan(ConvSpec spec, Pass pass, DType dtype) {
        return Algorithms.deformable(spec, pass, dtype, target());
    }

    @Override
    public void run(Algorithms.Choice choice, Pass pass, ConvSpec spec, ConvArgs a, DType dt) {
        if (dt == DType.FP16) throw new UnsupportedOperationException(supports(spec, pass, dt).reason());
        DeformablePlan plan = choice.deformable();
        if (plan == null || plan.pass() != pass) {
            throw new IllegalStateException("deformable " + pass + " of " + spec + " run with the choice " + choice + ", not its plan");
        }
        // the spec's tensors and the plan's column scratch: every buffer deformable.cl addresses in this pass
        ClProgram f = programs.program(dt, "deformable", IndexWidth.of(spec, Math.max(0, plan.columnElements())));
        ConvGeometry g = ConvGeometry.of(spec);
        boolean m = spec.modulated() && pass != Pass.BACKWARD_BIAS;
        cl_mem mask = m ? mem(a, Role.MASK) : launch.dummy();
        cl_mem bias = spec.bias() && a.has(Role.B) ? mem(a, Role.B) : null;
        boolean gemm = plan.route() == DeformablePlan.Route.COLUMNS_GEMM;
        switch (pass) {
            case FORWARD -> {
                if (!gemm) {
                    launch.grid(f, "deform_forward", spec.outputShape().elementCount(), new KernelArgs()
                            .buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask).flag(m).buf(mem(a, Role.W)).buf(launch.orDummy(bias))
                            .flag(bias != null).buf(mem(a, Role.Y)).dgeom(g));
                    return;
                }
                cl_mem col = column(plan, dt);
                forChunks(plan, spec, (n0, nb) -> {
                    sampleColumns(f, g, a, mask, m, col, nb, n0);
                    launch.gemm(dt, g.groups(), g.outChannelsPerGroup(), nb * g.outSpatial(), g.columnRows(), weight(g, a, false),
                            columns(g, col, false), perItem(g, a, Role.Y, n0), bias, false);
                });
            }
            case BACKWARD_WEIGHT -> {
                if (!gemm) {
                    launch.groups(f, "deform_weight_grad", spec.weightShape().elementCount(), new KernelArgs()
                            .buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask).flag(m).buf(mem(a, Role.DY)).buf(mem(a, Role.DW)).dgeom(g));
                    return;
                }
                cl_mem col = column(plan, dt);
                long cgt = g.columnRows(), kg = g.outChannelsPerGroup();
                forChunks(plan, spec, (n0, nb) -> {
                    sampleColumns(f, g, a, mask, m, col, nb, n0);
                    // dW (+)= dy_chunk col_chunk^T: the column read transposed (its item blocks split the GEMM's depth)
                    launch.gemm(dt, g.groups(), kg, cgt, nb * g.outSpatial(), perItem(g, a, Role.DY, n0), columns(g, col, true),
                            Mat.of(mem(a, Role.DW), 0, kg * cgt, cgt, 1), null, n0 > 0);
                });
            }
            case BACKWARD_BIAS -> launch.groups(f, "deform_bias_grad", spec.outChannels(), new KernelArgs()
                    .buf(mem(a, Role.DY)).buf(mem(a, Role.DB)).i32(spec.batch()).i32(spec.outChannels()).i64(spec.outputSpatial()));
            case BACKWARD_DATA, BACKWARD_OFFSET_MASK -> columnGradient(f, plan, spec, g, a, mask, m, dt);
        }
    }

    /** The chunk loop of a plan: items n0 .. n0 + nb - 1 of each chunk in turn (none for an empty batch). */
    private interface Chunk {
        void run(int n0, int nb);
    }

    private static void forChunks(DeformablePlan plan, ConvSpec spec, Chunk body) {
        int chunks = plan.chunks(spec.batch());
        for (int i = 0, n0 = 0; i < chunks; i++, n0 += plan.chunkItems()) body.run(n0, Math.min(plan.chunkItems(), spec.batch() - n0));
    }

    /** The session's column scratch, sized as the plan says. */
    private cl_mem column(DeformablePlan plan, DType dt) {
        return memory.scratch(Math.max(1, plan.columnElements()) * dt.bytes());
    }

    /** The weight [K, C/G*KH*KW] per group; {@code transposed}: read as its transpose (the column gradient W^T dy). */
    private static Mat weight(ConvGeometry g, ConvArgs a, boolean transposed) {
        long kg = g.outChannelsPerGroup(), cgt = g.columnRows();
        return transposed ? Mat.of(mem(a, Role.W), 0, kg * cgt, 1, cgt) : Mat.of(mem(a, Role.W), 0, kg * cgt, cgt, 1);
    }

    /** The column buffer of a chunk as [C/G*KH*KW, items * OH*OW] per group; {@code transposed}: as its transpose. */
    private static Mat columns(ConvGeometry g, cl_mem col, boolean transposed) {
        long o = g.outSpatial(), cgt = g.columnRows(), perItem = g.inChannels() * g.kernelVolume() * o;
        return transposed ? Mat.of(col, 0, cgt * o, 1, o).splitRows(o, perItem) : Mat.of(col, 0, cgt * o, o, 1).splitCols(o, perItem);
    }

    /** y or dy from item n0 on as [K/G, items * OH*OW] per group. */
    private static Mat perItem(ConvGeometry g, ConvArgs a, Role role, int n0) {
        long o = g.outSpatial(), k = g.outChannels();
        return Mat.of(mem(a, role), n0 * k * o, g.outChannelsPerGroup() * o, o, 1).splitCols(o, k * o);
    }

    private void sampleColumns(ClProgram f, ConvGeometry g, ConvArgs a, cl_mem mask, boolean m, cl_mem col, int nb, int n0) {
        long perItem = g.inChannels() * g.kernelVolume() * g.outSpatial();
        launch.grid(f, "deform_im2col", nb * perItem, new KernelArgs().buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask).flag(m)
                .buf(col).dgeom(g).i32(n0));
    }

    /** The column gradient W^T dy (a GEMM or a kernel, as planned) per chunk, then the planned input scatter or the offset and mask gather. */
    private void columnGradient(ClProgram f, DeformablePlan plan, ConvSpec spec, ConvGeometry g, ConvArgs a, cl_mem mask, boolean m,
                                DType dt) {
        boolean viaGemm = plan.route() == DeformablePlan.Route.COLUMNS_GEMM;
        long perItem = g.inChannels() * g.kernelVolume() * g.outSpatial();
        cl_mem col = column(plan, dt);
        forChunks(plan, spec, (n0, nb) -> {
            if (viaGemm) {
                launch.gemm(dt, g.groups(), g.columnRows(), nb * g.outSpatial(), g.outChannelsPerGroup(), weight(g, a, true),
                        perItem(g, a, Role.DY, n0), columns(g, col, false), null, false);
            } else {
                launch.grid(f, "deform_col_grad", perItem * nb, new KernelArgs().buf(mem(a, Role.DY)).buf(mem(a, Role.W)).buf(col)
                        .dgeom(g).i32(n0));
            }
            if (plan.pass() == Pass.BACKWARD_DATA) {
                long planes = (long) nb * spec.inChannels();
                String kernel;
                long items;
                switch (plan.inputGradient()) {
                    case PLANES -> {
                        kernel = "deform_input_grad";
                        items = planes;
                    }
                    case ROWS -> {
                        kernel = "deform_input_grad_rows";
                        items = planes * spec.input(0);
                    }
                    default -> throw new IllegalStateException("deformable.cl has no " + plan.inputGradient() + " scatter: " + plan);
                }
                launch.grid(f, kernel, items, new KernelArgs().buf(col).buf(mem(a, Role.OFFSET)).buf(mask).flag(m).buf(mem(a, Role.DX))
                        .dgeom(g).i32(n0));
            } else {
                long total = (long) nb * spec.offsetGroups() * g.kernelVolume() * g.outSpatial();
                launch.grid(f, "deform_offset_mask_grad", total, new KernelArgs().buf(mem(a, Role.X)).buf(mem(a, Role.OFFSET)).buf(mask)
                        .flag(m).buf(col).buf(mem(a, Role.DOFFSET)).buf(m ? mem(a, Role.DMASK) : launch.dummy()).dgeom(g).i32(n0));
            }
        });
    }
}
