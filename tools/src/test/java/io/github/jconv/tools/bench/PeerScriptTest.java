package io.github.jconv.tools.bench;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PyTorch peer script is found from the jar (or classes) wherever the command runs, and times our problems. */
class PeerScriptTest {
    /** tools/peers/torch_peer.py in this checkout (tests run in the tools module). */
    private static Path repoScript() {
        Path p = Path.of("peers", PeerScript.NAME).toAbsolutePath();
        assertTrue(Files.isRegularFile(p), "the script is in the repository: " + p);
        return p;
    }

    @Test
    void aJarInTargetFindsTheScriptOfItsModule(@TempDir Path dir) throws Exception {
        Path module = dir.resolve("somewhere/tools");
        Path jar = Files.createDirectories(module.resolve("target")).resolve("jconv.jar");
        Files.writeString(jar, "not read");
        assertNull(PeerScript.besideCodeSource(jar), "no peers folder yet");
        Path script = Files.createDirectories(module.resolve("peers")).resolve(PeerScript.NAME);
        Files.writeString(script, "# stand-in");
        assertEquals(script.toAbsolutePath(), PeerScript.besideCodeSource(jar).toAbsolutePath());
        assertEquals(script.toAbsolutePath(), PeerScript.locate(jar).toAbsolutePath());
    }

    @Test
    void withoutTheRepositoryTheCopyPackedInTheJarIsWrittenOutAndIsTheSameScript(@TempDir Path dir) throws Exception {
        Path lonelyJar = dir.resolve("opt/jconv.jar"); // a jar copied alone: nothing beside it
        Path got = PeerScript.locate(lonelyJar);
        assertTrue(Files.isRegularFile(got), got::toString);
        assertEquals(Files.readString(repoScript()), Files.readString(got));
    }

    @Test
    void theRunningToolsFindTheScriptWithoutTheWorkingDirectory() throws Exception {
        Path found = PeerScript.locate();
        assertNotNull(found);
        assertEquals(Files.readString(repoScript()), Files.readString(found));
        try (InputStream in = PeerScript.class.getResourceAsStream(PeerScript.RESOURCE)) {
            assertNotNull(in, "packed as a resource by tools/pom.xml");
        }
    }

    /**
     * The script's own problem table (--list, no PyTorch needed) against the problem lines bench runs:
     * every size, and the forward FLOPs, must agree, or the two sides would time different problems.
     */
    @Test
    void theScriptsProblemsAreTheProblemsBenchRuns() throws Exception {
        String python = "python3";
        Process p;
        try {
            p = new ProcessBuilder(python, repoScript().toString(), "--list").redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no python3 on the PATH: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = new ArrayList<>(out.strip().lines().toList());
        assertTrue(lines.remove(0).startsWith("name,kind,batch"), out);
        assertEquals(BenchProblem.STANDARD_LINES.keySet(), new java.util.LinkedHashSet<>(lines.stream().map(l -> l.split(",")[0]).toList()));
        for (String line : lines) {
            String[] f = line.split(",", -1);
            ConvSpec s = ConvSpec.parse(BenchProblem.STANDARD_LINES.get(f[0]));
            String kind = switch (s.type()) {
                case TRANSPOSED -> "transposed";
                case DEFORMABLE -> "deformable";
                default -> s.rank() == 3 ? "conv3d" : "conv";
            };
            assertEquals(kind, f[1], line);
            int last = s.rank() - 1;
            assertEquals(s.batch(), Integer.parseInt(f[2]), line);
            assertEquals(s.inChannels(), Integer.parseInt(f[3]), line);
            assertEquals(s.rank() == 3 ? String.valueOf(s.input(0)) : "", f[4], line);
            assertEquals(s.input(last - 1), Integer.parseInt(f[5]), line);
            assertEquals(s.input(last), Integer.parseInt(f[6]), line);
            assertEquals(s.outChannels(), Integer.parseInt(f[7]), line);
            for (int a = 0; a <= last; a++) {
                assertEquals(s.kernel(a), Integer.parseInt(f[8]), line);
                assertEquals(s.stride(a), Integer.parseInt(f[9]), line);
                assertEquals(s.paddingLo(a), Integer.parseInt(f[10]), line);
                assertEquals(s.paddingHi(a), Integer.parseInt(f[10]), line);
                assertEquals(s.dilation(a), Integer.parseInt(f[11]), line);
            }
            assertEquals(s.groups(), Integer.parseInt(f[12]), line);
            assertEquals(s.forwardFlops(), Long.parseLong(f[13]), line);
            if (s.type() == ConvType.DEFORMABLE) assertTrue(s.modulated(), "D1 has a mask, as deform_conv2d(mask=...) does");
        }
    }

    /** The Python on the PATH, else Debian's, that can import torch and torchvision; null when none can. */
    private static String pythonWithTorch() throws InterruptedException {
        for (String py : List.of("python3", "/usr/bin/python3")) {
            try {
                Process p = new ProcessBuilder(py, "-c", "import torch, torchvision").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) return py;
            } catch (java.io.IOException e) {
                // not there: try the next
            }
        }
        return null;
    }

