package io.github.jconv.tools.bench;

import io.github.jconv.ConvSpec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End-to-end runs of {@code bench} on the CPU backend with tiny problems; nothing here asserts a speed. */
class BenchCommandTest {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private static final String HEADER = "problem,pass,line,flops,backend,threads,rounds,jconv_ms,jconv_min_ms,"
            + "jconv_round_lo_ms,jconv_round_hi_ms,jconv_samples,jconv_gflops,peer,peer_ms,peer_round_lo_ms,"
            + "peer_round_hi_ms,peer_gflops,ratio,peak_scratch_bytes,algorithm,other_cores_jconv,other_cores_peer,note,precision";

    private record Run(int exit, String out, String err) {
    }

    private static Run bench(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        CommandLine cl = new CommandLine(new BenchCommand(o, e));
        cl.setOut(new java.io.PrintWriter(o, true));
        cl.setErr(new java.io.PrintWriter(e, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * A stand-in peer that prints the torch script's CSV for the problems it is given: 4 ms on its first
     * run, 6 on the second, then 100; it appends its arguments to a file beside it.
     */
    private static Path fakePeer(Path dir) throws Exception {
        Path fake = dir.resolve("fake_peer.sh");
        Files.writeString(fake, String.join("\n",
                "d=$(dirname \"$0\")",
                "n=$(cat \"$d/count\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$d/count\"",
                "echo \"$@\" >> \"$d/args\"",
                "for a; do last=$a; done",
                "case $n in 1) t=4.0;; 2) t=6.0;; *) t=100.0;; esac",
                "echo peer,device,mode,problem,pass,median_ms,gflops",
                "for p in $(echo $last | tr , ' '); do",
                "  echo \"fake-1,cpu,fp32,$p,fwd,$t,1.0\"; echo \"fake-1,cpu,fp32,$p,fwd+bwd,$t,1.0\"",
                "done", ""));
        return fake;
    }

    private static List<String[]> rows(Path csv) throws Exception {
        List<String[]> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(csv);
        for (String l : lines.subList(1, lines.size())) out.add(l.split(",", -1));
        return out;
    }

    @Test
    void tinyProblemsOnTheCpuBackendGiveACsvWithTheBenchColumnsAndAChart(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("bench.csv");
        Run r = bench("--backend", "cpu", "--threads", "1", "--problems",
                "a=mb1ic2ih6oc3kh3ph1bia0,b=tr1mb1ic2ih4oc2kh4sh2ph1bia0,c=dg1msk1mb1ic2ih5oc2kh3ph1bia0",
                "--warmup", "1", "--reps", "2", "--csv", csv.toString(), "--chart-size", "400x300");
        assertEquals(0, r.exit(), r.out() + r.err());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(HEADER, lines.get(0));
        List<String[]> rows = rows(csv);
        assertEquals(6, rows.size(), "three problems times two passes");
        for (String[] f : rows) {
            assertEquals(25, f.length, String.join(",", f));
            assertEquals("fp32", f[24], "the default precision");
            assertEquals("cpu", f[4]);
            assertEquals("1", f[5]);
            double ms = Double.parseDouble(f[7]);
            assertTrue(ms > 0, "jconv_ms " + ms);
            assertTrue(Double.parseDouble(f[8]) <= ms, "the fastest call is no slower than the median");
            long flops = Long.parseLong(f[3]);
            // the CSV writes both with 4 decimals: ms is off by at most 5e-5, so GFLOP/s recomputed from it by a
            // relative 5e-5/(ms - 5e-5), and the written GFLOP/s by 5e-5 more (tiny problems run in microseconds)
            double gflops = Double.parseDouble(f[12]);
            assertEquals(flops / (ms * 1e6), gflops, 5e-5 + 1e-9 + gflops * 5e-5 / (ms - 5e-5) + 1e-3 * gflops);
            assertEquals("", f[14], "no peer asked");
            assertTrue(Long.parseLong(f[19]) >= 0, "the CPU backend reports its peak scratch: " + f[19]);
            // blank when the case was shorter than one /proc/stat tick (10 ms); a share of the machine otherwise
            double others = f[21].isEmpty() ? 0 : Double.parseDouble(f[21]);
            assertTrue(others >= 0 && others <= Runtime.getRuntime().availableProcessors(), "other processes' cores " + others);
        }
        // a: 2*1*3*(6*6)*2*9 forward FLOPs, and three times that for forward+backward
        assertEquals("3888", rows.get(0)[3]);
        assertEquals("11664", rows.get(1)[3]);
        assertTrue(r.out().contains("problem") && r.out().contains("GFLOP/s"), r.out());
        // issue 17: the cpu header names the FMA peak, or says why it is missing (the Vector API is not there)
        boolean vector = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertTrue(r.out().contains(vector ? "FMA peak: " : "FMA peak: not measured (it needs the Vector API"), r.out());
        assertEquals(vector, r.out().contains("as % of the FMA peak: a fwd "), r.out());
        BufferedImage img = ImageIO.read(dir.resolve("bench.png").toFile());
        assertNotNull(img);
        assertEquals(400, img.getWidth());
        assertEquals(300, img.getHeight());
    }

    @Test
    void aBatchFileFilteredByMatchRunsAtTheBatchOfMb(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("layers.txt"), String.join("\n",
                "# three small layers; --match keeps two, --mb runs them at batch 2",
                "mb1ic2ih6oc3kh3ph1bia0        keep-a",
                "tr1mb1ic2ih4oc2kh4sh2ph1bia0  drop-b",
                "mb1ic2ih5oc2kh1bia0           keep-c", ""));
        Path csv = dir.resolve("bench.csv");
        Run r = bench("--backend", "cpu", "--threads", "1", "--batch", file.toString(), "--match", "^keep", "--mb", "2",
                "--passes", "fwd", "--warmup", "1", "--reps", "2", "--min-window-ms", "0", "--csv", csv.toString(), "--chart-size", "400x300");
        assertEquals(0, r.exit(), r.out() + r.err());
        List<String[]> rows = rows(csv);
        assertEquals(List.of("keep-a", "keep-c"), rows.stream().map(f -> f[0]).toList());
        assertEquals(ConvSpec.parse("mb2ic2ih6oc3kh3ph1bia0"), ConvSpec.parse(rows.get(0)[2]));
        // keep-a at batch 2: 2*2*3*(6*6)*2*9 = 7776 forward FLOPs
        assertEquals("7776", rows.get(0)[3]);
    }

    @Test
    void theProblemChoiceIsRefusedWithTrainInsteadOfIgnored() {
        Run r = bench("--train", "--backend", "cpu", "--mb", "4");
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("--train times T1 instead") && r.err().contains("--train-batch"), r.err());
    }

    @Test
    void peerRoundsAlternateWithJconvAndTheirMediansGiveTheRatio(@TempDir Path dir) throws Exception {
        // a stand-in peer that prints the torch script's CSV with 4, 6, then 100 ms, and records its arguments
        Path fake = fakePeer(dir);
        Path csv = dir.resolve("peer.csv");
        Run r = bench("--backend", "cpu", "--threads", "1", "--problems", "P4", "--passes", "fwd", "--warmup", "0",
                "--reps", "1", "--rounds", "3", "--peer", "torch", "--python", "/bin/sh", "--peer-script", fake.toString(),
                "--csv", csv.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("--device cpu --threads 1 --reps 1 --dtype fp32 --math fp32 --min-window-ms 200 --problems P4", Files.readAllLines(dir.resolve("args")).get(0).strip());
        List<String> order = r.err().lines().filter(l -> l.startsWith("round ") && !l.contains(" starts")).map(l -> l.split(":")[0]).toList();
        assertEquals(List.of("round 1 jconv P4 fwd", "round 1 fake-1 P4 fwd", "round 1 fake-1 P4 fwd+bwd",
                "round 2 jconv P4 fwd", "round 2 fake-1 P4 fwd", "round 2 fake-1 P4 fwd+bwd",
                "round 3 jconv P4 fwd", "round 3 fake-1 P4 fwd", "round 3 fake-1 P4 fwd+bwd"), order);
        String[] f = rows(csv).get(0);
        assertEquals("fake-1", f[13]);
        assertEquals(6.0, Double.parseDouble(f[14]), "median of 4, 6 and 100");
        assertEquals(4.0, Double.parseDouble(f[15]));
        assertEquals(100.0, Double.parseDouble(f[16]));
        double jconvMs = Double.parseDouble(f[7]);
        assertEquals(6.0 / jconvMs, Double.parseDouble(f[18]), 1e-3 * (6.0 / jconvMs) + 1e-4);
        assertTrue(r.out().contains("x "), "ratio column printed: " + r.out());
    }

    @ParameterizedTest(name = "--alternate {0}")
    @CsvSource(delimiter = '|', value = {
            "problem | jconv P4, fake-1 P4, jconv P3, fake-1 P3",
            "round   | jconv P4, jconv P3, fake-1 P4, fake-1 P3"})
    void sidesAlternateProblemByProblemOrRoundByRound(String mode, String expected, @TempDir Path dir) throws Exception {
        Path fake = fakePeer(dir);
        Run r = bench("--backend", "cpu", "--threads", "1", "--problems", "P4,P3", "--passes", "fwd", "--warmup", "0",
                "--reps", "1", "--peer", "torch", "--python", "/bin/sh", "--peer-script", fake.toString(), "--alternate", mode);
        assertEquals(0, r.exit(), r.out() + r.err());
        List<String> order = r.err().lines().filter(l -> l.startsWith("round 1 ") && !l.contains(" starts") && !l.contains("fwd+bwd"))
                .map(l -> l.substring("round 1 ".length(), l.indexOf(" fwd"))).toList();
        assertEquals(List.of(expected.split(", ")), order);
    }

    @Test
    void aMissingPeerScriptIsReportedBeforeAnyTiming(@TempDir Path dir) {
        Run r = bench("--backend", "cpu", "--problems", "P4", "--peer", "torch", "--peer-script",
                dir.resolve("nope.py").toString());
        assertTrue(r.exit() != 0);
        assertTrue(r.err().contains("peer-script") && r.err().contains("nope.py"), r.err());
        assertTrue(r.err().lines().noneMatch(l -> l.startsWith("round ")), r.err());
    }

    @ParameterizedTest(name = "bench {0} {1} is refused before timing")
    @CsvSource(delimiter = ';', value = {
            "--quiet-cores; -1; quiet-cores = -1.0",
            "--max-case-seconds; NaN; max-case-seconds = NaN",
            "--chart-size; 0x0; chart-size = 0x0",                 // was refused after the benchmark had run
            "--chart-size; 200000x200000; chart-size = 200000x200000", // an OutOfMemoryError drawing it
            "--reps; 0; reps = 0",
            "--peer-device; tpu; peer-device = tpu",
            "--timing; sometimes; timing = sometimes",
            "--dtype; int8; dtype = int8: must be fp32, fp64, fp16 or bf16",
            "--dtype; fp16; dtype = fp16: the cpu backend supports fp32, fp64",   // cpu has no FP16 buffers
            "--dtype; bf16; dtype = bf16: the cpu backend supports fp32, fp64",
            "--math; tf32; math = tf32: only the cuda backend has TF32 math",
            "--math; fp8; math = fp8: must be fp32 or tf32",
            "--algo; heuristic; algo = heuristic: only the cuda backend chooses among algorithms",  // cpu has one per problem
            "--algo; benchmark; algo = benchmark: only the cuda backend chooses among algorithms",  // explicit, even the default
            "--algo; fastest; algo = fastest: must be benchmark or heuristic",
            "--min-window-ms; -5; min-window-ms = -5.0"})
    void aBadValueIsRefusedInOneLineBeforeAnyTiming(String option, String value, String named, @TempDir Path dir) {
        Run r = bench("--backend", "cpu", "--problems", "a=mb1ic2ih6oc3kh3ph1bia0", "--csv", dir.resolve("b.csv").toString(),
                option, value);
        assertEquals(2, r.exit(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(named), r.err());
        assertTrue(r.out().isEmpty() && !r.err().contains("round "), "nothing timed: " + r.out() + r.err());
    }

    @Test
    void anUnwritableCsvIsRefusedBeforeAnyTiming(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        Run r = bench("--backend", "cpu", "--problems", "a=mb1ic2ih6oc3kh3ph1bia0", "--csv", file.resolve("b.csv").toString());
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("--csv"), r.err());
        assertTrue(r.out().isEmpty() && !r.err().contains("round "), "nothing timed: " + r.out() + r.err());
    }

    /** A JDK without font libraries fails in the chart's text: the table and the CSV stay, the chart is skipped in one line, exit 0. */
    @Test
    void aChartThatCannotBeDrawnIsSkippedWithAWarning(@TempDir Path dir) throws Exception {
        BenchCommand.ChartWriter before = BenchCommand.chartWriter;
        BenchCommand.chartWriter = (png, rows, w, h, title, peer) -> {
            throw new UnsatisfiedLinkError("/usr/lib/jvm/x/lib/libfontmanager.so: libharfbuzz.so.0: cannot open shared object file");
        };
        try {
            Path csv = dir.resolve("bench.csv");
            Run r = bench("--backend", "cpu", "--threads", "1", "--problems", "a=mb1ic2ih6oc3kh3ph1bia0", "--passes", "fwd",
                    "--warmup", "0", "--reps", "1", "--csv", csv.toString());
            assertEquals(0, r.exit(), r.out() + r.err());
            assertEquals(2, Files.readAllLines(csv).size(), "header and one row");
            assertTrue(r.out().contains("GFLOP/s"), "the table: " + r.out());
            assertTrue(!Files.exists(dir.resolve("bench.png")));
            List<String> warn = r.err().lines().filter(l -> l.contains("chart skipped")).toList();
            assertEquals(1, warn.size(), r.err());
            assertTrue(warn.get(0).contains("libharfbuzz.so.0"), warn.get(0));
        } finally {
            BenchCommand.chartWriter = before;
        }
    }

    /**
     * Batched timing with a million reps and a million warm-ups would run for hours; --max-case-seconds 0.3
     * stops each case's calls once 0.3 s are spent (the three batches share it), keeping what was timed.
     */
    @Test
    void batchedTimingKeepsToMaxCaseSeconds(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("b.csv");
        long t0 = System.nanoTime();
        Run r = bench("--backend", "cpu", "--threads", "1", "--problems", "a=mb1ic8ih32oc8kh3ph1bia0", "--passes", "fwd",
                "--timing", "batched", "--warmup", "100000", "--reps", "1000000", "--max-case-seconds", "0.3", "--csv", csv.toString());
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(seconds < 10, "took " + seconds + " s");
        int samples = Integer.parseInt(rows(csv).get(0)[11]);
        assertTrue(samples >= 1 && samples <= 3, "batches timed: " + samples);
    }

    @Test
    void thePeerScriptIsFoundWithoutThePeerScriptOption() {
        // no --peer-script: the script beside the classes (tools/peers) is used whatever the working directory;
        // /bin/false stands in for python, so the run fails after the command line is printed
        Run r = bench("--backend", "cpu", "--problems", "P4", "--passes", "fwd", "--warmup", "0", "--reps", "1",
                "--peer", "torch", "--python", "/bin/false");
        assertTrue(r.out().contains("peer: /bin/false ") && r.out().contains("torch_peer.py --device cpu"), r.out() + r.err());
    }

    /**
     * --dtype fp64 on the cpu backend: jconv's buffers are FP64, the table and the CSV say so, and the peer
     * is asked for fp64 and its fp64 rows (and only those) are set beside jconv's.
     */
    @Test
    void fp64RunsOnTheCpuBackendAndThePeerIsAskedForTheSamePrecision(@TempDir Path dir) throws Exception {
        Path fake = dir.resolve("fake_peer.sh");
        // prints one row in the mode it was asked for (the value after --dtype) at 5 ms, and a decoy fp32 row at 1 ms
        Files.writeString(fake, String.join("\n",
                "d=$(dirname \"$0\")",
                "echo \"$@\" >> \"$d/args\"",
                "mode=fp32; prev=; for a; do [ \"$prev\" = --dtype ] && mode=$a; prev=$a; done",
                "echo peer,device,mode,problem,pass,median_ms,gflops",
                "echo \"fake-1,cpu,$mode,P4,fwd,5.0,1.0\"",
                "echo \"fake-1,cpu,fp32,P4,fwd,1.0,1.0\"", ""));
        Path csv = dir.resolve("fp64.csv");
        Run r = bench("--backend", "cpu", "--threads", "1", "--problems", "P4", "--passes", "fwd", "--warmup", "1",
                "--reps", "2", "--min-window-ms", "20", "--dtype", "fp64", "--peer", "torch", "--python", "/bin/sh",
                "--peer-script", fake.toString(), "--csv", csv.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(Files.readAllLines(dir.resolve("args")).get(0).contains("--dtype fp64 --math fp32 --min-window-ms 20"),
                Files.readString(dir.resolve("args")));
        assertTrue(r.out().contains("precision: fp64"), r.out());
        String[] f = rows(csv).get(0);
        assertEquals("fp64", f[24]);
        assertTrue(Double.parseDouble(f[7]) > 0, "jconv_ms " + f[7]);
        assertEquals(5.0, Double.parseDouble(f[14]), "the fp64 row, not the fp32 decoy");
        assertTrue(f[23].isEmpty(), "no failure note: " + f[23]);
        // the round line reports the warm-up calls that ran before the timed ones
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("round 1 jconv P4 fwd: ") && l.contains("warm-up calls")), r.err());
    }

    @Test
    void fp64BuffersAreWhatTheCpuBackendRuns() {
        try (io.github.jconv.ConvEngine engine = BackendAccess.open("cpu", 1, "fp32");
             JconvRunner.Buffers b = new JconvRunner.Buffers(engine, BenchProblem.parseList("a=mb1ic2ih6oc3kh3ph1bia0").get(0).spec(),
                     true, 1, io.github.jconv.DType.FP64)) {
            assertEquals(io.github.jconv.DType.FP64, b.forward.get(io.github.jconv.Role.X).dtype());
            assertEquals(io.github.jconv.DType.FP64, b.forward.get(io.github.jconv.Role.Y).dtype());
            assertEquals(io.github.jconv.DType.FP64, b.backwardWeight.get(io.github.jconv.Role.DW).dtype());
        }
    }

    @Test
    void trainRefusesTheProblemPrecisionOptionsInsteadOfIgnoringThem() {
        Run r = bench("--train", "--backend", "cpu", "--dtype", "fp64");
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("dtype = fp64, math = fp32: --train has its own precision option"), r.err());
        assertTrue(r.out().isEmpty(), "nothing timed: " + r.out());
    }

