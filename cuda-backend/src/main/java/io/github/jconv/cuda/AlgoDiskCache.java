package io.github.jconv.cuda;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Benchmark-mode algorithm choices kept on disk between sessions, like PyTorch's benchmark cache
 * but persistent: one small text file per (device model and compute capability, driver version,
 * cuDNN version) under {@code ${jconv.cache.dir:-~/.cache/jconv}/cuda/}. A file for another device,
 * driver or cuDNN is never read: its name differs, and its header line is checked as well.
 * <p>
 * Format (version 1): a header line {@code jconv-algo-cache 1 <identity>}, then one line per key:
 * {@code <key> TAB <choices> TAB <crc32 of the two, hex>}, where choices are {@code op:algo:workspace:math}
 * joined by {@code ;}, best first. A line that does not parse, whose checksum does not match, or whose
 * choices are impossible for its key (another op, an unknown algorithm, a workspace over the key's limit)
 * is ignored. Writes merge the file's valid lines with the new entry, write a temporary file in the same
 * folder and move it over the old one atomically, under a lock file, so concurrent writers (threads or
 * processes) never leave a torn file; at worst one writer's new entry is lost and measured again.
 * <p>
 * The graph API ({@link CudnnGraph}) stores its chosen engine configurations in the same file, under keys of their own
 * ({@link GraphConv#cacheKey}, ending in {@code |api=graph|align=...|beta=...}), through {@link #getText}/{@link #putText}.
 * <p>
 * The cache is an optimisation: every I/O failure is swallowed and the caller measures as if nothing were
 * cached. Only {@link CudaOptions.AlgoMode#BENCHMARK} choices are stored (heuristics are cheap to ask).
 */
final class AlgoDiskCache {
    static final int FORMAT = 1;
    private static final String MAGIC = "jconv-algo-cache";

    private final Path file;
    private final String identity;

    /** {@code identity} names device, driver and cuDNN, e.g. "NVIDIA H200 sm90 driver13000 cudnn91400". */
    AlgoDiskCache(Path dir, String identity) {
        if (identity == null || identity.isBlank() || identity.indexOf('\n') >= 0 || identity.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("identity = " + identity + ": must be one non-blank line; e.g. \"NVIDIA H200 sm90 driver13000 cudnn91400\"");
        }
        this.identity = identity.strip();
        this.file = dir.resolve("algos-" + fileName(this.identity) + ".txt");
    }

    /** The cache of {@code device} under the directory {@code options} name (the JVM's user.home its default base). */
    static AlgoDiskCache forDevice(io.github.jconv.EngineOptions options, CudaDriver.Device device) {
        return new AlgoDiskCache(directory(withUserHome(options.properties()), options.environment()),
                identity(device.name(), device.ccMajor(), device.ccMinor(), CudaDriver.status().driverVersion(), Cudnn.status().version()));
    }

    /** {@code props} plus the JVM's user.home, the cache directory's default base. */
    private static java.util.Properties withUserHome(java.util.Properties props) {
        String home = System.getProperty("user.home");
        if (home != null) props.setProperty("user.home", home);
        return props;
    }

    static String identity(String deviceName, int ccMajor, int ccMinor, int driverVersion, long cudnnVersion) {
        return deviceName.strip() + " sm" + ccMajor + ccMinor + " driver" + driverVersion + " cudnn" + cudnnVersion;
    }

    /** {@code jconv.cache.dir} (or JCONV_CACHE_DIR), else {@code ~/.cache/jconv}, then {@code cuda}. */
    static Path directory(java.util.Properties props, Map<String, String> env) {
        String d = props.getProperty("jconv.cache.dir");
        if (d == null || d.isBlank()) d = env.get("JCONV_CACHE_DIR");
        Path base = d == null || d.isBlank() ? Path.of(props.getProperty("user.home", "."), ".cache", "jconv") : Path.of(d.strip());
        return base.resolve("cuda");
    }

    Path file() {
        return file;
    }

    /** File-name-safe form of the identity: letters, digits, '.', '-' kept, the rest '_'. */
    static String fileName(String identity) {
        StringBuilder b = new StringBuilder();
        for (char c : identity.toCharArray()) {
            b.append(c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '-') ? c : '_');
        }
        CRC32 crc = new CRC32(); // two identities that sanitize alike still get two files
        crc.update(identity.getBytes(StandardCharsets.UTF_8));
        return b + "-" + Long.toHexString(crc.getValue());
    }

    /** The text a key is stored under: the problem and everything the ranking depended on. */
    static String keyText(AlgoSelection.Key k) {
        return k.problem() + "|" + k.pass() + "|" + k.dtype() + "|" + k.math() + "|det=" + k.deterministic() + "|ws=" + k.workspaceLimit();
    }

    /** The stored order for {@code k}, or null when none (or only damaged ones) is stored. */
    List<AlgoSelection.Choice> get(AlgoSelection.Key k) {
        if (k.mode() != CudaOptions.AlgoMode.BENCHMARK || !storable(k)) return null;
        String v = read().entries.get(keyText(k));
        return v == null ? null : decode(v, k);
    }

    /** Stores {@code choices} for {@code k}; false when nothing was written (not benchmark mode, I/O failure). */
    boolean put(AlgoSelection.Key k, List<AlgoSelection.Choice> choices) {
        if (k.mode() != CudaOptions.AlgoMode.BENCHMARK || !storable(k) || choices.isEmpty()) return false;
        return write(keyText(k), encode(choices));
    }

    /**
     * The value stored under a key text of another form (the graph API's engine choices, {@link GraphConv#cacheKey}),
     * or null; the caller parses and checks it.
     */
    String getText(String key) {
        if (!storable(key)) return null;
        return read().entries.get(key);
    }

    /** Stores {@code value} under {@code key} (one line each, no tab); false when nothing was written. */
    boolean putText(String key, String value) {
        if (!storable(key) || value == null || value.isEmpty() || !storable(value)) return false;
        return write(key, value);
    }

    private boolean write(String key, String value) {
        synchronized (AlgoDiskCache.class) { // FileLock is per JVM: threads of one process serialize here
            try {
                Files.createDirectories(file.getParent());
                Path lock = file.resolveSibling(file.getFileName() + ".lock");
                try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = ch.lock()) {
                    Map<String, String> entries = new LinkedHashMap<>(read().entries);
                    entries.put(key, value);
                    StringBuilder b = new StringBuilder(MAGIC + " " + FORMAT + " " + identity + "\n");
                    for (Map.Entry<String, String> e : entries.entrySet()) b.append(line(e.getKey(), e.getValue())).append('\n');
                    Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
                    try {
                        Files.writeString(tmp, b, StandardCharsets.UTF_8);
                        try {
                            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                        } catch (AtomicMoveNotSupportedException e) {
                            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                        }
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                }
                return true;
            } catch (IOException | RuntimeException e) {
                return false; // a cache that cannot be written is a cache miss next time, never a failed convolution
            }
        }
    }

    private static boolean storable(AlgoSelection.Key k) {
        return storable(keyText(k));
    }

    private static boolean storable(String t) {
        return t != null && t.indexOf('\t') < 0 && t.indexOf('\n') < 0 && t.indexOf('\r') < 0;
    }

    private record Contents(Map<String, String> entries) {
    }

    /** The file's valid entries; empty when the file is missing, unreadable, of another format or identity. */
    private Contents read() {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> lines;
        try {
            if (!Files.isRegularFile(file)) return new Contents(out);
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) { // MalformedInputException included
            return new Contents(out);
        }
        if (lines.isEmpty() || !lines.get(0).equals(MAGIC + " " + FORMAT + " " + identity)) return new Contents(out);
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t", -1);
            if (f.length != 3 || !f[2].equals(crc(f[0], f[1]))) continue;
            out.put(f[0], f[1]);
        }
        return new Contents(out);
    }

    static String line(String key, String value) {
        return key + "\t" + value + "\t" + crc(key, value);
    }

    private static String crc(String key, String value) {
        CRC32 c = new CRC32();
        c.update((key + "\t" + value).getBytes(StandardCharsets.UTF_8));
        return String.format(Locale.ROOT, "%08x", c.getValue());
    }

    static String encode(List<AlgoSelection.Choice> choices) {
        StringBuilder b = new StringBuilder();
        for (AlgoSelection.Choice c : choices) {
            if (b.length() > 0) b.append(';');
            b.append(c.op().name()).append(':').append(c.algo()).append(':').append(c.workspace()).append(':').append(c.mathType());
        }
        return b.toString();
    }

    /** The choices of a stored value, or null when any is impossible for {@code k} (then the entry is not trusted). */
    static List<AlgoSelection.Choice> decode(String value, AlgoSelection.Key k) {
        CudnnPlan.Op expected = switch (k.pass()) {
            case FORWARD -> CudnnPlan.Op.FORWARD;
            case BACKWARD_DATA -> CudnnPlan.Op.BACKWARD_DATA;
            case BACKWARD_WEIGHT -> CudnnPlan.Op.BACKWARD_FILTER;
            default -> null;
        };
        if (value.isEmpty()) return null;
        List<AlgoSelection.Choice> out = new ArrayList<>();
        try {
            for (String part : value.split(";", -1)) {
                String[] f = part.split(":", -1);
                if (f.length != 4) return null;
                CudnnPlan.Op op = CudnnPlan.Op.valueOf(f[0]);
                int algo = Integer.parseInt(f[1]);
                long ws = Long.parseLong(f[2]);
                int math = Integer.parseInt(f[3]);
                if (op != expected || algo < 0 || algo >= AlgoSelection.algoCount(op) || ws < 0 || ws > k.workspaceLimit()
                        || math < 0 || math > CudnnTypes.FMA_MATH) {
                    return null;
                }
                AlgoSelection.Choice c = new AlgoSelection.Choice(op, algo, ws, math);
                if (out.contains(c)) return null;
                out.add(c);
            }
        } catch (IllegalArgumentException e) { // NumberFormatException, unknown op name
            return null;
        }
        return List.copyOf(out);
    }
}
