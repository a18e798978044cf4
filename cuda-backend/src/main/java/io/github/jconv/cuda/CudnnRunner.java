package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import jcuda.driver.CUdeviceptr;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * Runs a {@link CudnnPlan} on one session's cuDNN handle: the plan, its descriptors and its algorithm
 * key prepared once per (problem, pass, dtype) and kept ({@link PreparedKey}), the algorithm from
 * {@link AlgoSelection} (cached per key), the workspace from the session's scratch (grown on demand,
 * kept), staging through the window kernel where the plan says so.
 */
final class CudnnRunner implements AutoCloseable {
    private final CudaBackend session;
    private final cudnnContext handle = new cudnnContext();
    private final FloatPointer oneF = new FloatPointer(1f);
    private final FloatPointer zeroF = new FloatPointer(0f);
    private final DoublePointer oneD = new DoublePointer(1d);
    private final DoublePointer zeroD = new DoublePointer(0d);
    // descriptors are made once per shape and kept for the session: creating them costs microseconds per call
    private final java.util.Map<String, cudnnTensorStruct> tensors = new java.util.HashMap<>();
    private final java.util.Map<String, cudnnFilterStruct> filters = new java.util.HashMap<>();
    private final java.util.Map<String, cudnnConvolutionStruct> convs = new java.util.HashMap<>();

    /** jconv.cuda.fuseBias: the forward bias inside the convolution where cuDNN can ({@link FusedBias}). */
    private final boolean fuseBias;
    /** The identity activation of the fused call, made on first use. */
    private cudnnActivationStruct identity;
    /** jconv.cuda.api=graph: the graph API's path ({@link CudnnGraph}); null for the legacy API. */
    private final CudnnGraph graph;

    CudnnRunner(CudaBackend session) {
        this.session = session;
        this.fuseBias = FusedBias.enabled(session.engineOptions().properties(), session.engineOptions().environment()); // before any native handle exists
        CudaErrors.checkCudnn(cudnnCreate(handle), "cudnnCreate", "");
        CudaErrors.checkCudnn(cudnnSetStream(handle, new CUstream_st(DeviceAddress.javacpp(session.context().streamAddress()))),
                "cudnnSetStream", "");
        this.graph = session.options().api() == CudaOptions.Api.GRAPH ? new CudnnGraph(session, handle) : null;
    }

    /**
     * Runs one pass; returns the algorithm's name. A problem whose tensors exceed cuDNN's int
     * indexing runs in batch slices (weight and bias gradients accumulate over the slices).
     */
    String run(Pass pass, ConvSpec spec, DType dtype, ConvArgs args) {
        Bases whole = Bases.of(args);
        if (spec.batch() == 0) { // cuDNN refuses N = 0; outputs are empty, or sums over no item: zero (every dtype)
            for (Role r : pass.outputs(spec)) {
                long bytes = r.shapeFor(spec).elementCount() * dtype.bytes();
                if (bytes > 0) session.context().zero(whole.ptr(r), bytes, spec.toString());
            }
            return "nothing to compute (batch 0)";
        }
        // cuDNN's backward bias refuses BF16; both 2-byte types reduce in float in jconv's own kernel
        if (pass == Pass.BACKWARD_BIAS && BiasGradKernel.handles(dtype)) return BiasGradKernel.run(session.context(), spec, dtype, args);
        int slice = CudnnPlan.batchSlice(spec);
        if (slice == 0) return runSplit(pass, spec, dtype, whole);
        if (slice >= spec.batch()) return runSlice(pass, spec, dtype, whole, 0, false);
        String ran = "";
        for (int n0 = 0; n0 < spec.batch(); n0 += slice) {
            ConvSpec part = spec.toBuilder().batch(Math.min(slice, spec.batch() - n0)).build();
            ran = runSlice(pass, part, dtype, whole, n0, n0 > 0 && CudnnPlan.slicesAccumulate(pass));
        }
        return ran + " in batch slices of " + slice;
    }