    /**
     * Where PyTorch is installed (Debian's python3-torch 1.13 with torchvision 0.14 here), the script
     * times the smallest problem, P4, and D1's forward through torchvision's deform_conv2d, in the CSV bench reads,
     * with GFLOP/s = the problem line's FLOPs / time (three times for forward+backward).
     */
    @Test
    void withPyTorchTheScriptTimesProblemsInTheCsvBenchReads() throws Exception {
        String py = pythonWithTorch();
        Assumptions.assumeTrue(py != null, "no Python with torch and torchvision here");
        // P4 (the smallest) both passes; D1 forward only, as its backward takes seconds on a CPU
        List<PeerCsv.Row> rows = new ArrayList<>();
        for (List<String> args : List.of(List.of("--problems", "P4"), List.of("--problems", "D1", "--passes", "fwd"))) {
            List<String> cmd = new ArrayList<>(List.of(py, repoScript().toString(), "--device", "cpu", "--threads", "2",
                    "--reps", "3", "--warmup", "1"));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            rows.addAll(PeerCsv.parse(out));
        }
        assertEquals(List.of("P4 fwd", "P4 fwd+bwd", "D1 fwd"), rows.stream().map(r -> r.problem() + " " + r.pass().label()).toList());
        for (PeerCsv.Row r : rows) {
            assertTrue(r.peer().startsWith("torch-") && r.device().equals("cpu") && r.mode().equals("fp32"), r.toString());
            long flops = ConvSpec.parse(BenchProblem.STANDARD_LINES.get(r.problem())).forwardFlops()
                    * (r.pass() == BenchPass.FWD ? 1 : 3);
            assertTrue(r.medianMs() > 0, r.toString());
            assertEquals(flops / r.medianMs() / 1e6, r.gflops(), 0.051 + 1e-3 * r.gflops(), "printed with one decimal: " + r);
        }
    }

    private record Py(int exit, String out) {
    }

    private static Py script(String python, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python, repoScript().toString()));
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no " + python + ": " + e.getMessage());
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Py(p.exitValue(), out);
    }

    /**
     * The precision options bench passes (--dtype, --math) are taken, give the CSV's mode column, and TF32 is
     * refused on the CPU and for other dtypes; --check parses without importing PyTorch.
     */
    @Test
    void theScriptTakesDtypeAndMathAndRefusesTf32OnTheCpu() throws Exception {
        Py fp64 = script("python3", "--check", "--device", "cpu", "--dtype", "fp64", "--math", "fp32", "--min-window-ms", "20");
        assertEquals(0, fp64.exit(), fp64.out());
        assertEquals("device=cpu,dtype=fp64,math=fp32,mode=fp64", fp64.out().strip());
        Py tf32 = script("python3", "--check", "--device", "cuda", "--dtype", "fp32", "--math", "tf32");
        assertEquals(0, tf32.exit(), tf32.out());
        assertEquals("device=cuda,dtype=fp32,math=tf32,mode=tf32", tf32.out().strip());
        Py bf16 = script("python3", "--check", "--device", "cuda", "--dtype", "bf16");
        assertEquals("device=cuda,dtype=bf16,math=fp32,mode=bf16", bf16.out().strip());

        Py cpuTf32 = script("python3", "--check", "--device", "cpu", "--math", "tf32");
        assertEquals(2, cpuTf32.exit(), cpuTf32.out());
        assertTrue(cpuTf32.out().contains("--math tf32 on --device cpu: TF32 needs a CUDA device"), cpuTf32.out());
        Py halfTf32 = script("python3", "--check", "--device", "cuda", "--dtype", "fp16", "--math", "tf32");
        assertEquals(2, halfTf32.exit(), halfTf32.out());
        assertTrue(halfTf32.out().contains("--math tf32 with --dtype fp16"), halfTf32.out());
        Py heuristic = script("python3", "--check", "--device", "cuda", "--cudnn-benchmark", "0");
        assertEquals(0, heuristic.exit(), heuristic.out()); // bench --algo heuristic's flag parses without PyTorch
        Py det = script("python3", "--check", "--device", "cuda", "--cudnn-deterministic", "1");
        assertEquals(0, det.exit(), det.out()); // bench --deterministic's flag parses without PyTorch
        Py badDet = script("python3", "--check", "--cudnn-deterministic", "yes");
        assertEquals(2, badDet.exit(), badDet.out());
        Py badBench = script("python3", "--check", "--cudnn-benchmark", "yes");
        assertEquals(2, badBench.exit(), badBench.out());
        assertTrue(badBench.out().contains("--cudnn-benchmark: invalid choice: 'yes'"), badBench.out());
        Py int8 = script("python3", "--check", "--dtype", "int8");
        assertEquals(2, int8.exit(), int8.out());
        assertTrue(int8.out().contains("--dtype: invalid choice: 'int8'"), int8.out());
    }

    /** With PyTorch: --dtype fp64 times in float64 (mode fp64); --math tf32 on a machine without CUDA is refused. */
    @Test
    void withPyTorchTheScriptRunsTheAskedPrecision() throws Exception {
        String py = pythonWithTorch();
        Assumptions.assumeTrue(py != null, "no Python with torch and torchvision here");
        Py fp64 = script(py, "--device", "cpu", "--threads", "2", "--problems", "P4", "--passes", "fwd", "--reps", "2",
                "--warmup", "1", "--min-window-ms", "20", "--dtype", "fp64");
        assertEquals(0, fp64.exit(), fp64.out());
        List<PeerCsv.Row> rows = PeerCsv.parse(fp64.out());
        assertEquals(1, rows.size(), fp64.out());
        assertEquals("fp64", rows.get(0).mode());
        Py tf32 = script(py, "--threads", "2", "--problems", "P4", "--passes", "fwd", "--reps", "1", "--warmup", "0",
                "--min-window-ms", "0", "--math", "tf32");
        if (tf32.exit() == 0) {
            assertEquals("tf32", PeerCsv.parse(tf32.out()).get(0).mode(), "a CUDA machine: " + tf32.out());
        } else {
            assertEquals(2, tf32.exit(), tf32.out());
            assertTrue(tf32.out().contains("--math tf32 needs a CUDA device"), tf32.out());
        }
    }
}