    /** --algo reaches the peer as torch.backends.cudnn.benchmark on a CUDA device only, before --problems (which stays last). */
    @Test
    void theAlgorithmChoiceIsPassedToACudaPeerAsCudnnBenchmark() {
        Path script = Path.of("torch_peer.py");
        List<String> heuristic = new PeerRunner("python3", script, "cuda", 1, 1, 10, "fp32", "fp32", 200, "heuristic").command(List.of("P1"));
        assertEquals(List.of("--cudnn-benchmark", "0", "--problems", "P1"), heuristic.subList(heuristic.size() - 4, heuristic.size()));
        List<String> benchmark = new PeerRunner("python3", script, "cuda:1", 1, 1, 10, "fp32", "fp32", 200, "benchmark").command(List.of("P1"));
        assertEquals(List.of("--cudnn-benchmark", "1", "--problems", "P1"), benchmark.subList(benchmark.size() - 4, benchmark.size()));
        // the default of bench on cuda is benchmark, as PyTorch's peer ran before --algo existed
        assertEquals("benchmark", BenchCommand.algoMode(null));
        assertFalse(new PeerRunner("python3", script, "cpu", 1, 1, 10, "fp32", "fp32", 200, "benchmark").command(List.of("P1"))
                .contains("--cudnn-benchmark"));
    }

