package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import picocli.CommandLine.Option;

/**
 * {@code -b/--backend}, the backend a command runs on (demo, erf): a picocli mixin, so the option's name, help line and
 * the way it opens the engine ({@link Backends#open}) are one. {@code overlap}'s {@code --backend} is another option
 * (an optional cross-check, not the backend the command runs on) and keeps its own help line.
 */
final class BackendOption {
    @Option(names = {"-b", "--backend"}, description = "cuda, opencl or cpu (default: the best available)")
    String backend;

    /** The engine on the named backend (no fallback unless the user asked for one), else the usual selection. */
    ConvEngine open() {
        return Backends.open(backend);
    }
}
