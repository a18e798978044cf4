package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static io.github.jconv.opencl.OpenClTestSupport.*;
import static org.jocl.CL.clCreateContext;
import static org.jocl.CL.clReleaseContext;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ProgramCacheTest {
    @TempDir
    Path dir;
    private String saved;

    @BeforeEach
    void pointTheCacheAtATemporaryDirectory() {
        saved = System.getProperty(ProgramCache.CACHE_DIR_PROPERTY);
        System.setProperty(ProgramCache.CACHE_DIR_PROPERTY, dir.toString());
    }

    @AfterEach
    void restore() {
        if (saved == null) System.clearProperty(ProgramCache.CACHE_DIR_PROPERTY);
        else System.setProperty(ProgramCache.CACHE_DIR_PROPERTY, saved);
    }

    @Test
    void aSecondSessionLoadsDeviceBinariesFromDiskAndBuildsNothing() throws IOException {
        ConvSpec s = ConvSpec.convolution().batch(1).channels(3, 2).input(6, 6).kernel(3).build();
        double[] first;
        try (OpenClSession a = (OpenClSession) openOrSkip()) {
            first = forward(a, s);
            assertEquals(1, a.programCache().sourceBuilds());
            assertEquals(0, a.programCache().binaryLoads());
            forward(a, s);
            assertEquals(1, a.programCache().sourceBuilds(), "the in-memory cache serves the second call");
        }
        try (Stream<Path> files = Files.list(dir.resolve("opencl"))) {
            assertEquals(1, files.filter(f -> f.toString().endsWith(".bin")).count());
        }
        try (OpenClSession b = (OpenClSession) openOrSkip()) {
            double[] second = forward(b, s);
            assertEquals(0, b.programCache().sourceBuilds());
            assertEquals(1, b.programCache().binaryLoads());
            assertArrayEquals(first, second);
        }
    }

    @Test
    void aSecondProcessBuildsNothing() throws Exception {
        assumeTrue(new OpenClBackendProvider().probe().available(), "no OpenCL device");
        assertEquals("1 0", childRun(), "the first process compiles the program from source");
        assertEquals("0 1", childRun(), "the second process loads the device binary the first one stored");
    }

    private String childRun() throws Exception {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(javaBin.toString(), "-cp", System.getProperty("java.class.path"),
                "-D" + ProgramCache.CACHE_DIR_PROPERTY + "=" + dir, CacheProbeMain.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), "child JVM exit status; stdout: " + out);
        String[] lines = out.split("\\R");
        return lines[lines.length - 1];
    }

    @Test
    void aCorruptBinaryIsRebuiltFromSourceAndReplaced() throws IOException {
        ConvSpec s = ConvSpec.convolution().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
        double[] first;
        try (OpenClSession a = (OpenClSession) openOrSkip()) {
            first = forward(a, s);
        }
        Path bin;
        try (Stream<Path> files = Files.list(dir.resolve("opencl"))) {
            bin = files.filter(f -> f.toString().endsWith(".bin")).findFirst().orElseThrow();
        }
        Files.write(bin, new byte[] {1, 2, 3, 4});
        try (OpenClSession b = (OpenClSession) openOrSkip()) {
            assertArrayEquals(first, forward(b, s));
            assertEquals(1, b.programCache().sourceBuilds());
        }
        assertTrue(Files.size(bin) > 4, "the rebuilt binary replaced the corrupt one");
    }

    /** The .bin entries of the cache directory. */
    private List<Path> entries() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("opencl"))) {
            return files.filter(f -> f.toString().endsWith(".bin")).sorted().toList();
        }
    }

    @Test
    void aTruncatedEntryIsDiscardedAndRebuiltNeverHandedToTheDriver() throws Exception {
        assumeTrue(new OpenClBackendProvider().probe().available(), "no OpenCL device");
        assertEquals("1 0", childRun());
        Path bin = entries().get(0);
        byte[] whole = Files.readAllBytes(bin);
        // Half an entry, as a process killed while writing leaves it: old jconv crashed the JVM on it (pocl_binary.c:459).
        Files.write(bin, java.util.Arrays.copyOf(whole, whole.length / 2));
        assertEquals("1 0", childRun(), "the truncated entry is rebuilt from source (a child JVM: a crash fails only it)");
        assertEquals(whole.length, Files.size(bin), "and replaced by a complete one");
        assertEquals("0 1", childRun(), "which the next process loads");
    }

    @Test
    void anEntryOfAnotherProgramUnderThisNameIsDiscardedAndRebuilt() throws IOException {
        ConvSpec conv = ConvSpec.convolution().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
        ConvSpec deform = ConvSpec.deformable().batch(1).channels(2, 2).input(5, 5).kernel(3).padding(1).build();
        double[] first;
        Path convEntry;
        try (OpenClSession a = (OpenClSession) openOrSkip()) {
            first = forward(a, conv);
            convEntry = entries().get(0);
            deformForward(a, deform);
        }
        Path deformEntry = entries().stream().filter(f -> !f.equals(convEntry)).findFirst().orElseThrow();
        // A valid binary of deformable.cl under conv.cl's name: before, CL_INVALID_KERNEL_NAME on every call, forever.
        Files.copy(deformEntry, convEntry, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (OpenClSession b = (OpenClSession) openOrSkip()) {
            assertArrayEquals(first, forward(b, conv));
            assertEquals(1, b.programCache().sourceBuilds(), "conv.cl was built again");
        }
        try (OpenClSession c = (OpenClSession) openOrSkip()) {
            assertArrayEquals(first, forward(c, conv));
            assertEquals(0, c.programCache().sourceBuilds(), "and the rebuilt entry serves the next session");
        }
    }

    @Test
    void aBinaryOfAnotherProgramCarryingThisKeyIsRebuiltWhenAKernelIsMissing() throws IOException {
        ConvSpec conv = ConvSpec.convolution().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
        ConvSpec deform = ConvSpec.deformable().batch(1).channels(2, 2).input(5, 5).kernel(3).padding(1).build();
        double[] first;
        Path convEntry;
        try (OpenClSession a = (OpenClSession) openOrSkip()) {
            first = forward(a, conv);
            convEntry = entries().get(0);
            deformForward(a, deform);
        }
        Path deformEntry = entries().stream().filter(f -> !f.equals(convEntry)).findFirst().orElseThrow();
        String convKey = convEntry.getFileName().toString().replace(".bin", "");
        String deformKey = deformEntry.getFileName().toString().replace(".bin", "");
        String[] why = new String[1];
        byte[] deformBinary = ProgramCache.decode(deformKey, Files.readAllBytes(deformEntry), why);
        assertNotNull(deformBinary, why[0]);
        // Passes every check of the entry (key, length, checksum), yet is the wrong program: its kernels are missing.
        Files.write(convEntry, ProgramCache.encode(convKey, deformBinary));
        try (OpenClSession b = (OpenClSession) openOrSkip()) {
            assertArrayEquals(first, forward(b, conv));
            assertEquals(1, b.programCache().sourceBuilds(), "rebuilt from source after the kernel was not found");
        }
    }

    @Test
    void decodeRefusesEveryDamagedEntryAndSaysWhy() {
        String key = "a".repeat(64);
        byte[] payload = {10, 20, 30, 40, 50};
        byte[] good = ProgramCache.encode(key, payload);
        String[] why = new String[1];
        assertArrayEquals(payload, ProgramCache.decode(key, good, why));
        assertNull(ProgramCache.decode(key, java.util.Arrays.copyOf(good, good.length - 1), why));
        assertTrue(why[0].contains("payload"), why[0]);
        assertNull(ProgramCache.decode(key, java.util.Arrays.copyOf(good, 10), why));
        assertTrue(why[0].contains("shorter"), why[0]);
        assertNull(ProgramCache.decode("b".repeat(64), good, why));
        assertTrue(why[0].contains("another program"), why[0]);
        byte[] flipped = good.clone();
        flipped[flipped.length - 1] ^= 1;
        assertNull(ProgramCache.decode(key, flipped, why));
        assertTrue(why[0].contains("checksum"), why[0]);
        byte[] raw = new byte[200]; // a bare driver binary, as jconv stored them before
        assertNull(ProgramCache.decode(key, raw, why));
        assertTrue(why[0].contains("header"), why[0]);
    }

    @Test
    void theFirstCompileSaysSoOnceAndNamesTheCacheDirectory() {
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger("io.github.jconv.opencl");
        List<String> messages = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getMessage() != null && r.getMessage().contains("compiling")) messages.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.addHandler(h);
        try {
            ConvSpec conv = ConvSpec.convolution().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
            ConvSpec deform = ConvSpec.deformable().batch(1).channels(2, 2).input(5, 5).kernel(3).padding(1).build();
            try (OpenClSession a = (OpenClSession) openOrSkip()) {
                forward(a, conv);
                deformForward(a, deform); // a second program: still one line
            }
            assertEquals(1, messages.size(), messages.toString());
            assertTrue(messages.get(0).contains(dir.resolve("opencl").toString()), messages.get(0));
            try (OpenClSession b = (OpenClSession) openOrSkip()) {
                forward(b, conv);
            }
            assertEquals(1, messages.size(), "a warm cache compiles nothing and says nothing: " + messages);
        } finally {
            jul.removeHandler(h);
        }
    }

    private static void deformForward(OpenClSession session, ConvSpec d) {
        Random rnd = new Random(4);
        try (DeviceBuffer x = put(session, DType.FP32, d.inputShape(), random(rnd, d.inputShape().elementCount(), -1, 1));
             DeviceBuffer w = put(session, DType.FP32, d.weightShape(), random(rnd, d.weightShape().elementCount(), -1, 1));
             DeviceBuffer b = put(session, DType.FP32, d.biasShape(), random(rnd, d.outChannels(), -1, 1));
             DeviceBuffer o = put(session, DType.FP32, d.offsetShape(), random(rnd, d.offsetShape().elementCount(), -1, 1));
             DeviceBuffer y = session.allocate(DType.FP32, d.outputShape())) {
            session.execute(Pass.FORWARD, d, ConvArgs.builder().x(x).w(w).b(b).offset(o).y(y).build());
            session.synchronize();
        }
    }

    @Test
    void aBuildErrorCarriesTheCompilerLogAndTheOptions() {
        ProbeResult r = new OpenClBackendProvider().probe();
        assumeTrue(r.available(), () -> "no OpenCL device: " + r.reason());
        List<ClDevices.Found> found = ClDevices.discover();
        ClDevices.Found d = found.get(Integer.parseInt(r.devices().get(0).properties().get("enumerationIndex")));
        cl_context ctx = clCreateContext(null, 1, new cl_device_id[] {d.device()}, null, null, null);
        try (ProgramCache cache = new ProgramCache(ctx, d.device(), d.identity(), null)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> cache.get("broken.cl", "__kernel void broken(__global float* y) { y[0] = undeclared_name; }", "-DREAL=float"));
            assertTrue(e.getMessage().contains("broken.cl") && e.getMessage().contains("-DREAL=float"), e.getMessage());
            assertTrue(e.getMessage().contains("undeclared_name"), "the compiler log is in the message: " + e.getMessage());
        } finally {
            clReleaseContext(ctx);
        }
    }

    @Test
    void theKeyChangesWithSourceOptionsAndDevice() {
        ProgramCache a = new ProgramCache(null, null, "device A|driver 1", null);
        ProgramCache b = new ProgramCache(null, null, "device A|driver 2", null);
        String k = a.key("src", "-DREAL=float");
        assertEquals(k, a.key("src", "-DREAL=float"));
        assertNotEquals(k, a.key("src2", "-DREAL=float"));
        assertNotEquals(k, a.key("src", "-DREAL=double"));
        assertNotEquals(k, b.key("src", "-DREAL=float"));
    }

    private static double[] forward(OpenClSession session, ConvSpec s) {
        Random rnd = new Random(3);
        try (DeviceBuffer x = put(session, DType.FP32, s.inputShape(), random(rnd, s.inputShape().elementCount(), -1, 1));
             DeviceBuffer w = put(session, DType.FP32, s.weightShape(), random(rnd, s.weightShape().elementCount(), -1, 1));
             DeviceBuffer b = put(session, DType.FP32, s.biasShape(), random(rnd, s.outChannels(), -1, 1));
             DeviceBuffer y = session.allocate(DType.FP32, s.outputShape())) {
            session.execute(Pass.FORWARD, s, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
            return get(session, y);
        }
    }
}
