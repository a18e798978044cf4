/**
 * The pure Java backend. Users touch {@code CpuOptions} (typed options for {@code EngineOptions}),
 * {@code CpuBackendProvider} (to open a session directly) and {@code FmaPeak}; everything else in the package is
 * package-private. The Vector API kernels load only when the JVM was started with
 * {@code --add-modules jdk.incubator.vector} ({@code VectorSupport} looks for the module in the boot layer), hence
 * {@code requires static}: the module is not needed to run, and when it is present this module reads it.
 */
module io.github.jconv.cpu {
    requires transitive io.github.jconv;
    requires static jdk.incubator.vector;
    requires java.management; // the FMA peak measures thread CPU time

    exports io.github.jconv.cpu;

    provides io.github.jconv.spi.ConvBackendProvider with io.github.jconv.cpu.CpuBackendProvider;
}
