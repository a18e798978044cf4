package io.github.jconv.spi;

import io.github.jconv.EngineOptions;

/**
 * Entry point of a backend, found by {@link java.util.ServiceLoader}. Finding and probing a provider
 * must be cheap and safe: {@link #probe()} never throws and never takes the JVM down; native
 * libraries load only when {@link #open(int)} is called (or, at the latest, inside probe's own guard).
 */
public interface ConvBackendProvider {
    /** Short name used for selection: "cuda", "opencl", "cpu". */
    String name();

    /**
     * Higher wins when nothing is chosen explicitly: cuda 300 &gt; opencl 200 &gt; cpu 100. Providers
     * are probed in this order, and a provider (other than the pure-Java cpu) whose device is of
     * kind CPU ranks lower, see {@link io.github.jconv.BackendSelection#rank}.
     */
    int priority();

    /** Devices found, or why none and how to fix it. Never throws. */
    ProbeResult probe();

    /**
     * Opens a session bound to device {@code deviceIndex} of {@link #probe()}'s list, with the settings of
     * the system properties and environment variables as they are now ({@link EngineOptions#fromSystem()}).
     */
    ConvBackend open(int deviceIndex);

    /**
     * Opens a session with {@code options}: the backend reads its settings (and its typed options, if given)
     * from them and from nothing else. The default, for providers that have no settings, ignores them.
     */
    default ConvBackend open(int deviceIndex, EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        return open(deviceIndex);
    }
}