    /**
     * One pass of a plain convolution on device memory the caller binds by role (deformable's column GEMM:
     * {@link DeformableRunner} runs a 1x1 convolution over its column buffer), through the same prepared plans,
     * algorithm choice and workspace as {@link #run}. {@code accumulate} adds the weight gradient to what dw
     * holds (beta = 1), for chunks of a batch. The caller keeps every tensor within cuDNN's int indexing.
     */
    String runBound(Pass pass, ConvSpec spec, DType dtype, java.util.Map<Role, CUdeviceptr> ptrs, boolean accumulate) {
        if (spec.batch() < 1 || CudnnPlan.batchSlice(spec) < spec.batch()) {
            throw new IllegalArgumentException("spec = " + spec + ": a bound cuDNN call takes 1 to " + CudnnPlan.batchSlice(spec)
                    + " batch items (int indexing); split the batch into chunks");
        }
        if (accumulate && pass != Pass.BACKWARD_WEIGHT) {
            throw new IllegalArgumentException("accumulate = true for " + pass + ": only BACKWARD_WEIGHT adds into its output");
        }
        // an accumulating call in benchmark mode is timed on a scratch dw by runSlice itself (the sum so far is kept)
        return runSlice(pass, spec, dtype, Bases.of(ptrs), 0, accumulate);
    }

    /** Where each role's data starts: the call's buffers, or the compact scratch tensors of a split part. */
    private record Bases(java.util.Map<Role, CUdeviceptr> ptrs, java.util.Map<Role, Long> addresses) {
        static Bases of(ConvArgs args) {
            java.util.Map<Role, CUdeviceptr> p = new java.util.EnumMap<>(Role.class);
            java.util.Map<Role, Long> a = new java.util.EnumMap<>(Role.class);
            for (java.util.Map.Entry<Role, io.github.jconv.DeviceBuffer> e : args.asMap().entrySet()) {
                CudaBuffer b = (CudaBuffer) e.getValue();
                p.put(e.getKey(), b.ptr);
                a.put(e.getKey(), b.address);
            }
            return new Bases(p, a);
        }

        static Bases of(java.util.Map<Role, CUdeviceptr> ptrs) {
            java.util.Map<Role, Long> a = new java.util.EnumMap<>(Role.class);
            ptrs.forEach((r, p) -> a.put(r, DeviceAddress.of(p)));
            return new Bases(ptrs, a);
        }

        CUdeviceptr ptr(Role r) {
            CUdeviceptr p = ptrs.get(r);
            if (p == null) throw new IllegalStateException("no " + r.label() + " buffer bound for this cuDNN call");
            return p;
        }

        long address(Role r) {
            ptr(r);
            return addresses.get(r);
        }
    }

    /** The device address of {@code role}'s data for batch items from {@code n0} of a slice shaped like {@code part}. */
    private static long address(Bases bases, Role role, ConvSpec part, int n0, DType dtype) {
        boolean perBatch = role != Role.W && role != Role.DW && role != Role.B && role != Role.DB;
        long perItem = perBatch ? role.shapeFor(part).elementCount() / part.batch() : 0;
        return bases.address(role) + n0 * perItem * dtype.bytes();
    }

    private static Pointer at(Bases bases, Role role, ConvSpec part, int n0, DType dtype) {
        return DeviceAddress.javacpp(address(bases, role, part, n0, dtype));
    }

    private static CUdeviceptr ptrAt(Bases bases, Role role, ConvSpec part, int n0, DType dtype) {
        return bases.ptr(role).withByteOffset(address(bases, role, part, n0, dtype) - bases.address(role));
    }