    /**
     * --deterministic reaches a CUDA peer as torch.backends.cudnn.deterministic, before --problems; without it the
     * peer keeps PyTorch's default; a CPU peer never gets it; bench refuses it on a backend without cuDNN.
     */
    @Test
    void theDeterminismIsPassedToACudaPeerAndRefusedOffCuda() {
        Path script = Path.of("torch_peer.py");
        List<String> on = new PeerRunner("python3", script, "cuda", 1, 1, 10, "fp32", "fp32", 200, "benchmark").deterministic(true)
                .command(List.of("P1"));
        assertEquals(List.of("--cudnn-benchmark", "1", "--cudnn-deterministic", "1", "--problems", "P1"), on.subList(on.size() - 6, on.size()));
        List<String> off = new PeerRunner("python3", script, "cuda", 1, 1, 10, "fp32", "fp32", 200, "benchmark").deterministic(false)
                .command(List.of("P1"));
        assertEquals(List.of("--cudnn-deterministic", "0", "--problems", "P1"), off.subList(off.size() - 4, off.size()));
        assertFalse(new PeerRunner("python3", script, "cuda", 1, 1, 10, "fp32", "fp32", 200, "benchmark").command(List.of("P1"))
                .contains("--cudnn-deterministic"));
        assertFalse(new PeerRunner("python3", script, "cpu", 1, 1, 10, "fp32", "fp32", 200, "benchmark").deterministic(true)
                .command(List.of("P1")).contains("--cudnn-deterministic"));
        assertEquals(Boolean.TRUE, BenchCommand.determinism("on"));
        assertEquals(Boolean.FALSE, BenchCommand.determinism("off"));
        assertNull(BenchCommand.determinism(null));
        assertTrue(BenchCommand.effectiveDeterminism(Boolean.TRUE));
        assertFalse(BenchCommand.effectiveDeterminism(Boolean.FALSE));
        Run bad = bench("--backend", "cpu", "--deterministic", "maybe", "--problems", "P3");
        assertEquals(2, bad.exit(), bad.out() + bad.err());
        assertTrue(bad.err().contains("deterministic = maybe: must be on or off"), bad.err());
        Run cpu = bench("--backend", "cpu", "--deterministic", "off", "--problems", "P3");
        assertEquals(2, cpu.exit(), cpu.out() + cpu.err());
        assertTrue(cpu.err().contains("only the cuda backend has a non-deterministic mode"), cpu.err());
    }

    /** The session's jconv.cuda.algo is set only while the engine opens: nothing else in the JVM sees bench's value. */
    @Test
    void theAlgoPropertyIsPutBackAfterTheEngineOpens() {
        String before = System.getProperty(BackendAccess.CUDA_ALGO_PROPERTY);
        System.setProperty(BackendAccess.CUDA_ALGO_PROPERTY, "heuristic");
        try (var engine = BackendAccess.open("cpu", 1, "fp32", "benchmark")) {
            assertEquals("cpu", engine.backendName());
            assertEquals("heuristic", System.getProperty(BackendAccess.CUDA_ALGO_PROPERTY));
        } finally {
            if (before == null) System.clearProperty(BackendAccess.CUDA_ALGO_PROPERTY);
            else System.setProperty(BackendAccess.CUDA_ALGO_PROPERTY, before);
        }
    }
}
