package io.github.jconv.tools;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module descriptors, checked where they take effect: on the module path, in a child JVM.
 *
 * <p>The tests of every module run on the class path, where module-info.class is ignored. Here the built jconv modules
 * (target/classes or jars, whatever Maven resolved) and their third-party modules make up a module path, with no class
 * path at all, and
 * <ul>
 *   <li>a consumer module that {@code requires io.github.jconv} only is compiled against it and run: it lists the
 *       providers ServiceLoader finds (on the module path only through {@code provides}, META-INF/services of a named
 *       module is not read, and only because core {@code uses} the SPI) and runs a convolution on the cpu backend,
 *       once without and once with {@code jdk.incubator.vector}, whose GEMM kernel runs only if the cpu module reads
 *       that module ({@code requires static});</li>
 *   <li>the jconv CLI runs as the module {@code io.github.jconv.tools} (picocli and Jackson need the packages the
 *       descriptor opens to them).</li>
 * </ul>
 * A wrong descriptor (a missing export, {@code uses}, {@code provides}, {@code opens}, or a required module of the
 * wrong name) makes the compile, the resolution or the run fail.
 */
class ModulePathTest {
    /** Classes that locate each module's jar or classes directory; by name, so this test compiles on the class path. */
    private static final List<String> MODULE_ROOTS = List.of(
            "io.github.jconv.ConvEngine", "io.github.jconv.conformance.Catalogue", "io.github.jconv.cpu.CpuBackendProvider",
            "io.github.jconv.kernels.KernelSources", "io.github.jconv.opencl.OpenClBackendProvider",
            "io.github.jconv.cuda.CudaBackendProvider", "io.github.jconv.tools.Main",
            "org.jocl.CL", "jcuda.Pointer", "org.bytedeco.javacpp.Loader", "org.bytedeco.cuda.global.cudart",
            "picocli.CommandLine", "com.fasterxml.jackson.databind.ObjectMapper", "com.fasterxml.jackson.core.JsonFactory",
            "com.fasterxml.jackson.annotation.JsonProperty");

    private static final String CONSUMER_INFO = """
            module jconv.consumer {
                requires io.github.jconv;
            }
            """;

    /*
     * The problem: batch 1, 16 input channels of 18x18, 16 output channels, 3x3 kernel, stride 1, no padding, no bias:
     * output 16x16x16. Input x[c][h][w] = w (the column index), weight w[o][c][i][j] = o + 1. Then
     *   y[o][r][s] = sum_c sum_i sum_j (o + 1) * x[c][r + i][s + j] = (o + 1) * 16 * 3 * (s + (s + 1) + (s + 2))
     *              = (o + 1) * 48 * (3s + 3) = 144 * (o + 1) * (s + 1),
     * whole numbers up to 144 * 16 * 16 = 36864, exact in FP32. The im2col GEMM is 16 x 256 x 144, far above the size
     * from which the cpu backend uses its Vector API kernel when the JVM has the module.
     */
    private static final String CONSUMER_MAIN = """
            package jconv.consumer;

            import io.github.jconv.ConvEngine;
            import io.github.jconv.ConvSpec;
            import io.github.jconv.DeviceBuffer;
            import io.github.jconv.EngineOptions;
            import io.github.jconv.FallbackPolicy;
            import io.github.jconv.spi.ConvBackendProvider;

            import java.util.TreeSet;

            public final class Main {
                public static void main(String[] args) {
                    TreeSet<String> names = new TreeSet<>();
                    for (ConvBackendProvider p : ConvEngine.providers()) names.add(p.name());
                    System.out.println("providers=" + String.join(",", names));
                    System.out.println("consumer module=" + Main.class.getModule().getName());
                    ConvSpec spec = ConvSpec.convolution().batch(1).channels(16, 16).input(18, 18).kernel(3, 3)
                            .bias(false).build();
                    float[] x = new float[16 * 18 * 18];
                    for (int i = 0; i < x.length; i++) x[i] = i % 18;
                    float[] w = new float[16 * 16 * 3 * 3];
                    for (int i = 0; i < w.length; i++) w[i] = i / (16 * 9) + 1;
                    try (ConvEngine engine = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL));
                         DeviceBuffer xb = engine.upload(x, spec.inputShape());
                         DeviceBuffer wb = engine.upload(w, spec.weightShape());
                         DeviceBuffer y = engine.forward(spec, xb, wb, null)) {
                        System.out.println("backend=" + engine.backendName() + " module="
                                + engine.backend().getClass().getModule().getName());
                        System.out.println("algorithm=" + engine.lastAlgorithm());
                        System.out.println("shape=" + y.shape());
                        StringBuilder sb = new StringBuilder("y=");
                        for (float v : engine.downloadFloats(y)) sb.append((int) v).append(' ');
                        System.out.println(sb.toString().strip());
                    }
                }
            }
            """;

    private static String modulePath;
    private static Path consumer;

