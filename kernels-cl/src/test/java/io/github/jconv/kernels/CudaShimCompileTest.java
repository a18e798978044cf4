package io.github.jconv.kernels;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** One source, two GPU APIs: each kernel family compiles to PTX through a minimal CUDA shim, where nvcc exists. */
class CudaShimCompileTest {
    @TempDir
    Path dir;

    static List<String> families() {
        return KernelSources.FAMILIES;
    }

    @ParameterizedTest
    @MethodSource("families")
    void theSourceCompilesWithNvccThroughAShimAndKeepsEveryKernel(String family) throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found on PATH or in /usr/local/cuda/bin: the CUDA compile check needs it");
        try (InputStream shim = getClass().getResourceAsStream("cuda_shim_for_test.h")) {
            Files.write(dir.resolve("shim.h"), shim.readAllBytes());
        }
        Files.writeString(dir.resolve(family + ".cl"), KernelSources.source(family));
        Files.writeString(dir.resolve(family + ".cu"), "#include \"shim.h\"\n#include \"" + family + ".cl\"\n");
        for (String real : List.of("float", "double")) {
            Path ptx = dir.resolve(family + "-" + real + ".ptx");
            Process p = new ProcessBuilder(nvcc.toString(), "-ptx", "-arch=compute_75", "-DRED_WG=128", "-DREAL=" + real,
                    "-DJCONV_FP64=" + (real.equals("double") ? 1 : 0), family + ".cu", "-o", ptx.getFileName().toString())
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc finished");
            assertEquals(0, p.exitValue(), "nvcc on " + family + ".cl (" + real + "):\n" + log);
            String out = Files.readString(ptx);
            for (String kernel : KernelSources.kernelNames(family)) {
                assertTrue(out.contains(".entry " + kernel + "("), kernel + " is an unmangled entry point in the PTX");
            }
        }
    }

    /** GEMM parameter sets (TSM,TSN,TSK,WPTM,WPTN,VW,DB) beyond the source's defaults: every load width and buffering. */
    static List<String> gemmParameterSets() {
        return List.of("-DTSM=128 -DTSN=128 -DTSK=16 -DWPTM=8 -DWPTN=8 -DVW=4 -DDB=1",
                "-DTSM=16 -DTSN=32 -DTSK=16 -DWPTM=2 -DWPTN=4 -DVW=8 -DDB=1",
                "-DTSM=32 -DTSN=64 -DTSK=8 -DWPTM=2 -DWPTN=4 -DVW=2 -DDB=0");
    }

    @ParameterizedTest
    @MethodSource("gemmParameterSets")
    void everyGemmParameterSetCompilesWithNvccThroughTheShim(String defines) throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found on PATH or in /usr/local/cuda/bin: the CUDA compile check needs it");
        try (InputStream shim = getClass().getResourceAsStream("cuda_shim_for_test.h")) {
            Files.write(dir.resolve("shim.h"), shim.readAllBytes());
        }
        Files.writeString(dir.resolve("gemm.cl"), KernelSources.source("gemm"));
        Files.writeString(dir.resolve("gemm.cu"), "#include \"shim.h\"\n#include \"gemm.cl\"\n");
        List<String> cmd = new java.util.ArrayList<>(List.of(nvcc.toString(), "-ptx", "-arch=compute_75", "-DREAL=float", "-DJCONV_FP64=0"));
        cmd.addAll(List.of(defines.split(" ")));
        cmd.addAll(List.of("gemm.cu", "-o", "gemm.ptx"));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc finished");
        assertEquals(0, p.exitValue(), "nvcc on gemm.cl with " + defines + ":\n" + log);
        assertTrue(Files.readString(dir.resolve("gemm.ptx")).contains(".entry gemm("), "gemm is an unmangled entry point in the PTX");
    }

    private static Path findNvcc() throws IOException {
        for (String d : (System.getenv().getOrDefault("PATH", "") + ":/usr/local/cuda/bin").split(":")) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, "nvcc");
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }
}
