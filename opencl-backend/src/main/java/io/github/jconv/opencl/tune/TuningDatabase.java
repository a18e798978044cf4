package io.github.jconv.opencl.tune;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The tuner's winners for one device and driver, on disk beside the program cache:
 * {@code <dir>/tuning-<sha256(identity) prefix>.properties}, one line {@code gemm.<dtype>.<class>=TSM,...,DB}
 * per tuned class (with its time in {@code ...nanos}), and the full identity (platform, device, vendor,
 * versions, driver) in {@code identity}: a driver update gives a new identity, hence a new, empty
 * database. A file whose identity differs, or a line that does not parse, is ignored (the defaults apply).
 */
public final class TuningDatabase {
    private final Path file;
    private final String identity;
    private final Map<String, GemmParams> winners = new TreeMap<>();
    private final Map<String, Double> nanos = new TreeMap<>();
    private final Map<String, Boolean> flags = new TreeMap<>();

    private TuningDatabase(Path file, String identity) {
        this.file = file;
        this.identity = identity;
    }

    /** The database of device {@code identity} under {@code dir}; empty when none was stored or it cannot be read. */
    public static TuningDatabase load(Path dir, String identity) {
        TuningDatabase db = new TuningDatabase(dir.resolve("tuning-" + hash(identity) + ".properties"), identity);
        if (!Files.isRegularFile(db.file)) return db;
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(db.file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            return db;
        }
        if (!identity.equals(p.getProperty("identity"))) return db;
        for (String k : p.stringPropertyNames()) {
            String v = p.getProperty(k).trim();
            if (k.startsWith("conv.") && (v.equals("true") || v.equals("false"))) db.flags.put(k, Boolean.valueOf(v));
            if (!k.startsWith("gemm.") || k.endsWith(".nanos")) continue;
            try {
                db.winners.put(k, GemmParams.parse(p.getProperty(k), k));
                String t = p.getProperty(k + ".nanos");
                if (t != null) db.nanos.put(k, Double.parseDouble(t));
            } catch (IllegalArgumentException e) {
                // a hand-edited or damaged line: that class falls back to the defaults
            }
        }
        return db;
    }

    private static String key(String dtype, GemmClass c) {
        return "gemm." + dtype.toLowerCase(java.util.Locale.ROOT) + "." + c.key();
    }

    /** The stored winner for {@code dtype} ("fp32", "fp64", "fp16") and class {@code c}, or null. */
    public GemmParams get(String dtype, GemmClass c) {
        return winners.get(key(dtype, c));
    }

    /** Records a winner (saved by {@link #save}). */
    public void put(String dtype, GemmClass c, GemmParams p, double nanosPerRun) {
        winners.put(key(dtype, c), p);
        nanos.put(key(dtype, c), nanosPerRun);
    }

    /** A stored yes/no choice such as {@code conv.fp32.implicit}, or null. */
    public Boolean flag(String key) {
        return flags.get(key);
    }

    /** Records a yes/no choice (keys start with {@code conv.}; saved by {@link #save}). */
    public void putFlag(String key, boolean value) {
        if (!key.startsWith("conv.")) throw new IllegalArgumentException("key = " + key + ": choices are keyed conv.*; e.g. conv.fp32.implicit");
        flags.put(key, value);
    }

    /** Every stored winner, keyed {@code gemm.<dtype>.<class>}. */
    public Map<String, GemmParams> winners() {
        return Map.copyOf(winners);
    }

    public Path file() {
        return file;
    }

    /** Writes the database (to a temporary file, then moved over the old one, so a reader never sees half). */
    public void save() {
        Properties p = new Properties();
        p.setProperty("identity", identity);
        winners.forEach((k, v) -> p.setProperty(k, v.toString()));
        nanos.forEach((k, v) -> p.setProperty(k + ".nanos", Double.toString(v)));
        flags.forEach((k, v) -> p.setProperty(k, v.toString()));
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "tuning", ".tmp");
            try {
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    p.store(w, "jconv OpenCL GEMM tuning (jconv tune); delete to return to the built-in defaults");
                }
                try {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing the tuning database " + file, e);
        }
    }

    static String hash(String identity) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(identity.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