    /**
     * A convolution whose single batch item exceeds cuDNN's element limit, per batch item in the parts of
     * {@link SpatialSplit}'s plan. The window kernel gathers each part's operands into compact tensors (the
     * input window with its halo and zeros in the padding; the part's rows of dy), cuDNN runs the part, and:
     * forward copies the part's output rows into place; backward data adds the window's gradient into dx
     * (zeroed first; windows overlap by the halo, so the parts' sums are added in order, one after the other);
     * backward weight and bias accumulate over the parts with beta = 1.
     */
    private String runSplit(Pass pass, ConvSpec spec, DType dtype, Bases whole) {
        ConvSpec item = spec.toBuilder().batch(1).build();
        String problem = spec.toString();
        SpatialSplit.Plan plan = SpatialSplit.plan(item, CudnnPlan.CUDNN_MAX_ELEMENTS);
        if (!plan.possible()) { // supports() refuses these before any call gets here
            throw new UnsupportedOperationException("cuda cannot run " + pass + " of " + problem + ": " + plan.refusal());
        }
        long es = dtype.bytes();
        int[] xDims = CudnnPlan.inputDims(item);
        int[] yDims = CudnnPlan.outputDims(item);
        int axis = spec.rank() == 1 ? 3 : 2; // the outermost spatial axis of the lifted [N, C, (D,) H, W] dims
        long xInner = 1, yInner = 1;
        for (int a = axis + 1; a < xDims.length; a++) xInner *= xDims[a];
        for (int a = axis + 1; a < yDims.length; a++) yInner *= yDims[a];
        long xsMax = 0, ysMax = 0;
        for (SpatialSplit.Part p : plan.parts()) {
            xsMax = Math.max(xsMax, p.sub().inputShape().elementCount());
            ysMax = Math.max(ysMax, p.sub().outputShape().elementCount());
        }
        long xItem = item.inputShape().elementCount(), yItem = item.outputShape().elementCount();
        int inRows = xDims[axis], outRows = yDims[axis], c = spec.inChannels(), k = spec.outChannels();
        Pointer one = dtype == DType.FP64 ? oneD : oneF;
        DeviceContext ctx = session.context();
        List<CUdeviceptr> scratch = new ArrayList<>();
        String ran = "";
        try {
            CUdeviceptr xs = null, ys = null, xw = null;
            if (pass != Pass.BACKWARD_BIAS) {
                xs = ctx.alloc(xsMax * es, problem);
                scratch.add(xs);
            }
            ys = ctx.alloc(ysMax * es, problem);
            scratch.add(ys);
            if (pass == Pass.BACKWARD_DATA) {
                xw = ctx.alloc(xsMax * es, problem);
                scratch.add(xw);
                ctx.zero(whole.ptr(Role.DX), spec.inputShape().elementCount() * es, problem);
            }
            java.util.Map<Role, CUdeviceptr> m = new java.util.EnumMap<>(Role.class);
            switch (pass) {
                case FORWARD -> {
                    m.put(Role.X, xs);
                    m.put(Role.W, whole.ptr(Role.W));
                    if (spec.bias()) m.put(Role.B, whole.ptr(Role.B));
                    m.put(Role.Y, ys);
                }
                case BACKWARD_DATA -> {
                    m.put(Role.DY, ys);
                    m.put(Role.W, whole.ptr(Role.W));
                    m.put(Role.DX, xw);
                }
                case BACKWARD_WEIGHT -> {
                    m.put(Role.X, xs);
                    m.put(Role.DY, ys);
                    m.put(Role.DW, whole.ptr(Role.DW));
                }
                case BACKWARD_BIAS -> {
                    m.put(Role.DY, ys);
                    m.put(Role.DB, whole.ptr(Role.DB));
                }
                default -> throw new AssertionError(pass);
            }
            Bases parts = Bases.of(m);
            boolean first = true;
            for (int n = 0; n < spec.batch(); n++) {
                for (SpatialSplit.Part p : plan.parts()) {
                    int rows = p.outHi() - p.outLo();
                    int[] xsDims = xDims.clone();
                    xsDims[axis] = p.windowRows();
                    int[] ysDims = yDims.clone();
                    ysDims[axis] = rows;
                    if (pass == Pass.FORWARD || pass == Pass.BACKWARD_WEIGHT) { // xs[j] = x[first + j]
                        session.windowCopy(whole.ptr(Role.X).withByteOffset(n * xItem * es), xDims, xs, xsDims,
                                along(axis, xDims.length, -p.first()), dtype, problem);
                    }
                    if (pass != Pass.FORWARD) { // ys[j] = dy[outLo + j]
                        session.windowCopy(whole.ptr(Role.DY).withByteOffset(n * yItem * es), yDims, ys, ysDims,
                                along(axis, yDims.length, -p.outLo()), dtype, problem);
                    }
                    if (pass == Pass.BACKWARD_DATA) { // the window's dx so far, to add this part's gradient to
                        session.windowCopy(whole.ptr(Role.DX).withByteOffset(n * xItem * es), xDims, xs, xsDims,
                                along(axis, xDims.length, -p.first()), dtype, problem);
                    }
                    ran = runSlice(pass, p.sub(), dtype, parts, 0, !first && (pass == Pass.BACKWARD_WEIGHT || pass == Pass.BACKWARD_BIAS));
                    first = false;
                    switch (pass) {
                        case FORWARD -> { // the part's rows of every output plane into place
                            for (int ch = 0; ch < k; ch++) {
                                copy(ys.withByteOffset((long) ch * rows * yInner * es),
                                        whole.ptr(Role.Y).withByteOffset(((n * (long) k + ch) * outRows + p.outLo()) * yInner * es),
                                        rows * yInner * es, problem);
                            }
                        }
                        case BACKWARD_DATA -> {
                            cudnnTensorStruct d = tensor(xsDims, CudnnTypes.dataType(dtype), problem);
                            CudaErrors.checkCudnn(cudnnAddTensor(handle, one, d, DeviceAddress.javacpp(DeviceAddress.of(xw)), one, d,
                                    DeviceAddress.javacpp(DeviceAddress.of(xs))), "cudnnAddTensor", problem);
                            int real = p.inHi() - p.inLo(); // the window's rows inside the input go back
                            for (int ch = 0; real > 0 && ch < c; ch++) {
                                copy(xs.withByteOffset(((long) ch * p.windowRows() + p.padLo()) * xInner * es),
                                        whole.ptr(Role.DX).withByteOffset(((n * (long) c + ch) * inRows + p.inLo()) * xInner * es),
                                        real * xInner * es, problem);
                            }
                        }
                        default -> { // weight and bias gradients accumulated in place
                        }
                    }
                }
            }
            ctx.synchronize(problem); // the scratch is freed below; its last readers must be done
        } finally {
            for (CUdeviceptr q : scratch) ctx.free(q);
        }
        return ran + " in " + plan.parts().size() + " parts along the outermost spatial axis (each with its halo)";
    }

