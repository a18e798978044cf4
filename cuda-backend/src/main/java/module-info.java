/**
 * The CUDA backend: JCuda's driver API and cuDNN 9 through the bytedeco presets. Users touch {@code CudaOptions},
 * {@code MathMode}, {@code CudaException}/{@code CudaOutOfMemoryException}, {@code NcclAllReduce} and
 * {@code CudaBackendProvider}; the rest of the package is package-private.
 *
 * <p>JCuda 12.6.0 has no module descriptor and no Automatic-Module-Name: on the module path it is the automatic
 * module {@code jcuda}, named from its jar file (automatic modules open every package, which the reflective read
 * of a {@code Pointer}'s address in {@code DeviceAddress} needs). The bytedeco presets ship descriptors
 * ({@code org.bytedeco.javacpp}, {@code org.bytedeco.cuda}); their platform jars are the modules
 * {@code org.bytedeco.cuda.linux.x86_64} etc., which the application adds with the presets.
 */
module io.github.jconv.cuda {
    requires transitive io.github.jconv;
    requires jcuda;
    requires org.bytedeco.javacpp;
    requires org.bytedeco.cuda;

    exports io.github.jconv.cuda;

    provides io.github.jconv.spi.ConvBackendProvider with io.github.jconv.cuda.CudaBackendProvider;
}
