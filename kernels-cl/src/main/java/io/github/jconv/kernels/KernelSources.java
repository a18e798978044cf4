package io.github.jconv.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenCL C sources of jconv, one file per operation family, read from this jar's resources
 * ({@code io/github/jconv/kernels/<family>.cl}), and the prelude they share ({@code common.cl}: the real,
 * accumulation, index and storage types, LOAD/STORE, the fp64 pragma and the helpers more than one family
 * uses). A program of a family is built from {@link #source}: the prelude followed by the family's file, so
 * every family sees one definition of each. Parameters that vary by device or problem come in as
 * {@code #define}s through the build options, never as edited copies of a source. The CUDA build compiles
 * the same text behind {@link #cudaShim()}.
 */
public final class KernelSources {
    /**
     * The families this jar ships: direct convolution (and transposed, its adjoint), im2col/col2im,
     * a tiled GEMM, and deformable convolution.
     */
    public static final List<String> FAMILIES = List.of("conv", "im2col", "gemm", "deformable");
    /** The resource name of the prelude every family is built after. */
    public static final String PRELUDE = "common.cl";
    /** The resource name of the header that maps the OpenCL C subset of these sources onto CUDA. */
    public static final String CUDA_SHIM = "opencl_to_cuda.h";

    private static final Pattern KERNEL = Pattern.compile("__kernel\\s+void\\s+(\\w+)\\s*\\(");
    private static final ConcurrentHashMap<String, String> CACHE = new ConcurrentHashMap<>();

    private KernelSources() {
    }

    /**
     * The source text a program of {@code family} (e.g. "conv") is built from: {@link #prelude()}, then
     * {@link #file(String) the family's own file}.
     */
    public static String source(String family) {
        String own = file(family);
        String prelude = prelude();
        // read both first: a computeIfAbsent must not touch the map it computes in
        return CACHE.computeIfAbsent("program:" + family, k -> prelude.endsWith("\n") ? prelude + own : prelude + "\n" + own);
    }

    /** The text of {@code family}'s own file (its kernels and what only it uses), without the prelude. */
    public static String file(String family) {
        if (family == null || !FAMILIES.contains(family)) {
            throw new IllegalArgumentException("family = " + family + ": not a kernel family of jconv; use one of " + FAMILIES);
        }
        return CACHE.computeIfAbsent(family + ".cl", KernelSources::read);
    }

    /** The prelude, {@code common.cl}: what every family shares; it declares no kernel. */
    public static String prelude() {
        return CACHE.computeIfAbsent(PRELUDE, KernelSources::read);
    }

    /**
     * The CUDA shim, {@code opencl_to_cuda.h}: included before the prelude and a family's file, it lets nvcc
     * compile them (cuda-backend's build-ptx.sh does so for deformable.cl).
     */
    public static String cudaShim() {
        return CACHE.computeIfAbsent(CUDA_SHIM, KernelSources::read);
    }

    /** The names of the kernels {@code family} defines, in source order. */
    public static List<String> kernelNames(String family) {
        Matcher m = KERNEL.matcher(file(family));
        List<String> names = new java.util.ArrayList<>();
        while (m.find()) names.add(m.group(1));
        return List.copyOf(names);
    }

    private static String read(String path) {
        try (InputStream in = KernelSources.class.getResourceAsStream(path)) {
            if (in == null) {
                // Only a broken jar gets here: FAMILIES, PRELUDE and CUDA_SHIM name what the build packs.
                throw new IllegalStateException("kernel source " + path + " is missing from the jconv-kernels-cl jar; rebuild it");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel source " + path, e);
        }
    }
}
