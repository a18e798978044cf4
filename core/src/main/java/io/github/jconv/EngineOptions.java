package io.github.jconv;

import java.util.Locale;
import java.util.Map;

/**
 * How to choose a backend. {@code backend} null means "the best-ranked available one": cuda &gt;
 * opencl on a GPU &gt; cpu &gt; opencl on CPU devices only (see {@link BackendSelection}); a name no
 * provider has is refused when the engine opens.
 * {@link #fromEnvironment()} reads system property {@code jconv.backend}, else env {@code JCONV_BACKEND};
 * {@code jconv.fallback} / {@code JCONV_FALLBACK} (FAIL, WARN, ALLOW; default WARN);
 * {@code jconv.device} / {@code JCONV_DEVICE} (default 0).
 */
public record EngineOptions(String backend, FallbackPolicy fallback, int device) {
    public EngineOptions {
        if (fallback == null) {
            throw new IllegalArgumentException("fallback = null: choose FAIL, WARN or ALLOW, e.g. FallbackPolicy.WARN");
        }
        if (device < 0) {
            throw new IllegalArgumentException("device = " + device + ": a device index is non-negative; e.g. device = 0");
        }
        if (backend != null) {
            backend = backend.strip().toLowerCase(Locale.ROOT);
            if (backend.isEmpty() || backend.equals("auto")) backend = null;
        }
    }

    public static EngineOptions defaults() {
        return new EngineOptions(null, FallbackPolicy.WARN, 0);
    }

    public static EngineOptions backend(String name, FallbackPolicy policy) {
        return new EngineOptions(name, policy, 0);
    }

    public static EngineOptions fromEnvironment() {
        return from(System.getProperties(), System.getenv());
    }

    /** Property beats environment; both beat the defaults. */
    static EngineOptions from(java.util.Properties props, Map<String, String> env) {
        String backend = first(props.getProperty("jconv.backend"), env.get("JCONV_BACKEND"));
        String policy = first(props.getProperty("jconv.fallback"), env.get("JCONV_FALLBACK"));
        String device = first(props.getProperty("jconv.device"), env.get("JCONV_DEVICE"));
        FallbackPolicy p = FallbackPolicy.WARN;
        if (policy != null) {
            try {
                p = FallbackPolicy.valueOf(policy.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("jconv.fallback = " + policy + ": must be FAIL, WARN or ALLOW; e.g. WARN");
            }
        }
        int d = 0;
        if (device != null) {
            try {
                d = Integer.parseInt(device.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("jconv.device = " + device + ": must be a device index; e.g. 0");
            }
        }
        return new EngineOptions(backend, p, d);
    }

    private static String first(String a, String b) {
        if (a != null && !a.isBlank()) return a;
        if (b != null && !b.isBlank()) return b;
        return null;
    }
}
