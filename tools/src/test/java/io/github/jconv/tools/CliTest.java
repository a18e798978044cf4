package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.spi.ConvBackendProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the command line does with any error, the -D and --debug arguments, and the advice it gives. */
class CliTest {
    private record Reported(int exit, String err) {
    }

    private static Reported report(Throwable t, boolean debug) {
        StringWriter err = new StringWriter();
        int exit = Main.report(t, "erf", new PrintWriter(err, true), debug);
        return new Reported(exit, err.toString());
    }

    @Test
    void anUnexpectedExceptionIsOneLineAndExitOneWithTheTraceOnlyUnderDebug() {
        Reported plain = report(new NullPointerException("boom"), false);
        assertEquals(1, plain.exit());
        assertEquals(1, plain.err().strip().lines().count(), plain.err());
        assertTrue(plain.err().contains("java.lang.NullPointerException: boom") && plain.err().contains("--debug"), plain.err());
        Reported debug = report(new NullPointerException("boom"), true);
        assertEquals(1, debug.exit());
        assertTrue(debug.err().contains("\tat "), "the stack trace under --debug: " + debug.err());
    }

    @Test
    void anOutOfMemoryErrorOrAnIoErrorIsOneLineAndExitOne() {
        Reported oom = report(new OutOfMemoryError("Java heap space"), false);
        assertEquals(1, oom.exit());
        assertTrue(oom.err().contains("out of memory") && oom.err().contains("JCONV_JAVA_OPTS=-Xmx"), oom.err());
        Reported io = report(new UncheckedIOException("cannot write x.png", new IOException("disk full")), false);
        assertEquals(1, io.exit());
        assertEquals(1, io.err().strip().lines().count(), io.err());
    }

    @Test
    void aBadArgumentIsExitTwo() {
        Reported r = report(new IllegalArgumentException("--size = 0: must be positive;\n e.g. --size 64"), false);
        assertEquals(2, r.exit());
        assertEquals("erf: --size = 0: must be positive; e.g. --size 64", r.err().strip(), "one line");
    }

