/**
 * The OpenCL C sources of jconv's kernels and {@code KernelSources}, which reads them from this module (the .cl files
 * stay encapsulated; nothing outside reads them as resources). Only the OpenCL backend compiles them, so the package
 * is exported to it alone.
 */
@SuppressWarnings("module") // the OpenCL backend is built after this module, so it is not found when this one compiles
module io.github.jconv.kernels {
    exports io.github.jconv.kernels to io.github.jconv.opencl;
}
