package io.github.jconv.opencl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds and loads the OpenCL ICD loader before JOCL does. JOCL's native code reports a missing
 * {@code libOpenCL.so.1} with printf on the process's stdout, where it would corrupt a command's own
 * output (e.g. {@code jconv probe --json}); loading the library here first means JOCL's own lookup
 * finds it already loaded (by its soname), and a missing one becomes an {@link UnsatisfiedLinkError}
 * that names where jconv looked, with nothing printed. Linux only: elsewhere JOCL's lookup is used as is.
 *
 * <p>The search follows the dynamic linker's: {@code -Djconv.opencl.library=/path/libOpenCL.so.1}
 * alone when set; else the directories of {@code LD_LIBRARY_PATH}, the paths listed in
 * {@code /etc/ld.so.cache}, then the usual library directories; the first file that loads wins.
 */
final class OpenClLibrary {
    static final String LIBRARY_PROPERTY = "jconv.opencl.library";
    /** The names JOCL asks the dynamic linker for on Linux, in its order. */
    static final List<String> NAMES = List.of("libOpenCL.so.1", "libOpenCL.so");

    private static String loaded;

    private OpenClLibrary() {
    }

    /** Loads the OpenCL library once per process; throws {@link UnsatisfiedLinkError} naming what was tried. */
    static synchronized void ensureLoaded() {
        if (loaded != null) return;
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux")) {
            loaded = "(JOCL's own lookup on " + os + ")";
            return;
        }
        byte[] cache;
        try {
            cache = Files.readAllBytes(Path.of("/etc/ld.so.cache"));
        } catch (IOException | RuntimeException e) {
            cache = new byte[0];
        }
        List<Path> candidates = candidates(io.github.jconv.EngineOptions.system(LIBRARY_PROPERTY), System.getenv("LD_LIBRARY_PATH"), cache,
                defaultDirs(System.getProperty("os.arch", "")));
        List<String> tried = new ArrayList<>();
        for (Path c : candidates) {
            if (!Files.isRegularFile(c)) continue;
            if (!isElf(c)) {
                // Not even an ELF file (an empty stub, a linker script): the JVM would warn on stderr trying it.
                tried.add(c + " (not an ELF shared library)");
                continue;
            }
            try {
                System.load(c.toAbsolutePath().toString());
                loaded = c.toString();
                return;
            } catch (UnsatisfiedLinkError e) {
                if (String.valueOf(e.getMessage()).contains("already loaded in another classloader")) {
                    loaded = c.toString(); // loaded in this process already: JOCL's lookup finds it
                    return;
                }
                tried.add(c + " (" + e.getMessage() + ")");
            }
        }
        String property = io.github.jconv.EngineOptions.system(LIBRARY_PROPERTY);
        throw new UnsatisfiedLinkError("the OpenCL library " + (property != null && !property.isBlank() ? property
                + " (from -D" + LIBRARY_PROPERTY + ")" : "libOpenCL.so.1 (the ICD loader)") + " was not found or does not load: "
                + (tried.isEmpty() ? "no such file in " + where(property) : "tried " + String.join("; ", tried)));
    }

    private static boolean isElf(Path p) {
        try (java.io.InputStream in = Files.newInputStream(p)) {
            byte[] head = in.readNBytes(64);
            return head.length == 64 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static String where(String property) {
        if (property != null && !property.isBlank()) return property;
        return "LD_LIBRARY_PATH, /etc/ld.so.cache or the usual library directories";
    }

    /** The path that was loaded, or null before {@link #ensureLoaded()} succeeded (tests, reports). */
    static synchronized String loaded() {
        return loaded;
    }

    /**
     * Where to look, in order, without duplicates: only {@code property} when it is set; else each name
     * of {@link #NAMES} in each directory of {@code ldLibraryPath}, then the paths {@code ldSoCache} (the
     * bytes of /etc/ld.so.cache) lists for those names, then each name in each of {@code defaultDirs}.
     */
    static List<Path> candidates(String property, String ldLibraryPath, byte[] ldSoCache, List<String> defaultDirs) {
        if (property != null && !property.isBlank()) return List.of(Path.of(property.trim()));
        Set<Path> out = new LinkedHashSet<>();
        if (ldLibraryPath != null) {
            for (String d : ldLibraryPath.split(":")) {
                if (d.isBlank()) continue;
                for (String n : NAMES) out.add(Path.of(d, n));
            }
        }
        for (String n : NAMES) out.addAll(cachedPaths(ldSoCache, n));
        for (String d : defaultDirs) for (String n : NAMES) out.add(Path.of(d, n));
        return new ArrayList<>(out);
    }

    /**
     * Absolute paths ending in "/{@code name}" in the string table of an ld.so.cache: each is stored
     * NUL-terminated, so every match of "/name\0" is read back to the NUL before it.
     */
    static List<Path> cachedPaths(byte[] cache, String name) {
        List<Path> out = new ArrayList<>();
        byte[] needle = ("/" + name + "\0").getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + needle.length <= cache.length; i++) {
            for (int j = 0; j < needle.length; j++) if (cache[i + j] != needle[j]) continue outer;
            int start = i;
            while (start > 0 && cache[start - 1] != 0) start--;
            if (cache[start] == '/') out.add(Path.of(new String(cache, start, i + needle.length - 1 - start, StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** The usual library directories, the multiarch ones of {@code osArch} first. */
    static List<String> defaultDirs(String osArch) {
        String triple = switch (osArch) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64", "arm64" -> "aarch64-linux-gnu";
            case "ppc64le" -> "powerpc64le-linux-gnu";
            default -> null;
        };
        List<String> out = new ArrayList<>();
        if (triple != null) {
            out.add("/lib/" + triple);
            out.add("/usr/lib/" + triple);
        }
        out.addAll(List.of("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"));
        return out;
    }
}
