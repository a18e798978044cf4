package io.github.jconv.opencl;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 12 item 3: nothing but a command's own output on stdout, even when libOpenCL cannot be loaded. */
class OpenClLibraryTest {
    @TempDir
    Path tmp;

    /** Runs ProbeMain in a child JVM; returns {stdout, exit status}. */
    private String[] probeInChild(Map<String, String> env, String... jvmArgs) throws Exception {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin.toString(), "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmArgs));
        cmd.add(ProbeMain.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new String[] {out, String.valueOf(p.exitValue())};
    }

    @Test
    void anUnloadableLibOpenClPrintsNothingOnStdout() throws Exception {
        // The dynamic linker tries LD_LIBRARY_PATH first: empty files there fail to load ("file too short"),
        // and JOCL's native code used to print each failure with printf on stdout.
        Path fake = Files.createDirectories(tmp.resolve("fake"));
        Files.write(fake.resolve("libOpenCL.so.1"), new byte[0]);
        Files.write(fake.resolve("libOpenCL.so"), new byte[0]);
        String[] r = probeInChild(Map.of("LD_LIBRARY_PATH", fake.toString()));
        assertEquals("0", r[1], r[0]);
        String[] lines = r[0].split("\\R");
        assertEquals(1, lines.length, "stdout holds only ProbeMain's one line: " + r[0]);
        assertFalse(r[0].contains("Could not load"), r[0]);
        assertTrue(lines[0].startsWith("true|") || lines[0].startsWith("false|"), lines[0]);
    }

    @Test
    void aMissingLibraryIsAnUnavailableBackendNamingWhereJconvLooked() throws Exception {
        Path missing = tmp.resolve("nowhere").resolve("libOpenCL.so.1");
        String[] r = probeInChild(Map.of(), "-D" + OpenClLibrary.LIBRARY_PROPERTY + "=" + missing);
        assertEquals("0", r[1], r[0]);
        String[] lines = r[0].split("\\R");
        assertEquals(1, lines.length, "stdout holds only ProbeMain's one line: " + r[0]);
        assertTrue(lines[0].startsWith("false|") && lines[0].contains(missing.toString()), lines[0]);
    }

    @Test
    void theSearchFollowsTheDynamicLinkersOrder() {
        // An ld.so.cache string table holds NUL-terminated paths; the two OpenCL ones are read back whole.
        byte[] cache = "glibc-ld.so.cache1.1\0libm.so.6\0/lib/x86_64-linux-gnu/libm.so.6\0/opt/ocl/lib/libOpenCL.so.1\0/usr/lib/libOpenCL.so\0"
                .getBytes(StandardCharsets.US_ASCII);
        List<Path> c = OpenClLibrary.candidates(null, "/a::/b", cache, List.of("/usr/lib"));
        assertEquals(List.of(Path.of("/a/libOpenCL.so.1"), Path.of("/a/libOpenCL.so"), Path.of("/b/libOpenCL.so.1"),
                Path.of("/b/libOpenCL.so"), Path.of("/opt/ocl/lib/libOpenCL.so.1"), Path.of("/usr/lib/libOpenCL.so"),
                Path.of("/usr/lib/libOpenCL.so.1")), c);
        assertEquals(List.of(Path.of("/x/libOpenCL.so.1")), OpenClLibrary.candidates("/x/libOpenCL.so.1", "/a", cache, List.of("/usr/lib")),
                "the property alone, when set");
        assertEquals("/lib/x86_64-linux-gnu", OpenClLibrary.defaultDirs("amd64").get(0));
    }
}