    @BeforeAll
    static void compileTheConsumer(@TempDir Path dir) throws Exception {
        Set<String> roots = new LinkedHashSet<>();
        for (String name : MODULE_ROOTS) roots.add(location(name));
        modulePath = String.join(File.pathSeparator, roots);

        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("jconv/consumer"));
        Files.writeString(src.resolve("module-info.java"), CONSUMER_INFO);
        Files.writeString(src.resolve("jconv/consumer/Main.java"), CONSUMER_MAIN);
        consumer = dir.resolve("consumer");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, err, err, "--release", "17", "--module-path", modulePath, "-d", consumer.toString(),
                src.resolve("module-info.java").toString(), src.resolve("jconv/consumer/Main.java").toString());
        assertEquals(0, rc, () -> "the consumer module did not compile against the jconv modules:\n" + err);
    }

    private static String location(String className) throws ClassNotFoundException, URISyntaxException {
        Class<?> c = Class.forName(className, false, ModulePathTest.class.getClassLoader());
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private static String run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out;
        try (var in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> "child JVM failed: " + cmd + "\n" + brief(text));
        return text;
    }

    private static String line(String text, String key) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + "=(.*)$").matcher(text);
        assertTrue(m.find(), () -> "no " + key + "= line in:\n" + brief(text));
        return m.group(1).strip();
    }

    /** The child's output without the 4096 values, for failure messages. */
    private static String brief(String out) {
        return out.replaceAll("(?m)^y=.*$", "y=...");
    }

    private static void checkConsumer(String out) {
        assertEquals("jconv.consumer", line(out, "consumer module"), () -> brief(out));
        // core finds all three backends through their provides clauses (class-path services files are not read here)
        assertEquals("cpu,cuda,opencl", line(out, "providers"), () -> brief(out));
        assertEquals("cpu module=io.github.jconv.cpu", line(out, "backend"), () -> brief(out));
        assertEquals("[1, 16, 16, 16]", line(out, "shape"), () -> brief(out));
        String[] y = line(out, "y").split(" ");
        assertEquals(16 * 16 * 16, y.length, () -> brief(out));
        for (int o = 0; o < 16; o++) {
            for (int r = 0; r < 16; r++) {
                for (int s = 0; s < 16; s++) {
                    int at = (o * 16 + r) * 16 + s;
                    assertEquals(String.valueOf(144 * (o + 1) * (s + 1)), y[at], "y[" + o + "][" + r + "][" + s + "]");
                }
            }
        }
    }

    @Test
    void aConsumerModuleFindsTheBackendsAsServicesAndConvolvesOnTheCpuBackend() throws Exception {
        String out = run(List.of("--module-path", modulePath + File.pathSeparator + consumer,
                "-m", "jconv.consumer/jconv.consumer.Main"));
        // without jdk.incubator.vector in the boot layer the cpu module takes its plain GEMM
        assertEquals("im2col+gemm", line(out, "algorithm"), () -> brief(out));
        checkConsumer(out);
    }

    @Test
    void withTheVectorApiModuleTheCpuModuleReadsItAndItsGemmKernelRuns() throws Exception {
        String out = run(List.of("--module-path", modulePath + File.pathSeparator + consumer,
                "--add-modules", "jdk.incubator.vector", "-Djconv.cpu.noVector=false",
                "-m", "jconv.consumer/jconv.consumer.Main"));
        assertTrue(out.contains("jdk.incubator.vector"), () -> "the JVM should name the incubator module:\n" + brief(out));
        // the unit-stride implicit GEMM is chosen only when the cpu module reads jdk.incubator.vector
        // (CpuAlgorithms: FloatGemm.VECTOR && ImplicitGemm.applies); without it the same spec runs im2col+gemm
        assertEquals("implicit-gemm", line(out, "algorithm"), () -> brief(out));
        checkConsumer(out);
    }

    @Test
    void theOpenClBackendRunsFromTheModulePathWhereADeviceIsPresent() throws Exception {
        // the kernel sources come from io.github.jconv.kernels (exported to the OpenCL module alone), JOCL is an automatic module
        boolean present = io.github.jconv.ConvEngine.providers().stream()
                .anyMatch(p -> p.name().equals("opencl") && io.github.jconv.ConvEngine.probe(p).available());
        boolean required = java.util.Arrays.asList(String.valueOf(System.getenv("JCONV_REQUIRE_BACKENDS")).split(",")).contains("opencl");
        org.junit.jupiter.api.Assumptions.assumeTrue(present || required, "no OpenCL device here");
        String out = run(List.of("--module-path", modulePath, "-m", "io.github.jconv.tools/io.github.jconv.tools.Main",
                "demo", "-b", "opencl", "--steps", "3"));
        assertTrue(out.contains("ran on backend opencl chosen explicitly"), out);
    }

    @Test
    void theCliRunsAsANamedModuleWithPicocliAndJackson() throws Exception {
        String out = run(List.of("--module-path", modulePath, "-m", "io.github.jconv.tools/io.github.jconv.tools.Main",
                "probe", "--provider", "cpu", "--isolate", "--json"));
        // --isolate: the child JVM is started on the same module path, and its JSON report is read back by Jackson
        assertTrue(out.contains("\"name\" : \"cpu\""), out);
        assertTrue(out.contains("\"isolated\" : true"), out);
        assertTrue(out.contains("\"available\" : true"), out);
        // flops through picocli's options and mixins: 16->16 3x3 on 18x18 has 16·16·9 = 2,304 weights
        String flops = run(List.of("--module-path", modulePath, "-m", "io.github.jconv.tools/io.github.jconv.tools.Main",
                "flops", "conv16->16k3", "--input", "18"));
        assertTrue(flops.contains("2,304"), flops);
    }
}
