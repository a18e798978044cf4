package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;

/** Opens the engine a command runs on: the named backend, or the usual selection when none is named. */
public final class Backends {
    private Backends() {
    }

    /** {@code name} null or "auto": jconv.backend / JCONV_BACKEND, else the best available by priority. */
    static ConvEngine open(String name) {
        return ConvEngine.open(options(name));
    }

    /**
     * The options for {@code --backend name}. A backend asked for by name on the command line does not
     * fall back (running elsewhere would answer another question) unless the user says so with
     * jconv.fallback (-Djconv.fallback=WARN anywhere on the line, or JCONV_JAVA_OPTS) or JCONV_FALLBACK.
     * The device index (jconv.device / JCONV_DEVICE) applies either way.
     */
    public static EngineOptions options(String name) {
        EngineOptions env = EngineOptions.fromEnvironment();
        if (name == null || name.isBlank() || name.strip().equalsIgnoreCase("auto")) return env;
        boolean policyGiven = env.get("jconv.fallback") != null; // the property, else JCONV_FALLBACK
        return env.toBuilder().backend(name).fallback(policyGiven ? env.fallback() : FallbackPolicy.FAIL).build();
    }
}
