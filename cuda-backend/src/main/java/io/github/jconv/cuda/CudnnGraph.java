package io.github.jconv.cuda;

import io.github.jconv.DType;
import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.github.jconv.cuda.GraphCalls.*;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * Runs convolutions through cuDNN's graph (backend) API, the default ({@code jconv.cuda.api=graph}; legacy opts out): per
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
 *
 * <p>This class chooses, keeps and executes the plans; {@link GraphOperation} builds the operation graph's
 * descriptors, {@link GraphEngines} asks the heuristics and filters their engine configurations, and
 * {@link GraphCalls} makes the backend API's calls.
 */
final class CudnnGraph implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.github.jconv.cuda");
    /** Most plans timed per key in benchmark mode (from heuristics mode A, then the fallback list). */
    static final int TIMED = 8;
    /** Timed executions per plan (after one untimed). */
    static final int REPEATS = 3;

    private final CudaBackend session;
    private final cudnnContext handle;
    private final GraphEngines engines;
    private final Map<Key, Object> known = new HashMap<>(); // Built, or the String reason it cannot run
    private String lastFallback = "";

    /** What a built graph depends on beyond the session: the legacy key, the alignments of the buffers, beta. */
    record Key(AlgoSelection.Key key, long xa, long wa, long ya, boolean accumulate) {
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
        this.engines = new GraphEngines(handle);
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
            cudnnBackendDescriptor_t graph = GraphOperation.build(handle, g, b.owned);
            List<String> refused = new ArrayList<>();
            boolean benchmark = o.algo() == CudaOptions.AlgoMode.BENCHMARK && !k.accumulate(); // timing must not add into a live output
            String cacheKey = GraphConv.cacheKey(k.key(), g);
            if (benchmark) {
                GraphConv.EngineChoice stored = GraphConv.EngineChoice.parse(session.algoDiskCache().getText(cacheKey));
                if (stored != null && engines.fromChoice(b, graph, stored, dtype, o, refused)) {
                    b.label = GraphConv.label(plan.op(), b.engine.choice(), b.engine.notes());
                    return b;
                }
            }
            // heuristics mode A first; the fallback list only when A leaves fewer plans than wanted
            List<GraphEngines.Candidate> candidates = new ArrayList<>();
            List<GraphEngines.Candidate> plans = new ArrayList<>();
            int wanted = benchmark ? TIMED : 1;
            BuildFailure firstFailure = null;
            int modesOk = 0;
            for (int mode : new int[]{CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
                if (plans.size() >= wanted) break;
                List<GraphEngines.Candidate> fresh;
                try {
                    fresh = engines.candidates(graph, mode, dtype, o, refused, candidates);
                    modesOk++;
                } catch (BuildFailure e) {
                    if (firstFailure == null) firstFailure = e;
                    refused.add(e.getMessage());
                    continue;
                }
                candidates.addAll(fresh);
                for (GraphEngines.Candidate c : fresh) {
                    if (plans.size() >= wanted) break;
                    try {
                        cudnnBackendDescriptor_t p = engines.plan(c.config, "engine " + c.info.choice().engine());
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
            GraphEngines.Candidate best = plans.isEmpty() ? null : plans.get(0);
            if (benchmark && plans.size() > 1) best = fastest(plans, xc, w, yc, problem, refused);
            for (GraphEngines.Candidate c : candidates) { // the configurations not kept
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

    /**
     * Benchmark mode: each plan runs once untimed, then {@link #REPEATS} times between two CUDA events on the
     * call's own buffers (their outputs are written again by the real run right after, which is why graphs that
     * add into their output are never timed). The fastest; plans that fail to run are dropped with their reason.
     */
    private GraphEngines.Candidate fastest(List<GraphEngines.Candidate> plans, long xc, long w, long yc, String problem, List<String> refused) {
        long most = 0;
        for (GraphEngines.Candidate c : plans) most = Math.max(most, c.info.choice().workspace());
        long ws = 0;
        if (most > 0) {
            try {
                ws = DeviceAddress.of(session.context().scratch("workspace", most, problem));
            } catch (CudaOutOfMemoryException e) { // time only the plans that need no workspace
                refused.add("no workspace of " + most + " B for timing: " + e.getMessage());
                most = 0;
            }
        }
        GraphEngines.Candidate best = null;
        float bestMs = Float.MAX_VALUE;
        for (GraphEngines.Candidate c : plans) {
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