package io.github.jconv.opencl;

import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import static org.jocl.CL.*;

/**
 * Built programs of one context: in memory for the session's life, and on disk as device binaries
 * so that a second process builds nothing. The disk key hashes the source, the build options, the
 * device and driver identity and the jconv version. Each entry carries its key and a checksum
 * ({@link #encode}); a truncated, foreign or corrupt entry, or a binary the driver refuses, is
 * deleted and rebuilt from source. The first build from source of a session logs one INFO line
 * naming the cache directory (it can take seconds). Not thread-safe: the session calls it under its lock.
 */
final class ProgramCache implements AutoCloseable {
    static final String CACHE_DIR_PROPERTY = "jconv.cache.dir";
    static final String JCONV_VERSION = readVersion();

    private static final System.Logger LOG = System.getLogger("io.github.jconv.opencl");

    private final cl_context context;
    private final cl_device_id device;
    private final String deviceIdentity;
    private final Path dir;
    private final Map<String, cl_program> memory = new HashMap<>();
    private final AtomicInteger sourceBuilds = new AtomicInteger();
    private final AtomicInteger binaryLoads = new AtomicInteger();
    /** Whether this cache has said that it compiles (once per session, before the first build from source). */
    private boolean announced;

    ProgramCache(cl_context context, cl_device_id device, String deviceIdentity, Path dir) {
        this.context = context;
        this.device = device;
        this.deviceIdentity = deviceIdentity;
        this.dir = dir;
    }

    /** ${jconv.cache.dir:-~/.cache/jconv}/opencl, as the system says now. */
    static Path defaultDir() {
        return cacheDir(io.github.jconv.EngineOptions.fromSystem());
    }

    /** ${jconv.cache.dir:-~/.cache/jconv}/opencl, the option taken from {@code options}. */
    static Path cacheDir(io.github.jconv.EngineOptions options) {
        String base = options.get(CACHE_DIR_PROPERTY);
        Path root = base != null && !base.isBlank() ? Path.of(base) : Path.of(System.getProperty("user.home"), ".cache", "jconv");
        return root.resolve("opencl");
    }

    /** The device name out of the identity (platform|version|device|...), for messages. */
    private String displayName() {
        String[] parts = deviceIdentity.split("\\|");
        return parts.length > 2 ? parts[2] + " (" + parts[0] + ")" : deviceIdentity;
    }

    /** Programs compiled from source by this cache (a warm disk cache keeps this at 0). */
    int sourceBuilds() {
        return sourceBuilds.get();
    }

    /** Programs held in memory now, one per distinct (source, options) key. */
    int size() {
        return memory.size();
    }

    /** Programs loaded from a disk binary. */
    int binaryLoads() {
        return binaryLoads.get();
    }

    /** The built program of {@code source} with {@code options}; {@code name} labels errors. */
    cl_program get(String name, String source, String options) {
        String key = key(source, options);
        cl_program p = memory.get(key);
        if (p != null) return p;
        p = fromDisk(key, options);
        if (p == null) {
            p = fromSource(name, source, options);
            toDisk(key, p);
        }
        memory.put(key, p);
        return p;
    }

