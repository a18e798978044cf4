package io.github.jconv.plan;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;

/**
 * How a backend runs one pass of a deformable convolution: a pure function of the problem, the pass,
 * the dtype and what the device offers ({@link Target}), shared by the backends and unit-tested on the CPU.
 *
 * <p>Two routes, in the manner of torchvision:
 * <ul>
 * <li>{@link Route#COLUMNS_GEMM}: the sampled column matrix of a chunk of batch items,
 *     col [items, C*KH*KW, OH*OW] (deform_im2col), turns forward and weight gradient into GEMMs
 *     (y = W col, dW += dy col^T), and the column gradient into one (col = W^T dy), from which the
 *     input, offset and mask gradients follow. The column buffer is bounded: the batch runs in chunks.</li>
 * <li>{@link Route#DIRECT}: no GEMM; forward one output per work item, weight gradient one reduction
 *     per weight element, the column gradient (where a pass needs one) by a kernel that sums W^T dy.</li>
 * </ul>
 * The input gradient (BACKWARD_DATA) scatters the column gradient back through the bilinear sampling:
 * {@link InputGradient#PLANES} (one image plane per work item: few wide items, for CPUs),
 * {@link InputGradient#ROWS} (one image row per work item, the same sums in the same order, so the same bits,
 * with H times the parallelism: GPUs, deterministic) or {@link InputGradient#ATOMIC_SCATTER} (one column element
 * per work item, atomic adds: fastest on GPUs, but the order of the additions, so the last bits, varies
 * from run to run; chosen only when determinism is not asked, the backend has the kernel and the dtype has
 * exact atomic adds).
 *
 * <p>Both device backends plan with this one function (cuda's {@code DeformableRunner}, opencl's
 * {@code DeformableFamily}); where they differ for a real reason, the difference is a value of the
 * {@link Target}: the GEMM (cuDNN's at every size, gemm.cl above a {@link GemmThreshold}), the largest buffer,
 * whether an atomic scatter kernel exists, and a scatter forced by the session.
 *
 * @param pass           the pass planned
 * @param route          how it runs
 * @param inputGradient  the scatter of BACKWARD_DATA; NONE for every other pass
 * @param chunkItems     batch items per chunk of the column buffer (the whole batch when no column is used)
 * @param columnElements elements of the column buffer one chunk needs (0 when none)
 * @param reason         why this route, in words (backends print it when asked which path ran)
 */