    /** A window offset of {@code shift} along the lifted axis {@code axis} of {@code rank}-dimensional dims. */
    private static int[] along(int axis, int rank, int shift) {
        int[] o = new int[rank - 2];
        o[axis - 2] = shift;
        return o;
    }

    private void copy(CUdeviceptr src, CUdeviceptr dst, long bytes, String problem) {
        CudaErrors.checkDriver(jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync(dst, src, bytes, session.context().stream),
                "cuMemcpyDtoDAsync", problem);
    }

    private String runSlice(Pass pass, ConvSpec spec, DType dtype, Bases args, int n0, boolean accumulate) {
        Prepared prep = prepare(pass, spec, dtype);
        CudnnPlan plan = prep.plan;
        String problem = prep.problem;
        Pointer one = dtype == DType.FP64 ? oneD : oneF;
        Pointer zero = dtype == DType.FP64 ? zeroD : zeroF;
        if (plan.op() == CudnnPlan.Op.BACKWARD_BIAS) {
            cudnnTensorStruct dyD = prep.yD;
            cudnnTensorStruct dbD = prep.bD;
            CudaErrors.checkCudnn(cudnnConvolutionBackwardBias(handle, one, dyD, at(args, Role.DY, spec, n0, dtype),
                    accumulate ? one : zero, dbD, at(args, Role.DB, spec, n0, dtype)), "cudnnConvolutionBackwardBias", problem);
            return "cudnn bwd-bias";
        }
        CudaOptions o = session.options();
        cudnnTensorStruct xD = prep.xD, yD = prep.yD;
        cudnnFilterStruct wD = prep.wD;
        cudnnConvolutionStruct cD = prep.cD;
        CUdeviceptr staged = null;
        Operands ops = new Operands(
                plan.staged() ? null : at(args, plan.xc(), spec, n0, dtype),
                at(args, plan.w(), spec, n0, dtype), at(args, plan.yc(), spec, n0, dtype));
        if (plan.staged()) {
            long bytes = plan.stagedElements() * dtype.bytes();
            staged = session.context().scratch("staging", bytes, problem);
            ops = new Operands(DeviceAddress.javacpp(DeviceAddress.of(staged)), ops.w, ops.y);
            if (plan.op().readsXc()) {
                session.windowCopy(ptrAt(args, plan.xc(), spec, n0, dtype), plan.ourXcDims(), staged, plan.xcDims(), plan.offset(),
                        dtype, problem);
            }
        }
        AlgoSelection.Key key = prep.key;
        // jconv.cuda.api=graph: cuDNN's graph API runs the convolution where it can (CudnnGraph), else the legacy calls below
        String ran = graph == null ? null : graph.run(plan, dtype, key, ops.x.address(), ops.w.address(), ops.y.address(), accumulate, problem);
        boolean biasDone = false;
        if (ran == null) {
        List<AlgoSelection.Choice> choices = session.algoCache().get(key);
        if (choices == null && o.algo() == CudaOptions.AlgoMode.BENCHMARK) {
            // an earlier session's measurement on this device model, driver and cuDNN: no cudnnFind...Ex again
            choices = session.algoDiskCache().get(key);
            if (choices != null) session.algoCache().put(key, choices);
        }
        if (choices == null) {
            // the descriptor is shared and each run sets its choice's math type: ask cuDNN from the mode's own
            CudaErrors.checkCudnn(cudnnSetConvolutionMathType(cD, CudnnTypes.mathType(dtype, o.math())), "cudnnSetConvolutionMathType", problem);
            // cudnnFind...Ex writes its output while timing: a weight gradient that adds to the sum of earlier slices
            // (beta = 1; a last batch slice of another size is a new key) is timed on a scratch dw instead
            Operands timed = ops;
            if (accumulate && plan.op() == CudnnPlan.Op.BACKWARD_FILTER && o.algo() == CudaOptions.AlgoMode.BENCHMARK) {
                CUdeviceptr dwScratch = session.context().scratch("timed weight gradient",
                        spec.weightShape().elementCount() * dtype.bytes(), problem);
                timed = new Operands(ops.x, DeviceAddress.javacpp(DeviceAddress.of(dwScratch)), ops.y);
            }
            List<AlgoSelection.Result> results = o.algo() == CudaOptions.AlgoMode.BENCHMARK
                    ? measure(plan.op(), xD, wD, cD, yD, timed, o, problem)
                    : heuristics(plan.op(), xD, wD, cD, yD, problem);
            choices = AlgoSelection.rank(plan.op(), results, dtype, o);
            if (choices.isEmpty()) {
                throw new UnsupportedOperationException("cuDNN has no algorithm for " + pass + " " + dtype + " of " + problem
                        + " under " + o + ": " + AlgoSelection.whyNone(results, dtype, o));
            }
            session.algoCache().put(key, choices);
            if (o.algo() == CudaOptions.AlgoMode.BENCHMARK) session.algoDiskCache().put(key, choices);
        }
        if (FusedBias.applies(fuseBias, plan.op(), plan.addBias(), dtype, plan.ycDims().length, choices.get(0).algo())) {
            ran = fusedForward(choices.get(0), prep, ops, at(args, Role.B, spec, n0, dtype), one, zero, problem);
        }
        biasDone = ran != null;
        // weight gradients of later batch slices add to the earlier ones (beta = 1)
        if (ran == null) ran = execute(plan.op(), choices, key, xD, wD, cD, yD, ops, one, accumulate ? one : zero, problem);
        if (graph != null) ran += " (graph API fell back: " + graph.lastFallback() + ")";
        } // end of the legacy API's choice and run
        if (plan.staged() && plan.op().writesXc()) {
            int[] back = plan.offset().clone();
            for (int i = 0; i < back.length; i++) back[i] = -back[i];
            session.windowCopy(staged, plan.xcDims(), ptrAt(args, plan.xc(), spec, n0, dtype), plan.ourXcDims(), back, dtype, problem);
        }
        if (plan.addBias() && !biasDone) {
            cudnnTensorStruct bD = prep.bD, outD = prep.outD;
            CudaErrors.checkCudnn(cudnnAddTensor(handle, one, bD, at(args, Role.B, spec, n0, dtype), one, outD,
                    at(args, Role.Y, spec, n0, dtype)), "cudnnAddTensor", problem);
            ran += " + bias";
        }
        return plan.staged() ? ran + " (staged: asymmetric padding or large output_padding)" : ran;
    }

