/**
 * jconv core: the public API (specs, engine, buffers, layers, analysis) and the SPI that backends implement.
 *
 * <p>The module is named after its root package, {@code io.github.jconv}, as each jconv module is named after the
 * package it is rooted at (io.github.jconv.cpu, .opencl, .cuda, ...), so a name never needs to change while the
 * packages stay. Every package here is meant to be used from outside: {@code io.github.jconv},
 * {@code io.github.jconv.layer} and {@code io.github.jconv.analysis} by applications, {@code io.github.jconv.spi}
 * and {@code io.github.jconv.plan} by backend authors. Backends are found with {@link java.util.ServiceLoader}
 * ({@code ConvEngine.providers()}): on the module path through their {@code provides} clause, on the class path
 * through {@code META-INF/services}.
 */
module io.github.jconv {
    exports io.github.jconv;
    exports io.github.jconv.layer;
    exports io.github.jconv.analysis;
    exports io.github.jconv.spi;
    exports io.github.jconv.plan;

    uses io.github.jconv.spi.ConvBackendProvider;
}
