package io.github.jconv.cuda;

import io.github.jconv.DType;
import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.List;

import static io.github.jconv.cuda.GraphCalls.*;
import static org.bytedeco.cuda.global.cudnn.*;

/**
 * The engine side of cuDNN's graph API for one operation graph: the heuristics' engine configurations (mode A, then the
 * fallback list), what each engine says about itself (global index, knobs, numerical notes), the filter of what this
 * session may run ({@link GraphConv#refusal}), a stored choice made again, and an execution plan of a configuration.
 */
final class GraphEngines {
    /** Knob choices read per engine configuration: one per knob type, as cudnn-frontend reads them. */
    static final int KNOB_CAPACITY = CUDNN_KNOB_TYPE_COUNTS;

    private final cudnnContext handle;

    GraphEngines(cudnnContext handle) {
        this.handle = handle;
    }

    /** One engine configuration from the heuristics, with what cuDNN says about it, and its plan once made. */
    static final class Candidate {
        final cudnnBackendDescriptor_t config;
        CudnnGraph.EngineInfo info;
        cudnnBackendDescriptor_t plan;

        Candidate(cudnnBackendDescriptor_t config, CudnnGraph.EngineInfo info) {
            this.config = config;
            this.info = info;
        }
    }

    /**
     * The engine configurations of one heuristics mode that this session may run and that {@code known} does not
     * hold yet, in cuDNN's order; the others are destroyed, with their reasons added to {@code refused}. Throws
     * when the mode's query itself fails.
     */
    List<Candidate> candidates(cudnnBackendDescriptor_t graph, int mode, DType dtype, CudaOptions o, List<String> refused,
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
                CudnnGraph.EngineInfo info;
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
    CudnnGraph.EngineInfo describe(cudnnBackendDescriptor_t config) {
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
            return new CudnnGraph.EngineInfo(new GraphConv.EngineChoice(index, ks, 0), ns);
        } finally {
            for (cudnnBackendDescriptor_t kd : knobs) cudnnBackendDestroyDescriptor(kd);
            cudnnBackendDestroyDescriptor(engine);
        }
    }

    /**
     * A stored choice made again (engine by global index, its knobs, a configuration, a plan), checked against
     * this session's filter; true when {@code b} now holds it. Anything that fails leaves the caller to choose afresh.
     */
    boolean fromChoice(CudnnGraph.Built b, cudnnBackendDescriptor_t graph, GraphConv.EngineChoice stored, DType dtype, CudaOptions o,
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
            CudnnGraph.EngineInfo info = describe(cfg);
            String why = GraphConv.refusal(info.notes(), dtype, o.math(), o.deterministic());
            if (why != null) {
                refused.add("stored engine " + stored.engine() + ": " + why);
                made.forEach(GraphCalls::destroyQuietly);
                return false;
            }
            cudnnBackendDescriptor_t p = own(made, plan(cfg, ew));
            long ws = getLong(p, "execution plan", CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, "CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE");
            if (ws > o.workspaceLimit()) {
                made.forEach(GraphCalls::destroyQuietly);
                return false;
            }
            b.owned.addAll(made);
            b.plan = p;
            b.engine = new CudnnGraph.EngineInfo(new GraphConv.EngineChoice(stored.engine(), stored.knobs(), ws), info.notes());
            return true;
        } catch (BuildFailure e) {
            refused.add("stored choice " + stored.text() + ": " + e.getMessage());
            made.forEach(GraphCalls::destroyQuietly);
            return false;
        }
    }

    /** An execution plan of {@code config} on this session's handle. */
    cudnnBackendDescriptor_t plan(cudnnBackendDescriptor_t config, String engineName) {
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
}
