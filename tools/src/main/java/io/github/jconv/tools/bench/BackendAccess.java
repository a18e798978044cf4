package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;

/** Opening the engine for a benchmark, and what the backend can tell about itself (threads, scratch). */
final class BackendAccess {
    /** The CPU backend's thread-count property. */
    static final String THREADS_PROPERTY = "jconv.cpu.threads";

    private BackendAccess() {
    }

    static ConvEngine open(String backend, Integer threads) {
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("threads = " + threads + ": must be >= 1; e.g. --threads 2");
            System.setProperty(THREADS_PROPERTY, Integer.toString(threads));
        }
        return ConvEngine.open(BenchCommand.engineOptions(backend));
    }

    static String threadsText(ConvEngine engine, Integer threads) {
        if (threads != null) return threads.toString();
        String p = System.getProperty(THREADS_PROPERTY);
        return p != null ? p : engine.backendName().equals("cpu") ? Integer.toString(Runtime.getRuntime().availableProcessors()) : "-";
    }

    static JconvRunner.ScratchMeter scratchMeter(ConvEngine engine) {
        return JconvRunner.ScratchMeter.NONE;
    }

    static boolean vectorApiPresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }
}
