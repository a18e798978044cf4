package io.github.jconv.cuda;

import io.github.jconv.EngineOptions;

import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The CUDA session's knobs, read when a session opens: system property, else environment, else default.
 * <ul>
 * <li>{@code jconv.cuda.math} / {@code JCONV_CUDA_MATH}: fp32 (exact, default) or tf32</li>
 * <li>{@code jconv.cuda.deterministic} / {@code JCONV_CUDA_DETERMINISTIC}: true (default) keeps only the
 *     algorithms cuDNN reports as deterministic (no atomics), so the same call gives bit-identical results,
 *     as on jconv's other backends; false lets cuDNN's fastest algorithms run, whose last bits may change from
 *     call to call (PyTorch's default)</li>
 * <li>{@code jconv.cuda.algo} / {@code JCONV_CUDA_ALGO}: heuristic (default) or benchmark; benchmark choices are
 *     also kept on disk under {@code jconv.cache.dir} / {@code JCONV_CACHE_DIR} (default {@code ~/.cache/jconv}),
 *     see {@link AlgoDiskCache}</li>
 * <li>{@code jconv.cuda.workspaceLimit} / {@code JCONV_CUDA_WORKSPACE_LIMIT}: most bytes of scratch one
 *     call may use, with an optional k/m/g suffix (default 1g)</li>
 * <li>{@code jconv.cuda.api} / {@code JCONV_CUDA_API}: graph (default) builds each convolution as a cuDNN graph
 *     (backend API, {@link CudnnGraph}), whose engines the legacy calls cannot reach, and falls back to the legacy
 *     calls, saying why, where the graph cannot run a problem; legacy runs cuDNN's legacy convolution calls only</li>
 * </ul>
 * The forward bias fusion switch, {@code jconv.cuda.fuseBias}, is read by {@link FusedBias}.
 * Read from {@link EngineOptions} (the one place that reads system properties and variables) when a session opens.
 */
public record CudaOptions(MathMode math, boolean deterministic, AlgoMode algo, long workspaceLimit, Api api) {
    /** Which cuDNN interface runs convolutions. */
    public enum Api {
        /** cudnnConvolutionForward / BackwardData / BackwardFilter with cuDNN's algorithm enums. */
        LEGACY,
        /** The backend (graph) API: an operation graph per problem, engines from cuDNN's heuristics. */
        GRAPH
    }

    /** How algorithms are chosen. */
    public enum AlgoMode {
        /** cuDNN's heuristics rank the algorithms; nothing runs to choose. */
        HEURISTIC,
        /** Every candidate runs once on scratch buffers; the fastest wins. */
        BENCHMARK
    }

    public static final long DEFAULT_WORKSPACE_LIMIT = 1L << 30;

    public CudaOptions {
        if (math == null) throw new IllegalArgumentException("math = null: choose MathMode.FP32 (exact) or MathMode.TF32");
        if (algo == null) throw new IllegalArgumentException("algo = null: choose AlgoMode.HEURISTIC or AlgoMode.BENCHMARK");
        if (workspaceLimit < 0) {
            throw new IllegalArgumentException("workspaceLimit = " + workspaceLimit + ": must be >= 0 bytes; e.g. " + DEFAULT_WORKSPACE_LIMIT);
        }
        if (api == null) throw new IllegalArgumentException("api = null: choose Api.LEGACY or Api.GRAPH");
    }

    /** The legacy cuDNN API. */
    public CudaOptions(MathMode math, boolean deterministic, AlgoMode algo, long workspaceLimit) {
        this(math, deterministic, algo, workspaceLimit, Api.LEGACY);
    }

    /** These options with {@code api} instead. */
    public CudaOptions withApi(Api api) {
        return new CudaOptions(math, deterministic, algo, workspaceLimit, api);
    }

    public static CudaOptions defaults() {
        return new CudaOptions(MathMode.FP32, true, AlgoMode.HEURISTIC, DEFAULT_WORKSPACE_LIMIT, Api.GRAPH);
    }

    /** From the system properties and environment variables now (through {@link EngineOptions#fromSystem()}). */
    public static CudaOptions fromEnvironment() {
        return from(EngineOptions.fromSystem());
    }

    /** The typed options given in {@code options} (EngineOptions.builder().backendOptions(...)), else those its settings describe. */
    public static CudaOptions of(EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        return options.backendOptions(CudaOptions.class).orElseGet(() -> from(options));
    }

    /** From {@code options}' settings: its jconv.* properties, else its JCONV_* variables, else the defaults. */
    static CudaOptions from(EngineOptions options) {
        return from(options.properties(), options.environment());
    }

    static CudaOptions from(Properties props, Map<String, String> env) {
        String math = first(props.getProperty("jconv.cuda.math"), env.get("JCONV_CUDA_MATH"));
        String det = first(props.getProperty("jconv.cuda.deterministic"), env.get("JCONV_CUDA_DETERMINISTIC"));
        String algo = first(props.getProperty("jconv.cuda.algo"), env.get("JCONV_CUDA_ALGO"));
        String ws = first(props.getProperty("jconv.cuda.workspaceLimit"), env.get("JCONV_CUDA_WORKSPACE_LIMIT"));
        String api = first(props.getProperty("jconv.cuda.api"), env.get("JCONV_CUDA_API"));
        MathMode m = math == null ? MathMode.FP32 : MathMode.parse(math);
        boolean d = defaults().deterministic();
        if (det != null) {
            String v = det.strip().toLowerCase(Locale.ROOT);
            if (!v.equals("true") && !v.equals("false")) {
                throw new IllegalArgumentException("jconv.cuda.deterministic = " + det + ": must be true or false; e.g. true");
            }
            d = v.equals("true");
        }
        AlgoMode a = AlgoMode.HEURISTIC;
        if (algo != null) {
            try {
                a = AlgoMode.valueOf(algo.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("jconv.cuda.algo = " + algo + ": must be heuristic or benchmark; e.g. heuristic");
            }
        }
        long w = ws == null ? DEFAULT_WORKSPACE_LIMIT : parseBytes("jconv.cuda.workspaceLimit", ws);
        Api p = Api.GRAPH;
        if (api != null) {
            try {
                p = Api.valueOf(api.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("jconv.cuda.api = " + api + ": must be legacy or graph; e.g. graph");
            }
        }
        return new CudaOptions(m, d, a, w, p);
    }

    /** "512m", "1g", "65536": bytes. */
    static long parseBytes(String name, String s) {
        String v = s.strip().toLowerCase(Locale.ROOT);
        long mul = 1;
        if (!v.isEmpty()) {
            char c = v.charAt(v.length() - 1);
            int shift = c == 'k' ? 10 : c == 'm' ? 20 : c == 'g' ? 30 : 0;
            if (shift > 0) {
                mul = 1L << shift;
                v = v.substring(0, v.length() - 1);
            }
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0) throw new NumberFormatException();
            return Math.multiplyExact(n, mul);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(name + " = " + s + ": must be a non-negative byte count with an optional k, m or g suffix; e.g. 512m");
        }
    }

    private static String first(String a, String b) {
        if (a != null && !a.isBlank()) return a;
        if (b != null && !b.isBlank()) return b;
        return null;
    }
}
