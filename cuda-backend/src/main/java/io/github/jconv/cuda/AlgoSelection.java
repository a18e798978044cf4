package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.Pass;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Choosing cuDNN algorithms, apart from running them: a pure function from what cuDNN reported
 * (heuristics or measurements) and the session's options to an ordered list of candidates, and a
 * cache of those lists. Execution walks the list and moves on when an algorithm's workspace
 * cannot be allocated.
 */
final class AlgoSelection {
    private AlgoSelection() {
    }

    /** One algorithm as cuDNN's perf structs report it. {@code timeMs} is negative for heuristics. */
    record Result(int algo, int status, float timeMs, long memory, boolean deterministic, int mathType) {
    }

    /** One candidate to run, in order, with the math type it runs with. */
    record Choice(CudnnPlan.Op op, int algo, long workspace, int mathType) {
        /** e.g. "cudnn fwd IMPLICIT_PRECOMP_GEMM (fma, 0 B)". */
        String name() {
            return "cudnn " + shortOp(op) + " " + algoName(op, algo) + " (" + CudnnTypes.mathName(mathType) + ", "
                    + workspace + " B workspace)";
        }
    }

    /**
     * Everything the choice depends on. The problem line carries the full problem (batch, channels,
     * sizes, every per-axis parameter); the device is named by index and model so that two different
     * cards never share an entry.
     */
    record Key(String problem, Pass pass, DType dtype, MathMode math, boolean deterministic, String device,
               long workspaceLimit, CudaOptions.AlgoMode mode) {
        static Key of(io.github.jconv.ConvSpec spec, Pass pass, DType dtype, CudaOptions o, String device) {
            return new Key(spec.toString(), pass, dtype, o.math(), o.deterministic(), device, o.workspaceLimit(), o.algo());
        }
    }

    /**
     * The candidates cuDNN reported that honour the options, best first: failed ones, those over
     * the workspace limit, non-deterministic ones when determinism is asked, and those whose math
     * breaks the math mode (TF32 in FP32-exact mode) are dropped; heuristics keep cuDNN's order,
     * benchmarks sort by measured time. Each (algorithm, math) pair appears once.
     */
    static List<Choice> rank(CudnnPlan.Op op, List<Result> results, DType dtype, CudaOptions o) {
        List<Result> keep = new ArrayList<>();
        Set<Long> seen = new LinkedHashSet<>();
        for (Result r : results) {
            if (r.status() != 0) continue;
            if (r.memory() > o.workspaceLimit()) continue;
            if (o.deterministic() && !r.deterministic()) continue;
            if (!CudnnTypes.mathAllowed(dtype, o.math(), r.mathType())) continue;
            if (!seen.add(((long) r.algo() << 32) | CudnnTypes.runMath(dtype, o.math(), r.mathType()))) continue;
            keep.add(r);
        }
        if (o.algo() == CudaOptions.AlgoMode.BENCHMARK) {
            keep.sort(Comparator.comparingDouble(r -> r.timeMs() < 0 ? Double.MAX_VALUE : r.timeMs()));
        }
        List<Choice> out = new ArrayList<>(keep.size());
        for (Result r : keep) out.add(new Choice(op, r.algo(), r.memory(), CudnnTypes.runMath(dtype, o.math(), r.mathType())));
        return out;
    }

    /** Why no candidate survived {@link #rank}, for the error message. */
    static String whyNone(List<Result> results, DType dtype, CudaOptions o) {
        if (results.isEmpty()) return "cuDNN reported no algorithm";
        StringBuilder b = new StringBuilder("cuDNN reported ").append(results.size()).append(" algorithm(s), none usable:");
        for (Result r : results) {
            b.append(' ').append(r.algo()).append('=');
            if (r.status() != 0) b.append(CudaStatus.lookup(CudaStatus.Library.CUDNN, r.status()).name());
            else if (r.memory() > o.workspaceLimit()) b.append("needs ").append(r.memory()).append(" B > workspace limit ").append(o.workspaceLimit());
            else if (o.deterministic() && !r.deterministic()) b.append("non-deterministic");
            else if (!CudnnTypes.mathAllowed(dtype, o.math(), r.mathType())) b.append(CudnnTypes.mathName(r.mathType())).append(" breaks math mode ").append(o.math());
            else b.append("duplicate");
        }
        if (o.deterministic() && results.stream().anyMatch(r -> r.status() == 0 && !r.deterministic())) {
            b.append("; non-deterministic algorithms exist: jconv.cuda.deterministic=false (JCONV_CUDA_DETERMINISTIC=false) allows them");
        }
        return b.toString();
    }

    /** Remembered choices; thread-safe. */
    static final class Cache {
        private final ConcurrentHashMap<Key, List<Choice>> map = new ConcurrentHashMap<>();

        List<Choice> get(Key k) {
            return map.get(k);
        }

        void put(Key k, List<Choice> choices) {
            map.put(k, List.copyOf(choices));
        }

        /**
         * Drops the choice that failed for lack of memory, so the next call starts from the one that ran.
         * Not in deterministic mode: there a key's order is fixed when it is first chosen, so every call
         * tries the same algorithm first and a call falls to the next one only while memory is short.
         */
        void demote(Key k, Choice failed) {
            if (k.deterministic()) return;
            map.computeIfPresent(k, (key, list) -> {
                List<Choice> l = new ArrayList<>(list);
                l.remove(failed);
                l.add(failed);
                return List.copyOf(l);
            });
        }

        int size() {
            return map.size();
        }
    }

    static String shortOp(CudnnPlan.Op op) {
        return switch (op) {
            case FORWARD -> "fwd";
            case BACKWARD_DATA -> "bwd-data";
            case BACKWARD_FILTER -> "bwd-filter";
            case BACKWARD_BIAS -> "bwd-bias";
        };
    }

    private static final String[] FWD = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
            "WINOGRAD", "WINOGRAD_NONFUSED"};
    private static final String[] BWD_DATA = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    private static final String[] BWD_FILTER = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
            "FFT_TILING"};

    /** cuDNN's enum name of an algorithm number (cudnn_cnn.h). */
    static String algoName(CudnnPlan.Op op, int algo) {
        String[] names = switch (op) {
            case FORWARD -> FWD;
            case BACKWARD_DATA -> BWD_DATA;
            case BACKWARD_FILTER -> BWD_FILTER;
            case BACKWARD_BIAS -> new String[0];
        };
        return algo >= 0 && algo < names.length ? names[algo] : "ALGO#" + algo;
    }

    static int algoCount(CudnnPlan.Op op) {
        return switch (op) {
            case FORWARD -> FWD.length;
            case BACKWARD_DATA -> BWD_DATA.length;
            case BACKWARD_FILTER -> BWD_FILTER.length;
            case BACKWARD_BIAS -> 0;
        };
    }
}