public record DeformablePlan(Pass pass, Route route, InputGradient inputGradient, int chunkItems, long columnElements,
                             String reason) {

    /** Column bytes a chunk may hold unless the target says otherwise: 256 MiB. */
    public static final long DEFAULT_COLUMN_BUDGET = 256L << 20;

    /** How a pass runs. */
    public enum Route {
        /** im2col of a chunk of items, then a GEMM (the backend's: cuDNN 1x1 convolution, BLAS...). */
        COLUMNS_GEMM,
        /** jconv's direct kernels, no GEMM. */
        DIRECT
    }

    /** The scatter of the column gradient into the input gradient. */
    public enum InputGradient {
        /** Not BACKWARD_DATA. */
        NONE,
        /** One (item, channel) image plane per work item; deterministic. */
        PLANES,
        /** One (item, channel, row) per work item; the bits of PLANES. */
        ROWS,
        /** One column element per work item with atomic adds; not deterministic. */
        ATOMIC_SCATTER
    }

    /** What runs the kernels. */
    public enum DeviceKind {
        GPU,
        CPU
    }

    /**
     * Below which sizes a backend's GEMM does not pay for the column route, so the direct kernels run: a
     * measured property of the GEMM, not of the plan (cuDNN: {@link #ALWAYS}; OpenCL's gemm.cl on PoCL idles its
     * 64-row tiles on a few rows, and the im2col and GEMM launches cost more than small problems save).
     *
     * @param minMacs the fewest multiply-adds of the forward (N * K * OH*OW * C/G * KH*KW) worth a GEMM
     * @param minRows the fewest rows on each side of the per-group GEMM: K/G output channels and C/G*KH*KW
     *                column rows, both at least this for forward, input and offset gradients, both at least a
     *                quarter of it for the weight gradient (its GEMM is K/G x C/G*KH*KW, each side an outer one)
     */
    public record GemmThreshold(long minMacs, long minRows) {
        /** Every size is worth the GEMM. */
        public static final GemmThreshold ALWAYS = new GemmThreshold(0, 0);

        public GemmThreshold {
            if (minMacs < 0) throw new IllegalArgumentException("minMacs = " + minMacs + ": must be >= 0; e.g. " + (1L << 20));
            if (minRows < 0) throw new IllegalArgumentException("minRows = " + minRows + ": must be >= 0; e.g. 32");
        }
    }

    /**
     * What the device and the session offer: the facts in which backends differ, each an explicit value.
     *
     * @param kind             GPU (many threads: rows, atomics) or CPU (few wide threads: planes)
     * @param deterministic    whether every call must give the same bits
     * @param gemm             whether the column route's GEMM may run (false: the backend has none, or its options
     *                         ask for the direct kernels)
     * @param columnBudget     most bytes of column buffer one chunk may use (at least one item always runs)
     * @param gemmMaxElements  most elements one GEMM operand may have (int indexing: 2^31 - 1)
     * @param maxBufferBytes   largest single device buffer (OpenCL: CL_DEVICE_MAX_MEM_ALLOC_SIZE); the column of
     *                         one item above it cannot exist, so the GEMM route is out
     * @param gemmThreshold    below which sizes the direct kernels beat the GEMM ({@link GemmThreshold#ALWAYS}: never)
     * @param atomicScatter    whether the backend has the atomic input-gradient scatter kernel (CUDA's
     *                         deform_col2im_atomic; OpenCL's deformable.cl has none)
     * @param scatter          the input-gradient scatter the session forces (tuning, tests), or null to let the plan
     *                         choose; PLANES and ROWS give the same bits; ATOMIC_SCATTER needs {@code atomicScatter}
     *                         and no determinism, and FP32 or FP64 (other dtypes get ROWS)
     */
    public record Target(DeviceKind kind, boolean deterministic, boolean gemm, long columnBudget, long gemmMaxElements,
                         long maxBufferBytes, GemmThreshold gemmThreshold, boolean atomicScatter, InputGradient scatter) {
        public Target {
            if (kind == null) throw new IllegalArgumentException("kind = null: choose DeviceKind.GPU or DeviceKind.CPU");
            if (columnBudget < 0) {
                throw new IllegalArgumentException("columnBudget = " + columnBudget + ": must be >= 0 bytes; e.g. " + DEFAULT_COLUMN_BUDGET);
            }
            if (gemmMaxElements < 1) {
                throw new IllegalArgumentException("gemmMaxElements = " + gemmMaxElements + ": must be >= 1; e.g. " + Integer.MAX_VALUE);
            }
            if (maxBufferBytes < 1) {
                throw new IllegalArgumentException("maxBufferBytes = " + maxBufferBytes + ": must be >= 1; e.g. " + Long.MAX_VALUE + " (no limit)");
            }
            if (gemmThreshold == null) {
                throw new IllegalArgumentException("gemmThreshold = null: give one, e.g. GemmThreshold.ALWAYS");
            }
            if (scatter == InputGradient.NONE) {
                throw new IllegalArgumentException("scatter = NONE: force PLANES, ROWS or ATOMIC_SCATTER, or pass null to let the plan choose");
            }
            if (scatter == InputGradient.ATOMIC_SCATTER && (!atomicScatter || deterministic)) {
                throw new IllegalArgumentException("scatter = ATOMIC_SCATTER: needs atomicScatter = true (is " + atomicScatter
                        + ") and deterministic = false (is " + deterministic + "); e.g. scatter = ROWS");
            }
        }

        /**
         * The five facts of the first plan (CUDA's): no buffer limit beyond the budget, the GEMM at every size,
         * the atomic scatter available, the scatter chosen by the plan.
         */
        public Target(DeviceKind kind, boolean deterministic, boolean gemm, long columnBudget, long gemmMaxElements) {
            this(kind, deterministic, gemm, columnBudget, gemmMaxElements, Long.MAX_VALUE, GemmThreshold.ALWAYS, true, null);
        }

        /** A GPU with a GEMM, int-indexed operands and the default column budget. */
        public static Target gpu(boolean deterministic) {
            return new Target(DeviceKind.GPU, deterministic, true, DEFAULT_COLUMN_BUDGET, Integer.MAX_VALUE);
        }
    }

    /** Elements of one batch item's column matrix: C * KH * KW * OH * OW (Long.MAX_VALUE where that overflows). */
    public static long columnElementsPerItem(ConvSpec spec) {
        return saturated(saturated(spec.inChannels(), spec.kernelVolume()), spec.outputSpatial());
    }

    private static long saturated(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
    }

    /** The plan of {@code pass} of the deformable convolution {@code spec} in {@code dtype} on {@code target}. */
    public static DeformablePlan of(ConvSpec spec, Pass pass, DType dtype, Target target) {
        if (spec == null) throw new IllegalArgumentException("spec = null: give a deformable ConvSpec, e.g. ConvSpec.deformable()...build()");
        if (spec.type() != ConvType.DEFORMABLE) {
            throw new IllegalArgumentException("spec = " + spec + ": type is " + spec.type() + ", a DeformablePlan needs DEFORMABLE");
        }
        if (pass == null) throw new IllegalArgumentException("pass = null: choose one, e.g. Pass.FORWARD");
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (target == null) throw new IllegalArgumentException("target = null: give one, e.g. Target.gpu(true)");
        int n = spec.batch();
        long perItem = columnElementsPerItem(spec);
        long outPerItem = saturated(spec.outChannels(), spec.outputSpatial());
        if (pass == Pass.BACKWARD_BIAS) {
            return new DeformablePlan(pass, Route.DIRECT, InputGradient.NONE, n, 0, "the bias gradient sums dy: no column");
        }
        long perItemBytes = saturated(perItem, dtype.bytes());
        // is there a GEMM, does one item fit its operands and the device's buffers, and is the problem worth it?
        String noGemm = null;
        // (the words cuda's labels and tests already carry; they also stand for a GEMM switched off by the options)
        if (!target.gemm()) noGemm = "the backend has no GEMM";
        else if (n == 0) noGemm = "batch 0: nothing to multiply";
        else if (perItem > target.gemmMaxElements()) {
            noGemm = "one item's column matrix has " + perItem + " elements, over the GEMM's limit of " + target.gemmMaxElements();
        } else if (outPerItem > target.gemmMaxElements()) {
            noGemm = "one item's output has " + outPerItem + " elements, over the GEMM's limit of " + target.gemmMaxElements();
        } else if (spec.weightShape().elementCount() > target.gemmMaxElements()) {
            noGemm = "the weight has " + spec.weightShape().elementCount() + " elements, over the GEMM's limit of " + target.gemmMaxElements();
        } else if (perItemBytes > target.maxBufferBytes()) {
            noGemm = "one item's column needs " + perItemBytes + " bytes, over the device's largest buffer of " + target.maxBufferBytes();
        } else {
            noGemm = belowThreshold(spec, pass, target.gemmThreshold());
        }
        Route route = noGemm == null ? Route.COLUMNS_GEMM : Route.DIRECT;
        InputGradient ig = InputGradient.NONE;
        if (pass == Pass.BACKWARD_DATA) ig = inputGradient(dtype, target);
        boolean column = route == Route.COLUMNS_GEMM || pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_OFFSET_MASK;
        int chunk = n;
        long colElems = 0;
        if (column && n > 0) {
            long budget = Math.min(target.columnBudget(), target.maxBufferBytes());
            long fit = perItemBytes == 0 ? n : budget / perItemBytes;
            // every GEMM operand of a chunk (the column, y or dy) stays within the GEMM's indexing
            if (route == Route.COLUMNS_GEMM) fit = Math.min(fit, target.gemmMaxElements() / Math.max(Math.max(perItem, outPerItem), 1));
            chunk = (int) Math.max(1, Math.min(n, fit));
            colElems = perItem * chunk;
        }
        String why;
        if (route == Route.COLUMNS_GEMM) {
            why = "im2col + GEMM in chunks of " + chunk + " of " + n + " item(s) (" + colElems * dtype.bytes() + " column bytes)";
        } else {
            why = "direct kernels: " + noGemm;
        }
        if (ig != InputGradient.NONE) why += "; input gradient by " + describe(ig, target, dtype);
        return new DeformablePlan(pass, route, ig, chunk, colElems, why);
    }

    /** Why the problem is too small or too narrow for the GEMM to pay, or null when it is worth it. */
    private static String belowThreshold(ConvSpec spec, Pass pass, GemmThreshold t) {
        long kg = spec.outChannels() / spec.groups();
        long rows = (long) (spec.inChannels() / spec.groups()) * spec.kernelVolume();
        long side = pass == Pass.BACKWARD_WEIGHT ? t.minRows() / 4 : t.minRows();
        if (kg < side || rows < side) {
            return "the GEMM of a group is " + kg + " x " + rows + " (K/G x C/G*KH*KW), a side under " + side
                    + " rows: the direct kernels are faster";
        }
        long macs = spec.forwardFlops() / 2;
        if (macs < t.minMacs()) {
            return macs + " multiply-adds, under the GEMM's threshold of " + t.minMacs() + ": the direct kernels are faster";
        }
        return null;
    }

    private static boolean exactAtomics(DType dtype) {
        return dtype == DType.FP32 || dtype == DType.FP64;
    }

    private static InputGradient inputGradient(DType dtype, Target t) {
        if (t.scatter() != null) {
            // 16-bit storage has no exact atomic add of the kind the scatter needs: the deterministic rows
            return t.scatter() == InputGradient.ATOMIC_SCATTER && !exactAtomics(dtype) ? InputGradient.ROWS : t.scatter();
        }
        if (t.kind() == DeviceKind.CPU) return InputGradient.PLANES;
        if (!t.deterministic() && t.atomicScatter() && exactAtomics(dtype)) return InputGradient.ATOMIC_SCATTER;
        return InputGradient.ROWS;
    }

    private static String describe(InputGradient ig, Target t, DType dtype) {
        if (t.scatter() == ig) {
            return switch (ig) {
                case PLANES -> "image planes (asked for)";
                case ROWS -> "image rows (asked for)";
                default -> "atomic scatter (asked for; not deterministic)";
            };
        }
        return switch (ig) {
            case PLANES -> "image planes (CPU device)";
            case ROWS -> "image rows" + (t.deterministic() ? " (deterministic)"
                    : !t.atomicScatter() ? " (the backend has no atomic scatter)" : " (" + dtype + " has no atomic scatter)");
            case ATOMIC_SCATTER -> "atomic scatter (not deterministic)";
            case NONE -> "none";
        };
    }

    /**
     * This plan on the direct route (the fallback when the GEMM refuses the problem): the same scatter; the
     * same chunks where the direct route still needs a column (the column gradient), the whole batch elsewhere.
     */
    public DeformablePlan direct(ConvSpec spec, String why) {
        boolean column = pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_OFFSET_MASK;
        String r = "direct kernels: " + why;
        if (inputGradient != InputGradient.NONE) r += reason.substring(reason.indexOf(';'));
        return new DeformablePlan(pass, Route.DIRECT, inputGradient, column ? chunkItems : spec.batch(), column ? columnElements : 0, r);
    }

    /** How many chunks a batch of {@code batch} items takes (0 for an empty batch). */
    public int chunks(int batch) {
        if (batch <= 0) return 0;
        int c = Math.max(chunkItems, 1);
        return (batch + c - 1) / c;
    }

    /** Whether this pass is deterministic as planned: everything but the atomic scatter is. */
    public boolean deterministic() {
        return inputGradient != InputGradient.ATOMIC_SCATTER;
    }
}
