package io.github.jconv.spi;

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

    /** Opens a session bound to device {@code deviceIndex} of {@link #probe()}'s list. */
    ConvBackend open(int deviceIndex);
}
