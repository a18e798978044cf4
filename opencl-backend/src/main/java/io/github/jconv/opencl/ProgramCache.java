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
 * device and driver identity and the jconv version; a binary the driver refuses is rebuilt from
 * source and replaced. Not thread-safe: the session calls it under its lock.
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

    ProgramCache(cl_context context, cl_device_id device, String deviceIdentity, Path dir) {
        this.context = context;
        this.device = device;
        this.deviceIdentity = deviceIdentity;
        this.dir = dir;
    }

    /** ${jconv.cache.dir:-~/.cache/jconv}/opencl. */
    static Path defaultDir() {
        String base = System.getProperty(CACHE_DIR_PROPERTY);
        Path root = base != null && !base.isBlank() ? Path.of(base) : Path.of(System.getProperty("user.home"), ".cache", "jconv");
        return root.resolve("opencl");
    }

    /** Programs compiled from source by this cache (a warm disk cache keeps this at 0). */
    int sourceBuilds() {
        return sourceBuilds.get();
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
            for (String part : new String[] {source, options, deviceIdentity, JCONV_VERSION}) {
                md.update(part.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    private cl_program fromSource(String name, String source, String options) {
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

    private cl_program fromDisk(String key, String options) {
        if (dir == null) return null;
        Path f = dir.resolve(key + ".bin");
        byte[] bin;
        try {
            if (!Files.isRegularFile(f)) return null;
            bin = Files.readAllBytes(f);
        } catch (IOException e) {
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
            // A stale or foreign binary: rebuild from source, which overwrites it.
            LOG.log(System.Logger.Level.DEBUG, "jconv opencl: cached binary " + f + " refused (" + e.getMessage() + "); rebuilding");
            if (p != null) clReleaseProgram(p);
            return null;
        }
    }

    private void toDisk(String key, cl_program p) {
        if (dir == null) return;
        try {
            long[] size = new long[1];
            clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, Sizeof.size_t, Pointer.to(size), null);
            if (size[0] <= 0 || size[0] > Integer.MAX_VALUE) return;
            byte[] bin = new byte[(int) size[0]];
            clGetProgramInfo(p, CL_PROGRAM_BINARIES, Sizeof.POINTER, Pointer.to(Pointer.to(bin)), null);
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, key, ".tmp");
            Files.write(tmp, bin);
            try {
                Files.move(tmp, dir.resolve(key + ".bin"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir.resolve(key + ".bin"), StandardCopyOption.REPLACE_EXISTING);
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
