package io.github.jconv.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The hand-written PTX of the GPU tests (the training loop's kernels, the interop test's ReLU) assembles for a Hopper GPU, checked with ptxas where
 * the CUDA toolkit is installed (no GPU needed), so a GPU run does not find a typo first.
 */
class GpuTestPtxTest {
    @Test
    void theLoopsKernelsAssembleForSm90() throws Exception {
        Path ptxas = null;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, "ptxas");
            if (Files.isExecutable(p)) ptxas = p;
            if (ptxas != null) break;
        }
        assumeTrue(ptxas != null, "no ptxas on the PATH");
        Path dir = Files.createTempDirectory("jconv-ptx");
        try {
            for (String ptx : new String[] {CudaTrainingLoopGpuTest.PTX, CudaInteropGpuTest.RELU_PTX}) {
                Path src = Files.writeString(dir.resolve("k.ptx"), ptx);
                Process p = new ProcessBuilder(ptxas.toString(), "-arch=sm_90", src.toString(), "-o", dir.resolve("k.cubin").toString())
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                assertEquals(true, p.waitFor(60, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), out);
            }
        } finally {
            try (var s = Files.list(dir)) {
                for (Path f : s.toList()) Files.delete(f);
            }
            Files.delete(dir);
        }
    }
}