    /**
     * The key of {@link Prepared}: the session fixes the options and the device, so the problem, the pass and
     * the dtype name everything the preparation depends on. Hashes the spec's fields directly (ConvSpec's own
     * hashCode formats its problem line, which is the per-call host work this cache removes).
     */
    static final class PreparedKey {
        final ConvSpec spec;
        final Pass pass;
        final DType dtype;
        private final int hash;

        PreparedKey(ConvSpec spec, Pass pass, DType dtype) {
            this.spec = spec;
            this.pass = pass;
            this.dtype = dtype;
            int h = java.util.Objects.hash(spec.type(), spec.batch(), spec.inChannels(), spec.outChannels(), spec.groups(),
                    spec.offsetGroups(), spec.modulated(), spec.bias(), pass, dtype);
            for (int[] a : new int[][]{spec.input(), spec.kernel(), spec.stride(), spec.paddingLo(), spec.paddingHi(), spec.dilation(),
                    spec.outputPadding()}) {
                h = 31 * h + java.util.Arrays.hashCode(a);
            }
            this.hash = h;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PreparedKey k && k.hash == hash && k.pass == pass && k.dtype == dtype && k.spec.equals(spec);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** What a cuDNN call derives from (spec, pass, dtype) alone: made on the first call, kept for the session. */
    private record Prepared(CudnnPlan plan, String problem, int dt, cudnnTensorStruct xD, cudnnTensorStruct yD, cudnnFilterStruct wD,
                            cudnnConvolutionStruct cD, cudnnTensorStruct bD, cudnnTensorStruct outD, AlgoSelection.Key key) {
    }

    private final java.util.Map<PreparedKey, Prepared> prepared = new java.util.HashMap<>(); // calls are serialized by the session

    private Prepared prepare(Pass pass, ConvSpec spec, DType dtype) {
        PreparedKey k = new PreparedKey(spec, pass, dtype);
        Prepared known = prepared.get(k);
        if (known != null) return known;
        CudnnPlan plan = CudnnPlan.of(spec, pass);
        String problem = spec.toString();
        int dt = CudnnTypes.dataType(dtype);
        Prepared p;
        if (plan.op() == CudnnPlan.Op.BACKWARD_BIAS) {
            p = new Prepared(plan, problem, dt, null, tensor(plan.ycDims(), dt, problem), null, null,
                    tensor(CudnnPlan.biasDims(spec.outChannels(), plan.ycDims()), dt, problem), null, null);
        } else {
            CudaOptions o = session.options();
            cudnnTensorStruct bD = null, outD = null;
            if (plan.addBias()) {
                int[] yDims = CudnnPlan.outputDims(spec);
                bD = tensor(CudnnPlan.biasDims(spec.outChannels(), yDims), dt, problem);
                outD = tensor(yDims, dt, problem);
            }
            p = new Prepared(plan, problem, dt, tensor(plan.xcDims(), dt, problem), tensor(plan.ycDims(), dt, problem),
                    filter(plan.wDims(), dt, problem), conv(plan, dtype, o, problem), bD, outD,
                    AlgoSelection.Key.of(spec, pass, dtype, o, session.deviceKey()));
        }
        prepared.put(k, p);
        return p;
    }

    /** The device pointers of cuDNN's xc, w and yc. */
    private record Operands(Pointer x, Pointer w, Pointer y) {
    }

    /**
     * y = conv(x, w) + b in one cuDNN call (identity activation, z unused: alpha2 = 0), or null when it cannot run
     * here (the workspace does not fit, or cuDNN reports the configuration unsupported): then the caller runs the
     * convolution and the add apart.
     */
    private String fusedForward(AlgoSelection.Choice c, Prepared prep, Operands ops, Pointer bias, Pointer one, Pointer zero,
                                String problem) {
        CUdeviceptr ws;
        try {
            ws = c.workspace() > 0 ? session.context().scratch("workspace", c.workspace(), problem) : null;
        } catch (CudaOutOfMemoryException e) {
            return null;
        }
        if (identity == null) {
            cudnnActivationStruct a = new cudnnActivationStruct();
            CudaErrors.checkCudnn(cudnnCreateActivationDescriptor(a), "cudnnCreateActivationDescriptor", problem);
            int rc = cudnnSetActivationDescriptor(a, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0);
            if (rc != 0) {
                cudnnDestroyActivationDescriptor(a);
                CudaErrors.checkCudnn(rc, "cudnnSetActivationDescriptor", problem);
            }
            identity = a;
        }
        CudaErrors.checkCudnn(cudnnSetConvolutionMathType(prep.cD, c.mathType()), "cudnnSetConvolutionMathType", problem);
        Pointer w = ws == null ? null : DeviceAddress.javacpp(DeviceAddress.of(ws));
        int rc = cudnnConvolutionBiasActivationForward(handle, one, prep.xD, ops.x, prep.wD, ops.w, prep.cD, c.algo(), w,
                c.workspace(), zero, prep.yD, ops.y, prep.bD, bias, identity, prep.yD, ops.y);
        CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.CUDNN, rc);
        if (rc != 0 && (e.kind() == CudaStatus.Kind.NOT_SUPPORTED || e.kind() == CudaStatus.Kind.OUT_OF_MEMORY)) return null;
        CudaErrors.checkCudnn(rc, "cudnnConvolutionBiasActivationForward(" + AlgoSelection.algoName(c.op(), c.algo()) + ")", problem);
        return c.name() + " + fused bias";
    }