    String key(String source, String options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            // ENTRY_FORMAT too: entries of another layout get other names, so old and new jconv share a directory safely.
            for (String part : new String[] {source, options, deviceIdentity, JCONV_VERSION, ENTRY_FORMAT}) {
                md.update(part.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    private cl_program fromSource(String name, String source, String options) {
        if (!announced) {
            announced = true;
            LOG.log(System.Logger.Level.INFO, "jconv opencl: compiling OpenCL kernels for " + displayName()
                    + " (the first use on this device and driver can take about 10 s); "
                    + (dir == null ? "no disk cache is set, so every session compiles them again"
                    : "the binaries are kept in " + dir + " (-D" + CACHE_DIR_PROPERTY + " moves it) and later runs load them"));
        }
        cl_program p = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            clBuildProgram(p, 1, new cl_device_id[] {device}, options, null, null);
        } catch (CLException e) {
            String log = buildLog(p);
            clReleaseProgram(p);
            throw new IllegalStateException("OpenCL build of " + name + " failed (" + e.getMessage() + ") with options '"
                    + options + "' on " + deviceIdentity + "; compiler log:\n" + log, e);
        }
        sourceBuilds.incrementAndGet();
        return p;
    }

    /**
     * The built program of {@code name} again from source, replacing the memory and disk entries: the
     * session calls it when a program loaded from disk lacks a kernel it should have (a binary of
     * another program that passed every check). The old program is released.
     */
    cl_program rebuild(String name, String source, String options) {
        String key = key(source, options);
        cl_program old = memory.remove(key);
        if (old != null) clReleaseProgram(old);
        discard(entry(key), "it lacks a kernel of " + name);
        cl_program p = fromSource(name, source, options);
        toDisk(key, p);
        memory.put(key, p);
        return p;
    }

    private Path entry(String key) {
        return dir == null ? null : dir.resolve(key + ".bin");
    }

    /**
     * A disk entry: MAGIC, the 64-character key, the payload length (8 bytes, big-endian), the payload's
     * SHA-256 (32 bytes), then the payload (the device binary). An entry is used only if all of these
     * agree; a truncated, foreign or corrupt file is deleted and rebuilt, never handed to the driver.
     */
    static final String ENTRY_FORMAT = "jconv-cl-binary/1";
    static final byte[] MAGIC = (ENTRY_FORMAT + "\n").getBytes(StandardCharsets.US_ASCII);
    private static final int KEY_CHARS = 64;
    private static final int HEADER = MAGIC.length + KEY_CHARS + 8 + 32;

    static byte[] encode(String key, byte[] binary) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(HEADER + binary.length);
        b.put(MAGIC).put(key.getBytes(StandardCharsets.US_ASCII)).putLong(binary.length).put(sha256(binary)).put(binary);
        return b.array();
    }

    /** The payload of {@code entry} if it is a complete entry of {@code key}, else null with {@code why[0]} set. */
    static byte[] decode(String key, byte[] entry, String[] why) {
        if (entry.length < HEADER) {
            why[0] = "it is " + entry.length + " bytes, shorter than the " + HEADER + "-byte header";
            return null;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(entry);
        byte[] magic = new byte[MAGIC.length];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            why[0] = "it does not start with the jconv entry header";
            return null;
        }
        byte[] k = new byte[KEY_CHARS];
        b.get(k);
        if (!new String(k, StandardCharsets.US_ASCII).equals(key)) {
            why[0] = "it holds the entry of another program (key " + new String(k, StandardCharsets.US_ASCII) + ")";
            return null;
        }
        long length = b.getLong();
        byte[] sum = new byte[32];
        b.get(sum);
        if (length <= 0 || length != b.remaining()) {
            why[0] = "its payload is " + b.remaining() + " bytes, the header says " + length;
            return null;
        }
        byte[] payload = new byte[b.remaining()];
        b.get(payload);
        if (!MessageDigest.isEqual(sum, sha256(payload))) {
            why[0] = "its checksum does not match its payload";
            return null;
        }
        return payload;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    private void discard(Path f, String why) {
        if (f == null) return;
        try {
            if (Files.deleteIfExists(f)) {
                LOG.log(System.Logger.Level.INFO, "jconv opencl: discarded the cached program " + f + " (" + why + "); rebuilding it");
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "jconv opencl: could not delete the cached program " + f + ": " + e);
        }
    }

    private cl_program fromDisk(String key, String options) {
        Path f = entry(key);
        if (f == null) return null;
        byte[] entry;
        try {
            if (!Files.isRegularFile(f)) return null;
            entry = Files.readAllBytes(f);
        } catch (IOException e) {
            return null;
        }
        String[] why = new String[1];
        byte[] bin = decode(key, entry, why);
        if (bin == null) {
            discard(f, why[0]);
            return null;
        }
        cl_program p = null;
        try {
            int[] status = new int[1];
            p = clCreateProgramWithBinary(context, 1, new cl_device_id[] {device}, new long[] {bin.length},
                    new byte[][] {bin}, status, null);
            clBuildProgram(p, 1, new cl_device_id[] {device}, options, null, null);
            binaryLoads.incrementAndGet();
            return p;
        } catch (CLException e) {
            // A binary this driver refuses (e.g. one stored by another build of it): rebuild from source, which overwrites it.
            if (p != null) clReleaseProgram(p);
            discard(f, "the driver refused it: " + e.getMessage());
            return null;
        }
    }

    private void toDisk(String key, cl_program p) {
        if (dir == null) return;
        try {
            long[] size = new long[1];
            clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, Sizeof.size_t, Pointer.to(size), null);
            if (size[0] <= 0 || size[0] > Integer.MAX_VALUE - HEADER) return;
            byte[] bin = new byte[(int) size[0]];
            clGetProgramInfo(p, CL_PROGRAM_BINARIES, Sizeof.POINTER, Pointer.to(Pointer.to(bin)), null);
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, key, ".tmp");
            try {
                Files.write(tmp, encode(key, bin));
                try {
                    Files.move(tmp, dir.resolve(key + ".bin"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, dir.resolve(key + ".bin"), StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | CLException e) {
            // The disk cache only saves time; a read-only home still works, it just builds again.
            LOG.log(System.Logger.Level.DEBUG, "jconv opencl: could not store a program binary in " + dir + ": " + e);
        }
    }

    private String buildLog(cl_program p) {
        try {
            long[] size = new long[1];
            clGetProgramBuildInfo(p, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] b = new byte[(int) size[0]];
            clGetProgramBuildInfo(p, device, CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
            return ClDevices.cString(b);
        } catch (CLException e) {
            return "(no build log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        for (cl_program p : memory.values()) clReleaseProgram(p);
        memory.clear();
    }

    private static String readVersion() {
        try (InputStream in = ProgramCache.class.getResourceAsStream("jconv-opencl.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
