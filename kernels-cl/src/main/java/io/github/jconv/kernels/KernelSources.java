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
 * ({@code io/github/jconv/kernels/<family>.cl}). Parameters that vary by device or problem come in
 * as {@code #define}s through the build options, never as edited copies of a source.
 */
public final class KernelSources {
    /**
     * The families this jar ships: direct convolution (and transposed, its adjoint), im2col/col2im,
     * a tiled GEMM, and deformable convolution.
     */
    public static final List<String> FAMILIES = List.of("conv", "im2col", "gemm", "deformable");

    private static final Pattern KERNEL = Pattern.compile("__kernel\\s+void\\s+(\\w+)\\s*\\(");
    private static final ConcurrentHashMap<String, String> CACHE = new ConcurrentHashMap<>();

    private KernelSources() {
    }

    /** The source text of {@code family} (e.g. "conv"). */
    public static String source(String family) {
        if (family == null || !FAMILIES.contains(family)) {
            throw new IllegalArgumentException("family = " + family + ": not a kernel family of jconv; use one of " + FAMILIES);
        }
        return CACHE.computeIfAbsent(family, KernelSources::read);
    }

    /** The names of the kernels {@code family} defines, in source order. */
    public static List<String> kernelNames(String family) {
        Matcher m = KERNEL.matcher(source(family));
        List<String> names = new java.util.ArrayList<>();
        while (m.find()) names.add(m.group(1));
        return List.copyOf(names);
    }

    private static String read(String family) {
        String path = family + ".cl";
        try (InputStream in = KernelSources.class.getResourceAsStream(path)) {
            if (in == null) {
                // Only a broken jar gets here: FAMILIES lists what the build packs.
                throw new IllegalStateException("kernel source " + path + " is missing from the jconv-kernels-cl jar; rebuild it");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel source " + path, e);
        }
    }
}