    private String execute(CudnnPlan.Op op, List<AlgoSelection.Choice> choices, AlgoSelection.Key key,
                           cudnnTensorStruct xD, cudnnFilterStruct wD, cudnnConvolutionStruct cD, cudnnTensorStruct yD,
                           Operands ops, Pointer one, Pointer zero, String problem) {
        CudaOutOfMemoryException lastOom = null;
        for (AlgoSelection.Choice c : choices) {
            CUdeviceptr ws = null;
            try {
                if (c.workspace() > 0) ws = session.context().scratch("workspace", c.workspace(), problem);
            } catch (CudaOutOfMemoryException e) { // this algorithm's workspace does not fit: try the next
                lastOom = e;
                session.algoCache().demote(key, c);
                continue;
            }
            CudaErrors.checkCudnn(cudnnSetConvolutionMathType(cD, c.mathType()), "cudnnSetConvolutionMathType", problem);
            Pointer w = ws == null ? null : DeviceAddress.javacpp(DeviceAddress.of(ws));
            int rc = switch (op) {
                case FORWARD -> cudnnConvolutionForward(handle, one, xD, ops.x, wD, ops.w, cD, c.algo(), w, c.workspace(),
                        zero, yD, ops.y);
                case BACKWARD_DATA -> cudnnConvolutionBackwardData(handle, one, wD, ops.w, yD, ops.y, cD, c.algo(), w,
                        c.workspace(), zero, xD, ops.x);
                case BACKWARD_FILTER -> cudnnConvolutionBackwardFilter(handle, one, xD, ops.x, yD, ops.y, cD, c.algo(), w,
                        c.workspace(), zero, wD, ops.w);
                case BACKWARD_BIAS -> throw new AssertionError(op);
            };
            CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.CUDNN, rc);
            if (rc != 0 && e.kind() == CudaStatus.Kind.OUT_OF_MEMORY) {
                lastOom = (CudaOutOfMemoryException) CudaErrors.map(CudaStatus.Library.CUDNN, rc, op.call, problem,
                        c.workspace(), () -> session.context().memInfo()[0]);
                session.algoCache().demote(key, c);
                continue;
            }
            CudaErrors.checkCudnn(rc, op.call + "(" + AlgoSelection.algoName(op, c.algo()) + ")", problem);
            return c.name();
        }
        throw lastOom != null ? lastOom : new IllegalStateException("no cuDNN algorithm ran for " + problem);
    }

