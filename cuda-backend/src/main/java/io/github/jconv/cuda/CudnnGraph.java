package io.github.jconv.cuda;

import io.github.jconv.DType;
import jcuda.driver.CUdeviceptr;
import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * Runs convolutions through cuDNN's graph (backend) API, opt-in with {@code jconv.cuda.api=graph}: per
 * (problem, pass, dtype, options, buffer alignments, beta) one operation graph of one convolution operation
 * ({@link GraphConv} gives every attribute value), cuDNN's engine heuristics (mode A, then the fallback list),
 * the engine configurations this session may run ({@link GraphConv#refusal}), and one execution plan, kept for
 * the session: heuristic mode keeps the first plan that finalizes and fits the workspace limit; benchmark mode
 * times up to {@link #TIMED} of them with CUDA events on the call's own buffers and keeps the fastest, also on
 * disk ({@link AlgoDiskCache}, key {@link GraphConv#cacheKey}). Each call binds its device pointers in a variant
 * pack and runs {@code cudnnBackendExecute} on the session's handle (and so its stream).
 *
 * <p>When no graph can run a problem, {@link #run} returns null and {@link #lastFallback()} says why (which
 * call failed with which status, or why each engine was refused); the caller then runs the legacy API. The
 * refusal is remembered per key and logged once.
 */
final class CudnnGraph implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.github.jconv.cuda");
    /** Most plans timed per key in benchmark mode (from heuristics mode A, then the fallback list). */
    static final int TIMED = 8;
    /** Knob choices read per engine configuration: one per knob type, as cudnn-frontend reads them. */
    static final int KNOB_CAPACITY = CUDNN_KNOB_TYPE_COUNTS;
    /** Timed executions per plan (after one untimed). */
    static final int REPEATS = 3;

    private final CudaBackend session;
    private final cudnnContext handle;
    private final Map<Key, Object> known = new HashMap<>(); // Built, or the String reason it cannot run
    private String lastFallback = "";

    /** What a built graph depends on beyond the session: the legacy key, the alignments of the buffers, beta. */
    record Key(AlgoSelection.Key key, long xa, long wa, long ya, boolean accumulate) {
    }

    /** A call into cuDNN's backend API that failed while a graph was built: the call, its target and the status. */
    static final class BuildFailure extends RuntimeException {
        final int status;

        BuildFailure(String call, int status) {
            super(call + " returned " + CudaStatus.lookup(CudaStatus.Library.CUDNN, status).name() + " (" + status + ")");
            this.status = status;
        }
    }

    /** One graph ready to run: its descriptors (destroyed at close), its plan and the variant pack of the last call. */
    static final class Built {
        final List<cudnnBackendDescriptor_t> owned = new ArrayList<>();
        cudnnBackendDescriptor_t plan;
        EngineInfo engine;
        String label;
        // the variant pack is rebuilt only when a call's pointers differ from the last call's
        final LongPointer dataPointers = new LongPointer(3);
        final LongPointer uids = new LongPointer(GraphConv.UID_XC, GraphConv.UID_W, GraphConv.UID_YC);
        final LongPointer workspacePointer = new LongPointer(1);
        cudnnBackendDescriptor_t variantPack;
        long vx, vw, vy, vws;
    }

    /** What cuDNN says about one engine configuration. */
    record EngineInfo(GraphConv.EngineChoice choice, int[] notes) {
    }

    CudnnGraph(CudaBackend session, cudnnContext handle) {
        this.session = session;
        this.handle = handle;
    }

    /** Why the last {@link #run} returned null. */
    String lastFallback() {
        return lastFallback;
    }

    /**
     * Runs {@code plan} (FORWARD, BACKWARD_DATA or BACKWARD_FILTER) on the device addresses of cuDNN's xc, w
     * and yc; returns the label of the engine that ran, or null when the graph cannot run it (then
     * {@link #lastFallback()} says why and nothing was written).
     */
    String run(CudnnPlan plan, DType dtype, AlgoSelection.Key algoKey, long xc, long w, long yc, boolean accumulate, String problem) {
        Key k = new Key(algoKey, GraphConv.alignment(xc), GraphConv.alignment(w), GraphConv.alignment(yc), accumulate);
        Object entry = known.get(k);
        if (entry == null) {
            entry = build(k, plan, dtype, xc, w, yc, problem);
            known.put(k, entry);
            if (entry instanceof String reason) {
                LOG.log(System.Logger.Level.WARNING, "jconv cuda: the cuDNN graph API cannot run " + algoKey.pass() + " " + dtype + " of "
                        + problem + " (" + reason + "); the legacy cuDNN API runs it");
            }
        }
        if (entry instanceof String reason) {
            lastFallback = reason;
            return null;
        }
        Built b = (Built) entry;
        long wsBytes = b.engine.choice().workspace();
        long ws = 0;
        if (wsBytes > 0) {
            try {
                ws = DeviceAddress.of(session.context().scratch("workspace", wsBytes, problem));
            } catch (CudaOutOfMemoryException e) { // the legacy algorithms may need less: let them run this call
                lastFallback = "the graph's workspace of " + wsBytes + " B could not be allocated: " + e.getMessage();
                return null;
            }
        }
        int rc = execute(b, xc, w, yc, ws, problem);
        if (rc != 0) {
            CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.CUDNN, rc);
            if (e.kind() == CudaStatus.Kind.NOT_SUPPORTED) { // never again for this key
                String reason = "cudnnBackendExecute(" + b.label + ") returned " + e.name() + " (" + rc + ")";
                destroy(b);
                known.put(k, reason);
                lastFallback = reason;
                return null;
            }
            if (e.kind() == CudaStatus.Kind.OUT_OF_MEMORY) {
                lastFallback = "cudnnBackendExecute(" + b.label + ") returned " + e.name() + " (" + rc + ")";
                return null;
            }
            CudaErrors.checkCudnn(rc, "cudnnBackendExecute(" + b.label + ")", problem);
        }
        return b.label;
    }

    /** Binds the pointers (a new variant pack only when they changed) and executes the plan; the status. */
    int execute(Built b, long xc, long w, long yc, long ws, String problem) {
        if (b.variantPack == null || b.vx != xc || b.vw != w || b.vy != yc || b.vws != ws) {
            if (b.variantPack != null) cudnnBackendDestroyDescriptor(b.variantPack);
            b.variantPack = null;
            b.dataPointers.put(0, xc).put(1, w).put(2, yc);
            b.workspacePointer.put(0, ws);
            cudnnBackendDescriptor_t vp = create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, "variant pack");
            try {
                set(vp, "variant pack", CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, "CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS",
                        CUDNN_TYPE_VOID_PTR, 3, b.dataPointers);
                set(vp, "variant pack", CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, "CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS", CUDNN_TYPE_INT64, 3, b.uids);
                set(vp, "variant pack", CUDNN_ATTR_VARIANT_PACK_WORKSPACE, "CUDNN_ATTR_VARIANT_PACK_WORKSPACE", CUDNN_TYPE_VOID_PTR, 1,
                        b.workspacePointer);
                finish(vp, "variant pack");
            } catch (BuildFailure e) {
                cudnnBackendDestroyDescriptor(vp);
                throw new CudaException(CudaStatus.lookup(CudaStatus.Library.CUDNN, e.status), e.getMessage(), problem, "");
            }
            b.variantPack = vp;
            b.vx = xc;
            b.vw = w;
            b.vy = yc;
            b.vws = ws;
        }
        return cudnnBackendExecute(handle, b.plan, b.variantPack);
    }

    // ---- building ----

    /** A Built graph, or the reason none can run. Failures of sticky kinds (the context is lost) are thrown. */
    private Object build(Key k, CudnnPlan plan, DType dtype, long xc, long w, long yc, String problem) {
        GraphConv g = GraphConv.of(plan, dtype, k.xa(), k.wa(), k.ya(), k.accumulate());
        CudaOptions o = session.options();
        Built b = new Built();
        try (PointerScope scope = new PointerScope()) {
            cudnnBackendDescriptor_t graph = graph(g, b.owned);
            List<String> refused = new ArrayList<>();
            boolean benchmark = o.algo() == CudaOptions.AlgoMode.BENCHMARK && !k.accumulate(); // timing must not add into a live output
            String cacheKey = GraphConv.cacheKey(k.key(), g);
            if (benchmark) {
                GraphConv.EngineChoice stored = GraphConv.EngineChoice.parse(session.algoDiskCache().getText(cacheKey));
                if (stored != null && fromChoice(b, graph, stored, dtype, o, refused)) {
                    b.label = GraphConv.label(plan.op(), b.engine.choice(), b.engine.notes());
                    return b;
                }
            }
            // heuristics mode A first; the fallback list only when A leaves fewer plans than wanted
            List<Candidate> candidates = new ArrayList<>();
            List<Candidate> plans = new ArrayList<>();
            int wanted = benchmark ? TIMED : 1;
            BuildFailure firstFailure = null;
            int modesOk = 0;
            for (int mode : new int[]{CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
                if (plans.size() >= wanted) break;
                List<Candidate> fresh;
                try {
                    fresh = candidates(graph, mode, dtype, o, refused, candidates);
                    modesOk++;
                } catch (BuildFailure e) {
                    if (firstFailure == null) firstFailure = e;
                    refused.add(e.getMessage());
                    continue;
                }
                candidates.addAll(fresh);
                for (Candidate c : fresh) {
                    if (plans.size() >= wanted) break;
                    try {
                        cudnnBackendDescriptor_t p = plan(c.config, "engine " + c.info.choice().engine());
                        long ws = getLong(p, "execution plan", CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, "CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE");
                        if (ws > o.workspaceLimit()) {
                            cudnnBackendDestroyDescriptor(p);
                            refused.add("engine " + c.info.choice().engine() + ": needs " + ws + " B > workspace limit " + o.workspaceLimit());
                            continue;
                        }
                        c.plan = p;
                        c.info = new EngineInfo(new GraphConv.EngineChoice(c.info.choice().engine(), c.info.choice().knobs(), ws), c.info.notes());
                        plans.add(c);
                    } catch (BuildFailure e) {
                        refused.add("engine " + c.info.choice().engine() + ": " + e.getMessage());
                    }
                }
            }
            if (modesOk == 0 && firstFailure != null) throw firstFailure;
            Candidate best = plans.isEmpty() ? null : plans.get(0);
            if (benchmark && plans.size() > 1) best = fastest(plans, xc, w, yc, problem, refused);
            for (Candidate c : candidates) { // the configurations not kept
                if (c != best) {
                    if (c.plan != null) cudnnBackendDestroyDescriptor(c.plan);
                    cudnnBackendDestroyDescriptor(c.config);
                }
            }
            if (best == null) {
                destroy(b);
                return refused.isEmpty() ? "cuDNN's heuristics offered no engine configuration" : "no engine configuration usable: "
                        + String.join("; ", refused);
            }
            b.owned.add(best.config);
            b.owned.add(best.plan);
            b.plan = best.plan;
            b.engine = best.info;
            b.label = GraphConv.label(plan.op(), best.info.choice(), best.info.notes());
            if (benchmark) session.algoDiskCache().putText(cacheKey, best.info.choice().text());
            return b;
        } catch (BuildFailure e) {
            destroy(b);
            CudaStatus.Entry s = CudaStatus.lookup(CudaStatus.Library.CUDNN, e.status);
            if (s.kind() == CudaStatus.Kind.STICKY) throw new CudaException(s, e.getMessage(), problem, "");
            return "building the graph failed: " + e.getMessage() + " [" + g + "]";
        }
    }

    /** One engine configuration from the heuristics, with what cuDNN says about it, and its plan once made. */
    private static final class Candidate {
        final cudnnBackendDescriptor_t config;
        EngineInfo info;
        cudnnBackendDescriptor_t plan;

        Candidate(cudnnBackendDescriptor_t config, EngineInfo info) {
            this.config = config;
            this.info = info;
        }
    }

    /** The tensors, the convolution, the operation and the operation graph of {@code g}; the graph descriptor. */
    cudnnBackendDescriptor_t graph(GraphConv g, List<cudnnBackendDescriptor_t> owned) {
        cudnnBackendDescriptor_t[] t = new cudnnBackendDescriptor_t[3];
        List<GraphConv.Tensor> ts = g.tensors();
        for (int i = 0; i < 3; i++) {
            GraphConv.Tensor s = ts.get(i);
            String what = s.port() + " tensor " + Arrays.toString(s.dims());
            cudnnBackendDescriptor_t d = own(owned, create(CUDNN_BACKEND_TENSOR_DESCRIPTOR, what));
            set(d, what, CUDNN_ATTR_TENSOR_DATA_TYPE, "CUDNN_ATTR_TENSOR_DATA_TYPE", CUDNN_TYPE_DATA_TYPE, 1, oneInt(g.dataType()));
            set(d, what, CUDNN_ATTR_TENSOR_DIMENSIONS, "CUDNN_ATTR_TENSOR_DIMENSIONS", CUDNN_TYPE_INT64, s.dims().length, new LongPointer(s.dims()));
            set(d, what, CUDNN_ATTR_TENSOR_STRIDES, "CUDNN_ATTR_TENSOR_STRIDES " + Arrays.toString(s.strides()), CUDNN_TYPE_INT64,
                    s.strides().length, new LongPointer(s.strides()));
            set(d, what, CUDNN_ATTR_TENSOR_UNIQUE_ID, "CUDNN_ATTR_TENSOR_UNIQUE_ID", CUDNN_TYPE_INT64, 1, one(s.uid()));
            set(d, what, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, "CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT " + s.alignment(), CUDNN_TYPE_INT64, 1,
                    one(s.alignment()));
            finish(d, what);
            t[i] = d;
        }
        String cw = "convolution";
        cudnnBackendDescriptor_t conv = own(owned, create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, cw));
        int n = g.spatialDims();
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, "CUDNN_ATTR_CONVOLUTION_COMP_TYPE", CUDNN_TYPE_DATA_TYPE, 1, oneInt(g.computeType()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_CONV_MODE, "CUDNN_ATTR_CONVOLUTION_CONV_MODE", CUDNN_TYPE_CONVOLUTION_MODE, 1,
                oneInt(CUDNN_CROSS_CORRELATION));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, "CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS", CUDNN_TYPE_INT64, 1, one((long) n));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, "CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS", CUDNN_TYPE_INT64, n, new LongPointer(g.prePadding()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, "CUDNN_ATTR_CONVOLUTION_POST_PADDINGS", CUDNN_TYPE_INT64, n, new LongPointer(g.postPadding()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_DILATIONS, "CUDNN_ATTR_CONVOLUTION_DILATIONS", CUDNN_TYPE_INT64, n, new LongPointer(g.dilation()));
        set(conv, cw, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, "CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES", CUDNN_TYPE_INT64, n, new LongPointer(g.stride()));
        finish(conv, cw);

        String ow = AlgoSelection.shortOp(g.op()) + " operation";
        cudnnBackendDescriptor_t op = own(owned, create(g.operationType(), ow));
        List<GraphConv.Tensor> order = g.tensors();
        for (int i = 0; i < 3; i++) {
            set(op, ow, order.get(i).attribute(), "the " + order.get(i).port() + " tensor", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                    one(t[i].address()));
        }
        set(op, ow, g.convDescAttribute(), "the convolution descriptor", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, one(conv.address()));
        if (g.doubleScalars()) {
            set(op, ow, g.alphaAttribute(), "alpha", CUDNN_TYPE_DOUBLE, 1, new DoublePointer(g.alpha()));
            set(op, ow, g.betaAttribute(), "beta", CUDNN_TYPE_DOUBLE, 1, new DoublePointer(g.beta()));
        } else {
            set(op, ow, g.alphaAttribute(), "alpha", CUDNN_TYPE_FLOAT, 1, new FloatPointer((float) g.alpha()));
            set(op, ow, g.betaAttribute(), "beta", CUDNN_TYPE_FLOAT, 1, new FloatPointer((float) g.beta()));
        }
        finish(op, ow);

        String gw = "operation graph";
        cudnnBackendDescriptor_t graph = own(owned, create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, gw));
        set(graph, gw, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, "CUDNN_ATTR_OPERATIONGRAPH_HANDLE", CUDNN_TYPE_HANDLE, 1, one(handle.address()));
        set(graph, gw, CUDNN_ATTR_OPERATIONGRAPH_OPS, "CUDNN_ATTR_OPERATIONGRAPH_OPS", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, one(op.address()));
        finish(graph, gw);
        return graph;
    }

    /**
     * The engine configurations of one heuristics mode that this session may run and that {@code known} does not
     * hold yet, in cuDNN's order; the others are destroyed, with their reasons added to {@code refused}. Throws
     * when the mode's query itself fails.
     */
    private List<Candidate> candidates(cudnnBackendDescriptor_t graph, int mode, DType dtype, CudaOptions o, List<String> refused,
                                       List<Candidate> known) {
        List<Candidate> out = new ArrayList<>();
        String hw = "engine heuristics (mode " + (mode == CUDNN_HEUR_MODE_A ? "A" : mode == CUDNN_HEUR_MODE_FALLBACK ? "FALLBACK" : mode) + ")";
        cudnnBackendDescriptor_t heur = create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, hw);
        List<cudnnBackendDescriptor_t> configs = new ArrayList<>();
        try {
            set(heur, hw, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, "CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                    one(graph.address()));
            set(heur, hw, CUDNN_ATTR_ENGINEHEUR_MODE, "CUDNN_ATTR_ENGINEHEUR_MODE", CUDNN_TYPE_HEUR_MODE, 1, oneInt(mode));
            finish(heur, hw);
            LongPointer count = new LongPointer(1);
            check(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, count, (Pointer) null),
                    "cudnnBackendGetAttribute(" + hw + ", CUDNN_ATTR_ENGINEHEUR_RESULTS count)");
            int n = (int) Math.max(0, Math.min(count.get(), 1000));
            LongPointer addrs = new LongPointer(Math.max(n, 1));
            for (int i = 0; i < n; i++) {
                cudnnBackendDescriptor_t c = create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, "engine configuration");
                configs.add(c);
                addrs.put(i, c.address());
            }
            if (n > 0) {
                check(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n, count, addrs),
                        "cudnnBackendGetAttribute(" + hw + ", CUDNN_ATTR_ENGINEHEUR_RESULTS)");
            }
            int got = (int) Math.max(0, Math.min(count.get(), n));
            for (int i = 0; i < configs.size(); i++) {
                cudnnBackendDescriptor_t c = configs.get(i);
                configs.set(i, null); // from here on this loop owns it
                if (i >= got) {
                    cudnnBackendDestroyDescriptor(c);
                    continue;
                }
                EngineInfo info;
                try {
                    info = describe(c);
                } catch (BuildFailure | IllegalArgumentException e) { // a failed query, or knobs that make no choice
                    refused.add("a configuration of " + hw + ": " + e.getMessage());
                    cudnnBackendDestroyDescriptor(c);
                    continue;
                }
                String why = GraphConv.refusal(info.notes(), dtype, o.math(), o.deterministic());
                boolean seen = out.stream().anyMatch(x -> x.info.choice().sameConfig(info.choice()))
                        || known.stream().anyMatch(x -> x.info.choice().sameConfig(info.choice()));
                if (why != null || seen) {
                    if (why != null) refused.add("engine " + info.choice().engine() + ": " + why);
                    cudnnBackendDestroyDescriptor(c);
                    continue;
                }
                out.add(new Candidate(c, info));
            }
            return out;
        } catch (BuildFailure e) {
            for (cudnnBackendDescriptor_t c : configs) if (c != null) cudnnBackendDestroyDescriptor(c);
            for (Candidate c : out) cudnnBackendDestroyDescriptor(c.config);
            throw e;
        } finally {
            cudnnBackendDestroyDescriptor(heur);
        }
    }

    /** The engine's global index, its knob choices and its numerical notes. */
    private EngineInfo describe(cudnnBackendDescriptor_t config) {
        cudnnBackendDescriptor_t engine = create(CUDNN_BACKEND_ENGINE_DESCRIPTOR, "engine");
        List<cudnnBackendDescriptor_t> knobs = new ArrayList<>();
        try {
            LongPointer count = new LongPointer(1);
            check(cudnnBackendGetAttribute(config, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, count,
                    one(engine.address())), "cudnnBackendGetAttribute(engine configuration, CUDNN_ATTR_ENGINECFG_ENGINE)");
            long index = getLong(engine, "engine", CUDNN_ATTR_ENGINE_GLOBAL_INDEX, "CUDNN_ATTR_ENGINE_GLOBAL_INDEX");
            // as cudnn-frontend asks: room for every note type
            IntPointer notes = new IntPointer(CUDNN_NUMERICAL_NOTE_TYPE_COUNT);
            check(cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE, CUDNN_NUMERICAL_NOTE_TYPE_COUNT,
                    count, notes), "cudnnBackendGetAttribute(engine " + index + ", CUDNN_ATTR_ENGINE_NUMERICAL_NOTE)");
            int[] ns = new int[(int) Math.max(0, Math.min(count.get(), CUDNN_NUMERICAL_NOTE_TYPE_COUNT))];
            for (int i = 0; i < ns.length; i++) ns[i] = notes.get(i);
            int nk = KNOB_CAPACITY; // room for every knob type; cuDNN fills what the engine has
            List<GraphConv.Knob> ks = new ArrayList<>();
            if (nk > 0) {
                LongPointer addrs = new LongPointer(nk);
                for (int i = 0; i < nk; i++) {
                    cudnnBackendDescriptor_t kd = create(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR, "knob choice");
                    knobs.add(kd);
                    addrs.put(i, kd.address());
                }
                check(cudnnBackendGetAttribute(config, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES, CUDNN_TYPE_BACKEND_DESCRIPTOR, nk, count, addrs),
                        "cudnnBackendGetAttribute(engine " + index + " configuration, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES)");
                int got = (int) Math.min(count.get(), nk);
                for (int i = 0; i < got; i++) {
                    IntPointer type = new IntPointer(1);
                    check(cudnnBackendGetAttribute(knobs.get(i), CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, CUDNN_TYPE_KNOB_TYPE, 1, count, type),
                            "cudnnBackendGetAttribute(knob choice, CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE)");
                    long value = getLong(knobs.get(i), "knob choice", CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE, "CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE");
                    ks.add(new GraphConv.Knob(type.get(), value));
                }
            }
            return new EngineInfo(new GraphConv.EngineChoice(index, ks, 0), ns);
        } finally {
            for (cudnnBackendDescriptor_t kd : knobs) cudnnBackendDestroyDescriptor(kd);
            cudnnBackendDestroyDescriptor(engine);
        }
    }

    /**
     * A stored choice made again (engine by global index, its knobs, a configuration, a plan), checked against
     * this session's filter; true when {@code b} now holds it. Anything that fails leaves the caller to choose afresh.
     */
    private boolean fromChoice(Built b, cudnnBackendDescriptor_t graph, GraphConv.EngineChoice stored, DType dtype, CudaOptions o,
                               List<String> refused) {
        List<cudnnBackendDescriptor_t> made = new ArrayList<>();
        try {
            String ew = "engine " + stored.engine() + " (stored)";
            cudnnBackendDescriptor_t engine = own(made, create(CUDNN_BACKEND_ENGINE_DESCRIPTOR, ew));
            set(engine, ew, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, "CUDNN_ATTR_ENGINE_OPERATION_GRAPH", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                    one(graph.address()));
            set(engine, ew, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, "CUDNN_ATTR_ENGINE_GLOBAL_INDEX", CUDNN_TYPE_INT64, 1, one(stored.engine()));
            finish(engine, ew);
            LongPointer kaddrs = new LongPointer(Math.max(1, stored.knobs().size()));
            for (int i = 0; i < stored.knobs().size(); i++) {
                GraphConv.Knob kn = stored.knobs().get(i);
                cudnnBackendDescriptor_t kd = own(made, create(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR, "knob choice"));
                set(kd, "knob choice", CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, "CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE", CUDNN_TYPE_KNOB_TYPE, 1, oneInt(kn.type()));
                set(kd, "knob choice", CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE, "CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE", CUDNN_TYPE_INT64, 1, one(kn.value()));
                finish(kd, "knob choice");
                kaddrs.put(i, kd.address());
            }
            String cw = "engine configuration " + stored.engine() + " (stored)";
            cudnnBackendDescriptor_t cfg = own(made, create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, cw));
            set(cfg, cw, CUDNN_ATTR_ENGINECFG_ENGINE, "CUDNN_ATTR_ENGINECFG_ENGINE", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, one(engine.address()));
            if (!stored.knobs().isEmpty()) {
                set(cfg, cw, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES, "CUDNN_ATTR_ENGINECFG_KNOB_CHOICES", CUDNN_TYPE_BACKEND_DESCRIPTOR,
                        stored.knobs().size(), kaddrs);
            }
            finish(cfg, cw);
            EngineInfo info = describe(cfg);
            String why = GraphConv.refusal(info.notes(), dtype, o.math(), o.deterministic());
            if (why != null) {
                refused.add("stored engine " + stored.engine() + ": " + why);
                made.forEach(CudnnGraph::destroyQuietly);
                return false;
            }
            cudnnBackendDescriptor_t p = own(made, plan(cfg, ew));
            long ws = getLong(p, "execution plan", CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, "CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE");
            if (ws > o.workspaceLimit()) {
                made.forEach(CudnnGraph::destroyQuietly);
                return false;
            }
            b.owned.addAll(made);
            b.plan = p;
            b.engine = new EngineInfo(new GraphConv.EngineChoice(stored.engine(), stored.knobs(), ws), info.notes());
            return true;
        } catch (BuildFailure e) {
            refused.add("stored choice " + stored.text() + ": " + e.getMessage());
            made.forEach(CudnnGraph::destroyQuietly);
            return false;
        }
    }

    /** An execution plan of {@code config} on this session's handle. */
    private cudnnBackendDescriptor_t plan(cudnnBackendDescriptor_t config, String engineName) {
        String pw = "execution plan of " + engineName;
        cudnnBackendDescriptor_t p = create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, pw);
        try {
            set(p, pw, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, "CUDNN_ATTR_EXECUTION_PLAN_HANDLE", CUDNN_TYPE_HANDLE, 1, one(handle.address()));
            set(p, pw, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, "CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG", CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                    one(config.address()));
            finish(p, pw);
            return p;
        } catch (BuildFailure e) {
            cudnnBackendDestroyDescriptor(p);
            throw e;
        }
    }

    /**
     * Benchmark mode: each plan runs once untimed, then {@link #REPEATS} times between two CUDA events on the
     * call's own buffers (their outputs are written again by the real run right after, which is why graphs that
     * add into their output are never timed). The fastest; plans that fail to run are dropped with their reason.
     */
    private Candidate fastest(List<Candidate> plans, long xc, long w, long yc, String problem, List<String> refused) {
        long most = 0;
        for (Candidate c : plans) most = Math.max(most, c.info.choice().workspace());
        long ws = 0;
        if (most > 0) {
            try {
                ws = DeviceAddress.of(session.context().scratch("workspace", most, problem));
            } catch (CudaOutOfMemoryException e) { // time only the plans that need no workspace
                refused.add("no workspace of " + most + " B for timing: " + e.getMessage());
                most = 0;
            }
        }
        Candidate best = null;
        float bestMs = Float.MAX_VALUE;
        for (Candidate c : plans) {
            if (c.info.choice().workspace() > most) continue;
            Built probe = new Built();
            probe.plan = c.plan;
            try {
                int rc = execute(probe, xc, w, yc, ws, problem);
                if (rc != 0) {
                    CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.CUDNN, rc);
                    if (e.kind() == CudaStatus.Kind.STICKY) { // the context is lost: nothing else can run either
                        CudaErrors.checkCudnn(rc, "cudnnBackendExecute(engine " + c.info.choice().engine() + ", timing)", problem);
                    }
                    refused.add("engine " + c.info.choice().engine() + ": cudnnBackendExecute returned " + e.name() + " (" + rc + ")");
                    continue;
                }
                final long wsAddr = ws;
                int[] status = new int[1];
                float ms = session.context().time(() -> {
                    for (int r = 0; r < REPEATS && status[0] == 0; r++) status[0] = execute(probe, xc, w, yc, wsAddr, problem);
                }, problem);
                CudaErrors.checkCudnn(status[0], "cudnnBackendExecute(engine " + c.info.choice().engine() + ", timing)", problem);
                if (ms < bestMs) {
                    bestMs = ms;
                    best = c;
                }
            } finally { // the probe's native arrays belong to build()'s pointer scope, which frees them
                if (probe.variantPack != null) cudnnBackendDestroyDescriptor(probe.variantPack);
            }
        }
        return best;
    }

    // ---- the backend API's calls, each failure naming its call, target and status ----

    private static cudnnBackendDescriptor_t create(int type, String what) {
        cudnnBackendDescriptor_t d = new cudnnBackendDescriptor_t();
        check(cudnnBackendCreateDescriptor(type, d), "cudnnBackendCreateDescriptor(" + what + ")");
        return d;
    }

    private static cudnnBackendDescriptor_t own(List<cudnnBackendDescriptor_t> owned, cudnnBackendDescriptor_t d) {
        owned.add(d);
        return d;
    }

    private static void set(cudnnBackendDescriptor_t d, String what, int attribute, String attributeName, int type, long count, Pointer values) {
        check(cudnnBackendSetAttribute(d, attribute, type, count, values), "cudnnBackendSetAttribute(" + what + ", " + attributeName + ")");
    }

    private static void finish(cudnnBackendDescriptor_t d, String what) {
        check(cudnnBackendFinalize(d), "cudnnBackendFinalize(" + what + ")");
    }

    private static long getLong(cudnnBackendDescriptor_t d, String what, int attribute, String attributeName) {
        LongPointer count = new LongPointer(1);
        LongPointer v = new LongPointer(1);
        check(cudnnBackendGetAttribute(d, attribute, CUDNN_TYPE_INT64, 1, count, v), "cudnnBackendGetAttribute(" + what + ", " + attributeName + ")");
        return v.get();
    }

    /** One int64 (a descriptor, a handle, a device address or a number). Not {@code new LongPointer(v)}: that allocates v elements. */
    private static LongPointer one(long v) {
        return new LongPointer(new long[]{v});
    }

    /** One int32 enum value. Not {@code new IntPointer(v)}: that allocates v elements. */
    private static IntPointer oneInt(int v) {
        return new IntPointer(new int[]{v});
    }

    private static void check(int status, String call) {
        if (status != 0) throw new BuildFailure(call, status);
    }

    private static void destroyQuietly(cudnnBackendDescriptor_t d) {
        cudnnBackendDestroyDescriptor(d);
    }

    static void destroy(Built b) {
        if (b.variantPack != null) cudnnBackendDestroyDescriptor(b.variantPack);
        b.variantPack = null;
        // the plan first, then what it was made from, in reverse order of making
        for (int i = b.owned.size() - 1; i >= 0; i--) cudnnBackendDestroyDescriptor(b.owned.get(i));
        b.owned.clear();
        b.dataPointers.close();
        b.uids.close();
        b.workspacePointer.close();
    }

    @Override
    public void close() {
        for (Object e : known.values()) {
            if (e instanceof Built b) destroy(b);
        }
        known.clear();
    }
}
