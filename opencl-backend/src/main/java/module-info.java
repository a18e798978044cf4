/**
 * The OpenCL backend on JOCL. Users touch {@code OpenClOptions} (typed options, whose GEMM parameters are a
 * {@code tune.GemmParams}), {@code OpenClBackendProvider} and {@code OpenClTuner} (jconv tune); the session, the
 * families and the launch code are package-private. JOCL 2.0.6 has no module descriptor and no
 * Automatic-Module-Name, so on the module path it is the automatic module {@code jocl}, named from its jar file.
 */
module io.github.jconv.opencl {
    requires transitive io.github.jconv;
    requires io.github.jconv.kernels;
    requires jocl;

    exports io.github.jconv.opencl;
    exports io.github.jconv.opencl.tune;

    provides io.github.jconv.spi.ConvBackendProvider with io.github.jconv.opencl.OpenClBackendProvider;
}
