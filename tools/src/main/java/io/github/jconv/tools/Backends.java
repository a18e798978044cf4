package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;

/** Opens the engine a command runs on: the named backend, or the usual selection when none is named. */
final class Backends {
    private Backends() {
    }

    /** {@code name} null or "auto": jconv.backend / JCONV_BACKEND, else the best available by priority. */
    static ConvEngine open(String name) {
        if (name == null || name.isBlank() || name.strip().equalsIgnoreCase("auto")) return ConvEngine.open();
        // asked by name on the command line: running elsewhere would answer another question
        return ConvEngine.open(EngineOptions.backend(name, FallbackPolicy.FAIL));
    }
}
