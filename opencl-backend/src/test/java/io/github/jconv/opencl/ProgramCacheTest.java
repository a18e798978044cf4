package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.DeviceBuffer;
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
