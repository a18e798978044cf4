package io.github.jconv.cpu;

import io.github.jconv.EngineOptions;

/**
 * The CPU session's settings, read when a session opens. {@code threads}: worker threads, 1 to
 * {@link CpuBackendProvider#MAX_THREADS}, or 0 for the provider's own count (its constructor's argument,
 * else the available processors). From {@link EngineOptions}: option {@code jconv.cpu.threads}; or given
 * typed with {@code EngineOptions.builder().backendOptions(new CpuOptions(4))}.
 *
 * <p>{@code jconv.cpu.noVector} is not here: the Vector API switch is read once per JVM, when the GEMM
 * classes load, so that the JIT sees a constant (see docs/options.md).
 */
public record CpuOptions(int threads) {
    public CpuOptions {
        if (threads < 0 || threads > CpuBackendProvider.MAX_THREADS) {
            throw new IllegalArgumentException("threads = " + threads + ": must be from 1 to " + CpuBackendProvider.MAX_THREADS
                    + ", or 0 for the available processors; e.g. threads = " + CpuBackendProvider.suggestedThreads());
        }
    }

    /** The typed options given in {@code options}, else those its settings describe. */
    public static CpuOptions of(EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        return options.backendOptions(CpuOptions.class).orElseGet(() -> from(options));
    }

    /** From option {@code jconv.cpu.threads} (absent: 0, the provider's count). */
    static CpuOptions from(EngineOptions options) {
        String prop = options.get(CpuBackendProvider.THREADS_PROPERTY);
        if (prop == null) return new CpuOptions(0);
        int n;
        try {
            n = Integer.parseInt(prop.strip());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > CpuBackendProvider.MAX_THREADS) {
            throw new IllegalArgumentException(CpuBackendProvider.THREADS_PROPERTY + " = " + prop + ": must be a whole number from 1 to "
                    + CpuBackendProvider.MAX_THREADS + " (the worker threads of a CPU session); e.g. -D"
                    + CpuBackendProvider.THREADS_PROPERTY + "=" + CpuBackendProvider.suggestedThreads());
        }
        return new CpuOptions(n);
    }
}
