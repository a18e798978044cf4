package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.cpu.CpuBackend;

/** Opening the engine for a benchmark, and what the backend can tell about itself (threads, scratch). */
final class BackendAccess {
    /** The CPU backend's thread-count property. */
    static final String THREADS_PROPERTY = "jconv.cpu.threads";

    private BackendAccess() {
    }

    /** The CUDA backend's math-mode property (fp32 or tf32), read when a session opens. */
    static final String CUDA_MATH_PROPERTY = "jconv.cuda.math";

    /** Opens the engine with the CUDA math mode {@code math} (fp32 or tf32) for this session only. */
    /** The CUDA backend's algorithm-choice property (heuristic or benchmark), read when a session opens. */
    static final String CUDA_ALGO_PROPERTY = "jconv.cuda.algo";

    /** The CUDA backend's determinism property (true or false), read when a session opens. */
    static final String CUDA_DETERMINISTIC_PROPERTY = "jconv.cuda.deterministic";

    /**
     * Opens the engine with CUDA math {@code math}, algorithm choice {@code algo} and determinism
     * {@code deterministic} (null: the backend's default) for this session only.
     */
    static ConvEngine open(String backend, Integer threads, String math, String algo, Boolean deterministic) {
        if (deterministic == null) return open(backend, threads, math, algo);
        String before = System.getProperty(CUDA_DETERMINISTIC_PROPERTY);
        System.setProperty(CUDA_DETERMINISTIC_PROPERTY, deterministic.toString());
        try {
            return open(backend, threads, math, algo);
        } finally {
            if (before == null) System.clearProperty(CUDA_DETERMINISTIC_PROPERTY);
            else System.setProperty(CUDA_DETERMINISTIC_PROPERTY, before);
        }
    }

    /** Opens the engine with CUDA math {@code math} and algorithm choice {@code algo} for this session only. */
    static ConvEngine open(String backend, Integer threads, String math, String algo) {
        String before = System.getProperty(CUDA_ALGO_PROPERTY);
        System.setProperty(CUDA_ALGO_PROPERTY, algo);
        try {
            return open(backend, threads, math);
        } finally {
            if (before == null) System.clearProperty(CUDA_ALGO_PROPERTY);
            else System.setProperty(CUDA_ALGO_PROPERTY, before);
        }
    }

    static ConvEngine open(String backend, Integer threads, String math) {
        String before = System.getProperty(CUDA_MATH_PROPERTY);
        System.setProperty(CUDA_MATH_PROPERTY, math);
        try {
            return open(backend, threads);
        } finally {
            if (before == null) System.clearProperty(CUDA_MATH_PROPERTY);
            else System.setProperty(CUDA_MATH_PROPERTY, before);
        }
    }

    static ConvEngine open(String backend, Integer threads) {
        if (threads == null) return ConvEngine.open(BenchCommand.engineOptions(backend));
        if (threads < 1) throw new IllegalArgumentException("threads = " + threads + ": must be >= 1; e.g. --threads 2");
        // the property is read when the session opens; put back the caller's value so nothing else in this JVM sees ours
        String before = System.getProperty(THREADS_PROPERTY);
        System.setProperty(THREADS_PROPERTY, Integer.toString(threads));
        try {
            return ConvEngine.open(BenchCommand.engineOptions(backend));
        } finally {
            if (before == null) System.clearProperty(THREADS_PROPERTY);
            else System.setProperty(THREADS_PROPERTY, before);
        }
    }

    static String threadsText(ConvEngine engine, Integer threads) {
        if (engine.backend() instanceof CpuBackend cpu) return Integer.toString(cpu.threads());
        if (threads != null) return threads.toString();
        String p = System.getProperty(THREADS_PROPERTY);
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