    @Test
    void debugIsAcceptedAnywhereOnTheLine() {
        ToolRun r = ToolRun.of("rf", "--debug", "conv3");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("sees 3x3"), r::toString);
    }

    @Test
    void aSystemPropertyAfterTheCommandIsSetForTheRunAndPutBackAfterIt() {
        assertNull(System.getProperty("jconv.backend"), "this test needs jconv.backend unset");
        ToolRun r = ToolRun.of("demo", "--steps", "1", "-Djconv.backend=cpu");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("backend cpu chosen explicitly"), r::toString);
        assertNull(System.getProperty("jconv.backend"), "put back");
        ToolRun.of("rf", "-D=x", "conv3").assertRefused("-D=x");
    }

    private static boolean available(String name) {
        for (ConvBackendProvider p : ConvEngine.providers()) if (p.name().equals(name)) return ConvEngine.probe(p).available();
        return false;
    }

    /**
     * The refusal of an unavailable backend asked for by name says how to fall back; both ways it names
     * must work: -Djconv.fallback=WARN on the command line, and JCONV_FALLBACK=WARN (in a child JVM,
     * as the environment of this one cannot change). The cuda probe's advice, -Djconv.backend=cpu, is
     * tested by aSystemPropertyAfterTheCommandIsSetForTheRunAndPutBackAfterIt.
     */
    @Test
    void theFallbackAdviceOfAnUnavailableBackendWorksBothWaysItIsGiven() throws Exception {
        Assumptions.assumeFalse(available("cuda"), "needs a machine where the cuda backend is unavailable");
        ToolRun refused = ToolRun.of("demo", "--backend", "cuda", "--steps", "1");
        refused.assertRefused("add -Djconv.fallback=WARN to the command line or set JCONV_FALLBACK=WARN");
        assertTrue(refused.err().contains("-Djconv.backend=cpu"), "the probe's advice names a backend that is always there: " + refused);

        ToolRun viaProperty = ToolRun.of("demo", "--backend", "cuda", "--steps", "1", "-Djconv.fallback=WARN");
        assertEquals(0, viaProperty.exit(), viaProperty::toString);
        assertTrue(viaProperty.out().contains("fell back to"), viaProperty::toString);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "demo", "--backend", "cuda", "--steps", "1"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("JCONV_FALLBACK", "WARN");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("fell back to"), out);
        // the library's warning is one line, without java.util.logging's date-and-class line before it
        assertTrue(out.lines().anyMatch(l -> l.startsWith("WARNING: backend cuda is unavailable")), out);
        assertFalse(out.contains("io.github.jconv.ConvEngine open"), out);
    }

    /** ./jconv before the jar is built names the build command instead of java's "Unable to access jarfile". */
    @Test
    void theLauncherBeforeABuildSaysHowToBuild(@TempDir Path dir) throws Exception {
        Path launcher = launcher();
        Path copy = dir.resolve("jconv");
        Files.copy(launcher, copy);
        copy.toFile().setExecutable(true);
        Process p = new ProcessBuilder("bash", copy.toString(), "probe").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("not built yet") && out.contains("mvn -B -q -DskipTests package"), out);
        assertFalse(out.contains("Unable to access jarfile"), out);
    }

    /**
     * With a JDK that has jdk.incubator.vector, ./jconv adds the module (the child sees it in its boot
     * layer) and the JVM's incubator warning does not reach the terminal; JCONV_JAVA_OPTS reaches the JVM.
     * The jar is a stand-in built here: {@link LauncherProbe} prints what the JVM was given.
     */
    @Test
    void theLauncherEnablesTheVectorApiQuietlyAndPassesJconvJavaOpts(@TempDir Path dir) throws Exception {
        Path home = Path.of(System.getProperty("java.home"));
        Assumptions.assumeTrue(Files.readString(home.resolve("release")).contains("jdk.incubator.vector"), "this JDK has no Vector API");
        Path copy = dir.resolve("jconv");
        Files.copy(launcher(), copy);
        Path classes = Path.of(LauncherProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path jar = Files.createDirectories(dir.resolve("tools/target")).resolve("jconv.jar");
        Path manifest = Files.writeString(dir.resolve("manifest.txt"), "Main-Class: " + LauncherProbe.class.getName() + "\n");
        String rel = LauncherProbe.class.getName().replace('.', '/') + ".class";
        int rc = java.util.spi.ToolProvider.findFirst("jar").orElseThrow()
                .run(System.out, System.err, "cfm", jar.toString(), manifest.toString(), "-C", classes.toString(), rel);
        assertEquals(0, rc, "jar tool");
        ProcessBuilder pb = new ProcessBuilder("bash", copy.toString(), "x", "-Dy=z");
        pb.environment().put("JAVA_HOME", home.toString());
        pb.environment().put("JCONV_JAVA_OPTS", "-Djconv.launcherTest=yes");
        Path err = dir.resolve("err.txt");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        Thread.sleep(200); // the launcher's stderr filter may finish a moment after the JVM
        String errText = Files.readString(err);
        assertEquals(0, p.exitValue(), out + errText);
        assertTrue(out.contains("vector=true"), out + errText);
        assertTrue(out.contains("prop=yes"), out);
        assertTrue(out.contains("args=[x, -Dy=z]"), "arguments pass unchanged: " + out);
        assertFalse(errText.contains("incubator"), "no incubator warning: " + errText);
    }

    private static Path launcher() {
        Path p = Path.of("").toAbsolutePath();
        for (; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("jconv")) && Files.isDirectory(p.resolve("tools"))) return p.resolve("jconv");
        }
        throw new AssertionError("no ./jconv above " + Path.of("").toAbsolutePath());
    }
}
