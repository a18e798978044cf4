package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.cpu.CpuBackend;
import io.github.jconv.cpu.CpuOptions;

/** Opening the engine for a benchmark, and what the backend can tell about itself (threads, scratch). */
final class BackendAccess {
    /** The CPU backend's thread-count property. */
    static final String THREADS_PROPERTY = "jconv.cpu.threads";

    private BackendAccess() {
    }

    /** The CUDA backend's math-mode option (fp32 or tf32), read when a session opens. */
    static final String CUDA_MATH_PROPERTY = "jconv.cuda.math";
    /** The CUDA backend's algorithm-choice option (heuristic or benchmark), read when a session opens. */
    static final String CUDA_ALGO_PROPERTY = "jconv.cuda.algo";

    /** The CUDA backend's determinism option (true or false), read when a session opens. */
    static final String CUDA_DETERMINISTIC_PROPERTY = "jconv.cuda.deterministic";

    /**
     * Opens the engine with CUDA math {@code math}, algorithm choice {@code algo} and determinism {@code deterministic}
     * (null: the backend's default): values of this session's options, so no other engine of this JVM sees them.
     */
    static ConvEngine open(String backend, Integer threads, String math, String algo, Boolean deterministic) {
        return ConvEngine.open(sessionOptions(backend, threads, math, algo, deterministic, null));
    }

    /** As {@link #open(String, Integer, String, String, Boolean)}, with jconv's cuDNN interface {@code api} (null: unchanged). */
    static ConvEngine open(String backend, Integer threads, String math, String algo, Boolean deterministic, String api) {
        return ConvEngine.open(sessionOptions(backend, threads, math, algo, deterministic, api));
    }

    /** The bench session's options: the system's, with these values set (null ones left as the system has them). */
    static EngineOptions sessionOptions(String backend, Integer threads, String math, String algo, Boolean deterministic, String api) {
        EngineOptions.Builder b = options(backend, threads).set(CUDA_MATH_PROPERTY, math).set(CUDA_ALGO_PROPERTY, algo);
        if (deterministic != null) b.set(CUDA_DETERMINISTIC_PROPERTY, deterministic.toString());
        if (api != null) b.set(BenchCommand.CUDA_API_PROPERTY, api);
        return b.build();
    }

    /**
     * Opens the engine with CUDA math {@code math} and algorithm choice {@code algo}: values of this session's
     * options, so no other engine of this JVM sees them.
     */
    static ConvEngine open(String backend, Integer threads, String math, String algo) {
        return ConvEngine.open(options(backend, threads).set(CUDA_MATH_PROPERTY, math).set(CUDA_ALGO_PROPERTY, algo).build());
    }

    static ConvEngine open(String backend, Integer threads, String math) {
        return ConvEngine.open(options(backend, threads).set(CUDA_MATH_PROPERTY, math).build());
    }

    static ConvEngine open(String backend, Integer threads) {
        return ConvEngine.open(options(backend, threads).build());
    }

    /** The command's options, with {@code threads} CPU workers (null: the usual count) as the CPU session's typed options. */
    static EngineOptions.Builder options(String backend, Integer threads) {
        EngineOptions.Builder b = BenchCommand.engineOptions(backend).toBuilder();
        if (threads == null) return b;
        if (threads < 1) throw new IllegalArgumentException("threads = " + threads + ": must be >= 1; e.g. --threads 2");
        return b.backendOptions(new CpuOptions(threads));
    }

    static String threadsText(ConvEngine engine, Integer threads) {
        if (engine.backend() instanceof CpuBackend cpu) return Integer.toString(cpu.threads());
        if (threads != null) return threads.toString();
        String p = EngineOptions.system(THREADS_PROPERTY);
        return p != null ? p : engine.backendName().equals("cpu") ? Integer.toString(Runtime.getRuntime().availableProcessors()) : "-";
    }

    static JconvRunner.ScratchMeter scratchMeter(ConvEngine engine) {
        if (!(engine.backend() instanceof CpuBackend cpu)) return JconvRunner.ScratchMeter.NONE;
        return new JconvRunner.ScratchMeter() {
            @Override
            public void reset() {
                cpu.resetPeakScratch();
            }

            @Override
            public long peakBytes() {
                return cpu.peakScratchBytes();
            }
        };
    }

    static boolean vectorApiPresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }
}