    private List<AlgoSelection.Result> heuristics(CudnnPlan.Op op, cudnnTensorStruct xD, cudnnFilterStruct wD,
                                                  cudnnConvolutionStruct cD, cudnnTensorStruct yD, String problem) {
        int n = AlgoSelection.algoCount(op) * 2; // each algorithm may come once per math type
        IntPointer count = new IntPointer(1);
        List<AlgoSelection.Result> out = new ArrayList<>();
        switch (op) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnGetConvolutionForwardAlgorithm_v7(handle, xD, wD, cD, yD, n, count, p),
                        "cudnnGetConvolutionForwardAlgorithm_v7", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionFwdAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), -1, r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wD, yD, cD, xD, n, count, p),
                        "cudnnGetConvolutionBackwardDataAlgorithm_v7", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdDataAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), -1, r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xD, yD, cD, wD, n, count, p),
                        "cudnnGetConvolutionBackwardFilterAlgorithm_v7", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdFilterAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), -1, r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            default -> throw new AssertionError(op);
        }
        return out;
    }

    /**
     * Benchmark mode: cuDNN times every algorithm on the call's own buffers (outputs are
     * overwritten by the real run right after) with a workspace we allocate, as large as the limit
     * and free memory allow.
     */
    private List<AlgoSelection.Result> measure(CudnnPlan.Op op, cudnnTensorStruct xD, cudnnFilterStruct wD,
                                               cudnnConvolutionStruct cD, cudnnTensorStruct yD, Operands ops,
                                               CudaOptions o, String problem) {
        long wsBytes = Math.min(o.workspaceLimit(), (long) (session.context().memInfo()[0] * 0.8));
        CUdeviceptr ws = null;
        while (wsBytes > 0 && ws == null) {
            try {
                ws = session.context().alloc(wsBytes, problem); // once per problem: not kept as scratch
            } catch (CudaOutOfMemoryException e) {
                wsBytes /= 2;
            }
        }
        try {
            return find(op, xD, wD, cD, yD, ops, ws, wsBytes, problem);
        } finally {
            if (ws != null) session.context().free(ws);
        }
    }

    private List<AlgoSelection.Result> find(CudnnPlan.Op op, cudnnTensorStruct xD, cudnnFilterStruct wD, cudnnConvolutionStruct cD,
                                            cudnnTensorStruct yD, Operands ops, CUdeviceptr ws, long wsBytes, String problem) {
        Pointer w = ws == null ? null : DeviceAddress.javacpp(DeviceAddress.of(ws));
        int n = AlgoSelection.algoCount(op) * 2;
        IntPointer count = new IntPointer(1);
        List<AlgoSelection.Result> out = new ArrayList<>();
        switch (op) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnFindConvolutionForwardAlgorithmEx(handle, xD, ops.x, wD, ops.w, cD, yD, ops.y, n,
                        count, p, w, wsBytes), "cudnnFindConvolutionForwardAlgorithmEx", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionFwdAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), r.time(), r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnFindConvolutionBackwardDataAlgorithmEx(handle, wD, ops.w, yD, ops.y, cD, xD, ops.x, n,
                        count, p, w, wsBytes), "cudnnFindConvolutionBackwardDataAlgorithmEx", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdDataAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), r.time(), r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(n);
                CudaErrors.checkCudnn(cudnnFindConvolutionBackwardFilterAlgorithmEx(handle, xD, ops.x, yD, ops.y, cD, wD, ops.w, n,
                        count, p, w, wsBytes), "cudnnFindConvolutionBackwardFilterAlgorithmEx", problem);
                for (int i = 0; i < count.get(); i++) {
                    cudnnConvolutionBwdFilterAlgoPerf_t r = p.getPointer(i);
                    out.add(new AlgoSelection.Result(r.algo(), r.status(), r.time(), r.memory(), r.determinism() == 1, r.mathType()));
                }
            }
            default -> throw new AssertionError(op);
        }
        return out;
    }

    private cudnnTensorStruct tensor(int[] dims, int dt, String problem) {
        String key = java.util.Arrays.toString(dims) + dt;
        cudnnTensorStruct known = tensors.get(key);
        if (known != null) return known;
        cudnnTensorStruct d = new cudnnTensorStruct();
        CudaErrors.checkCudnn(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetTensorNdDescriptor(d, dt, dims.length, dims, CudnnPlan.packedStrides(dims)),
                "cudnnSetTensorNdDescriptor" + java.util.Arrays.toString(dims), problem);
        tensors.put(key, d);
        return d;
    }

    private cudnnFilterStruct filter(int[] dims, int dt, String problem) {
        String key = java.util.Arrays.toString(dims) + dt;
        cudnnFilterStruct known = filters.get(key);
        if (known != null) return known;
        cudnnFilterStruct d = new cudnnFilterStruct();
        CudaErrors.checkCudnn(cudnnCreateFilterDescriptor(d), "cudnnCreateFilterDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetFilterNdDescriptor(d, dt, CudnnTypes.TENSOR_NCHW, dims.length, dims),
                "cudnnSetFilterNdDescriptor" + java.util.Arrays.toString(dims), problem);
        filters.put(key, d);
        return d;
    }

    private cudnnConvolutionStruct conv(CudnnPlan plan, DType dtype, CudaOptions o, String problem) {
        String key = java.util.Arrays.toString(plan.pad()) + java.util.Arrays.toString(plan.stride())
                + java.util.Arrays.toString(plan.dilation()) + "g" + plan.groups() + dtype;
        cudnnConvolutionStruct known = convs.get(key);
        if (known != null) return known; // its math type is set before each choice runs, and before cuDNN is asked
        cudnnConvolutionStruct d = new cudnnConvolutionStruct();
        CudaErrors.checkCudnn(cudnnCreateConvolutionDescriptor(d), "cudnnCreateConvolutionDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetConvolutionNdDescriptor(d, plan.pad().length, plan.pad(), plan.stride(), plan.dilation(),
                CudnnTypes.CROSS_CORRELATION, CudnnTypes.computeType(dtype)), "cudnnSetConvolutionNdDescriptor", problem);
        CudaErrors.checkCudnn(cudnnSetConvolutionGroupCount(d, plan.groups()), "cudnnSetConvolutionGroupCount", problem);
        CudaErrors.checkCudnn(cudnnSetConvolutionMathType(d, CudnnTypes.mathType(dtype, o.math())),
                "cudnnSetConvolutionMathType", problem);
        convs.put(key, d);
        return d;
    }

    private static CudaBuffer buf(ConvArgs args, Role r) {
        return (CudaBuffer) args.get(r);
    }

    @Override
    public void close() {
        tensors.values().forEach(org.bytedeco.cuda.global.cudnn::cudnnDestroyTensorDescriptor);
        filters.values().forEach(org.bytedeco.cuda.global.cudnn::cudnnDestroyFilterDescriptor);
        convs.values().forEach(org.bytedeco.cuda.global.cudnn::cudnnDestroyConvolutionDescriptor);
        tensors.clear();
        filters.clear();
        convs.clear();
        prepared.clear();
        if (identity != null) cudnnDestroyActivationDescriptor(identity);
        identity = null;
        if (graph != null) graph.close(); // its plans hold the handle
        cudnnDestroy(handle);
        oneF.close();
        zeroF.close();
        oneD.close();
        zeroD.close();
    }
}
