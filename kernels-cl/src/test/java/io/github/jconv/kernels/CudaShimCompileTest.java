package io.github.jconv.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One source, two GPU APIs: each kernel family compiles to PTX behind the CUDA shim and the prelude (the same
 * three files, in the same order, as cuda-backend's build-ptx.sh), where nvcc exists.
 */
class CudaShimCompileTest {
    @TempDir
    Path dir;

    /** Writes the shim, the prelude and {@code family}'s file, and a .cu that includes them in build-ptx.sh's order. */
    private void writeSources(String family) throws IOException {
        Files.writeString(dir.resolve(KernelSources.CUDA_SHIM), KernelSources.cudaShim());
        Files.writeString(dir.resolve(KernelSources.PRELUDE), KernelSources.prelude());
        Files.writeString(dir.resolve(family + ".cl"), KernelSources.file(family));
        Files.writeString(dir.resolve(family + ".cu"), "#include \"" + KernelSources.CUDA_SHIM + "\"\n#include \"" + KernelSources.PRELUDE
                + "\"\n#include \"" + family + ".cl\"\n");
    }

    private String nvcc(Path nvcc, String family, String out, List<String> defines) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(nvcc.toString(), "-ptx", "-arch=compute_75"));
        cmd.addAll(defines);
        cmd.addAll(List.of(family + ".cu", "-o", out));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc finished");
        return p.exitValue() + "\n" + log;
    }

    static List<String> families() {
        return KernelSources.FAMILIES;
    }

    @ParameterizedTest
    @MethodSource("families")
    void theSourceCompilesWithNvccThroughAShimAndKeepsEveryKernel(String family) throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found on PATH or in /usr/local/cuda/bin: the CUDA compile check needs it");
        writeSources(family);
        for (String real : List.of("float", "double")) {
            Path ptx = dir.resolve(family + "-" + real + ".ptx");
            String result = nvcc(nvcc, family, ptx.getFileName().toString(),
                    List.of("-DRED_WG=128", "-DREAL=" + real, "-DJCONV_FP64=" + (real.equals("double") ? 1 : 0)));
            assertTrue(result.startsWith("0\n"), "nvcc on " + family + ".cl (" + real + "), exit status first:\n" + result);
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
        writeSources("gemm");
        List<String> d = new java.util.ArrayList<>(List.of("-DREAL=float", "-DJCONV_FP64=0"));
        d.addAll(List.of(defines.split(" ")));
        String result = nvcc(nvcc, "gemm", "gemm.ptx", d);
        assertTrue(result.startsWith("0\n"), "nvcc on gemm.cl with " + defines + ", exit status first:\n" + result);
        assertTrue(Files.readString(dir.resolve("gemm.ptx")).contains(".entry gemm("), "gemm is an unmangled entry point in the PTX");
    }

    /** The families whose offsets take common.cl's idx_t (gemm.cl forms its addresses in long, without IDX). */
    static List<String> indexedFamilies() {
        return List.of("conv", "im2col", "deformable");
    }

    /**
     * IDX reaches the index arithmetic: with -DIDX=long the kernels divide 64-bit values (decomposing an element index
     * into n, c, z, y, x), with -DIDX=int those divisions are 32-bit, and what stays 64-bit is at most one division per
     * kernel: the trip count nvcc may derive from a long grid-stride counter ((total - idx) / step), not per element.
     */
    @ParameterizedTest
    @MethodSource("indexedFamilies")
    void anIntIndexBuildDividesIn32Bits(String family) throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found on PATH or in /usr/local/cuda/bin: the CUDA compile check needs it");
        writeSources(family);
        int[] wide = new int[2];
        for (int i = 0; i < 2; i++) {
            String idx = i == 0 ? "int" : "long";
            String result = nvcc(nvcc, family, family + "-" + idx + ".ptx", List.of("-DRED_WG=128", "-DREAL=float", "-DJCONV_FP64=0", "-DIDX=" + idx));
            assertTrue(result.startsWith("0\n"), "nvcc on " + family + ".cl with IDX=" + idx + ", exit status first:\n" + result);
            String[] kernels = Files.readString(dir.resolve(family + "-" + idx + ".ptx")).split("\\.entry ");
            for (int k = 1; k < kernels.length; k++) {
                int n = wideDivisions(kernels[k]);
                wide[i] += n;
                if (idx.equals("int")) {
                    assertTrue(n <= 1, family + " with IDX=int: " + n + " 64-bit divisions in " + kernels[k].substring(0, kernels[k].indexOf('(')));
                }
            }
        }
        assertTrue(wide[0] < wide[1], family + ": 64-bit divisions with IDX=int " + wide[0] + ", with IDX=long " + wide[1]);
    }

    private static int wideDivisions(String ptx) {
        int n = 0;
        for (String op : List.of("div.s64", "rem.s64", "div.u64", "rem.u64")) {
            for (int at = ptx.indexOf(op); at >= 0; at = ptx.indexOf(op, at + 1)) n++;
        }
        return n;
    }

    /** The families whose tensors go through LOAD/STORE (deformable.cl reads real buffers directly). */
    static List<String> storageFamilies() {
        return List.of("conv", "im2col", "gemm");
    }

    @ParameterizedTest
    @MethodSource("storageFamilies")
    void bf16StorageFromThePreludeCompilesWithNvcc(String family) throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found on PATH or in /usr/local/cuda/bin: the CUDA compile check needs it");
        writeSources(family);
        String result = nvcc(nvcc, family, family + "-bf16.ptx", List.of("-DREAL=float", "-DJCONV_FP64=0", "-DSTORE_BF16=1"));
        assertTrue(result.startsWith("0\n"), "nvcc on " + family + ".cl with STORE_BF16=1, exit status first:\n" + result);
        String ptx = Files.readString(dir.resolve(family + "-bf16.ptx"));
        // bf16 storage: 16-bit loads and stores, no 32-bit float ones
        assertTrue(ptx.contains("ld.global.u16") && ptx.contains("st.global.u16"), family + ": 16-bit loads and stores");
        assertTrue(!ptx.contains("ld.global.f32") && !ptx.contains("st.global.f32"), family + ": no float tensor access with bf16 storage");
    }

    @Test
    void halfAndBf16StorageTogetherAreRefusedByThePrelude() throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found on PATH or in /usr/local/cuda/bin: the CUDA compile check needs it");
        writeSources("conv");
        String result = nvcc(nvcc, "conv", "conv-both.ptx", List.of("-DSTORE_HALF=1", "-DSTORE_BF16=1"));
        assertTrue(!result.startsWith("0\n") && result.contains("exclude each other"), result);
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
