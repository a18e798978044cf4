package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.tools.Main;
import io.github.jconv.tools.OutputFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The benchmark of docs/bench-problems.md on any backend, optionally side by side with PyTorch: the two sides
 * alternate round by round and each case's medians are compared.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Times the benchmark problems P1-P8 and D1 (docs/bench-problems.md), forward and forward+backward, in --dtype/--math "
                + "(default FP32): warm-up until the time per call is steady, then at least --min-window-ms of calls; GFLOP/s by that page's convention (forward+backward = 3x forward). "
                + "With --peer torch, PyTorch runs the same problems in the same invocation, alternating with jconv for --rounds rounds, "
                + "and the table shows jconv/PyTorch throughput ratios. --csv writes the table, with a PNG bar chart beside it.")
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--backend", paramLabel = "NAME", description = "cpu, opencl or cuda (default: the best available, or jconv.backend / JCONV_BACKEND).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "CPU backend threads (default: the backend's own, available processors).")
    Integer threads;

    @Option(names = "--problems", paramLabel = "LIST", description = "Standard names and/or problem lines, comma separated; NAME=LINE names a line "
            + "(default, unless --batch is given: P1,P2,P3,P4,P5,P6,P7,P8,D1, the conformance kit's catalogue 'benchmark').")
    String problems;

    @Option(names = "--batch", paramLabel = "FILE", description = "Problem lines from FILE, one per line with an optional name after it (the conformance "
            + "catalogue's format, # comments), or a catalogue of the conformance kit by name (corners, resnet50, mobilenet, unet3d, gan, deformable, "
            + "bench, benchmark); repeatable; added after --problems.")
    List<String> batch = new ArrayList<>();

    @Option(names = "--match", paramLabel = "REGEX", description = "Keep only the problems whose name or problem line this regular expression finds, e.g. 'P[1-4]' or dg1.")
    String match;

    @Option(names = "--mb", paramLabel = "N", description = "Run every problem at batch N instead of its own (the PyTorch peer then skips the standard ones, which it knows at their own batch).")
    Integer mb;

    @Option(names = "--passes", paramLabel = "LIST", description = "fwd, fwd+bwd or both (default: ${DEFAULT-VALUE}).", defaultValue = "fwd,fwd+bwd")
    String passes;

    @Option(names = "--warmup", paramLabel = "N", description = "Fewest warm-up calls before timing forward (forward+backward gets one fewer); warm-up then goes on in batches "
            + "until the median of the last 3 batch times is within 5 %% of the 3 before and the JIT compiled nothing during them, at most 400 batches or 10 s (default: ${DEFAULT-VALUE}).",
            defaultValue = "3")
    int warmup;

    @Option(names = "--reps", paramLabel = "N", description = "Fewest timed calls for forward; forward+backward gets max(3, N/3), as the peer script does; more are timed "
            + "to fill --min-window-ms (default: ${DEFAULT-VALUE}).", defaultValue = "10")
    int reps;

    @Option(names = "--rounds", paramLabel = "N", description = "Rounds of both sides; each case reports the median of its round medians (default: ${DEFAULT-VALUE}).", defaultValue = "1")
    int rounds;

    @Option(names = "--alternate", paramLabel = "UNIT", description = "How the sides alternate within a round: problem (jconv P1, peer P1, jconv P2, ...: both sides of a problem "
                    + "are timed close together, under the same load) or round (all of jconv, then the peer) (default: ${DEFAULT-VALUE}).",
            defaultValue = "problem")
    String alternate;

    @Option(names = "--quiet-cores", paramLabel = "X", description = "Before each side of each problem, wait until other processes use at most X cores "
            + "(measured over half a second), for up to --quiet-wait seconds; off by default.")
    Double quietCores;

    @Option(names = "--quiet-wait", paramLabel = "S", description = "Longest wait for --quiet-cores before timing anyway (default: ${DEFAULT-VALUE}).",
            defaultValue = "20")
    double quietWait;

    @Option(names = "--max-case-seconds", paramLabel = "S", description = "Stop repeating one case after this long, keeping what was timed (default: ${DEFAULT-VALUE}).", defaultValue = "30")
    double maxCaseSeconds;

    @Option(names = "--timing", paramLabel = "MODE", description = "single (median of single calls) or batched (R calls between two syncs / R); default: single on cpu, batched elsewhere.")
    String timing;

    @Option(names = "--min-window-ms", paramLabel = "MS", description = "Each round times at least this many milliseconds of calls "
            + "(or --reps calls, whichever is more), within --max-case-seconds (default: ${DEFAULT-VALUE}).", defaultValue = "200")
    double minWindowMs;

    @Option(names = "--dtype", paramLabel = "T", description = "Buffer dtype of both sides: fp32, fp64, fp16 or bf16; cpu: fp32, fp64; "
            + "opencl: fp32, fp64, fp16; cuda: all four (default: ${DEFAULT-VALUE}).", defaultValue = "fp32")
    String dtype;

    @Option(names = "--math", paramLabel = "M", description = "Math of FP32 convolutions on both sides: fp32 (exact) or tf32 "
            + "(cuda only; sets jconv.cuda.math and PyTorch's allow_tf32) (default: ${DEFAULT-VALUE}).", defaultValue = "fp32")
    String math;

    @Option(names = "--algo", paramLabel = "A", description = "cuDNN algorithm choice on both sides (cuda only): benchmark "
            + "(time the candidates once per problem; sets jconv.cuda.algo=benchmark and torch.backends.cudnn.benchmark=True) or "
            + "heuristic (cuDNN's heuristics; jconv.cuda.algo=heuristic, cudnn.benchmark=False) (default: benchmark on cuda).")
    String algo;

    @Option(names = "--deterministic", paramLabel = "D", description = "cuDNN determinism on both sides (cuda only): on (only "
            + "algorithms that repeat bit for bit; jconv's default, torch.backends.cudnn.deterministic=True) or off (any algorithm, "
            + "PyTorch's default) (default: jconv.cuda.deterministic / JCONV_CUDA_DETERMINISTIC, else on).")
    String deterministic;

    @Option(names = "--cuda-api", paramLabel = "API", description = "cuDNN interface of jconv's cuda backend: legacy (cudnnConvolution* calls) "
            + "or graph (the backend API's engines; sets jconv.cuda.api); the peer is unaffected (default: jconv.cuda.api / JCONV_CUDA_API, else graph).")
    String cudaApi;

    @Option(names = "--csv", paramLabel = "FILE", description = "Write the table as CSV here, and a PNG chart beside it.")
    Path csv;

    @Option(names = "--chart", paramLabel = "FILE", description = "PNG chart path (default: the CSV path with .png).")
    Path chart;

    @Option(names = "--chart-size", paramLabel = "WxH", description = "Chart size in pixels (default: ${DEFAULT-VALUE}).", defaultValue = "1100x560")
    String chartSize;

    @Option(names = "--peer", paramLabel = "NAME", description = "none or torch (default: ${DEFAULT-VALUE}).", defaultValue = "none")
    String peer;

    @Option(names = "--peer-script", paramLabel = "FILE", description = "The peer script (default: tools/peers/torch_peer.py beside the jar,"
            + " else the copy packed in the jar).")
    Path peerScript;

    @Option(names = "--python", paramLabel = "EXE", description = "Interpreter for the peer script (default: ${DEFAULT-VALUE} on the PATH;"
            + " Debian's python3-torch is /usr/bin/python3).", defaultValue = "python3")
    String python;

    @Option(names = "--peer-device", paramLabel = "DEV", description = "Peer device, cpu or cuda (default: cpu for the cpu backend, else cuda).")
    String peerDevice;

    @Option(names = "--peer-threads", paramLabel = "N", description = "Peer threads (default: --threads, else available processors).")
    Integer peerThreads;

    @Option(names = "--peer-timeout", paramLabel = "S", description = "Seconds one peer run may take (default: ${DEFAULT-VALUE}).", defaultValue = "1800")
    long peerTimeout;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the random inputs (default: ${DEFAULT-VALUE}).", defaultValue = "42")
    long seed;

    @Option(names = "--train", description = "Time T1, a whole training step (docs/bench-problems.md), instead of the problems; --warmup and --reps count steps.")
    boolean train;

    @Option(names = "--train-batch", paramLabel = "N", description = "T1's batch (default: ${DEFAULT-VALUE}).", defaultValue = "32")
    int trainBatch;

    @Option(names = "--train-dtype", paramLabel = "T", description = "T1's dtype, fp32 or bf16 (default: ${DEFAULT-VALUE}).", defaultValue = "fp32")
    String trainDtype;

    private final PrintStream out;
    private final PrintStream err;

    /** Writes the PNG chart; a seam so that tests can make it fail as a machine without font libraries does. */
    interface ChartWriter {
        void write(Path png, List<BenchResults.Row> rows, int width, int height, String title, String peerName) throws IOException;
    }

    static ChartWriter chartWriter = BenchChart::write;

    static final int MAX_CHART_SIDE = 8000;

    public BenchCommand() {
        this(System.out, System.err);
    }

    /** Runs bench alone, without the tools launcher (e.g. with {@code java -cp} on a dependency classpath). */
    public static void main(String[] args) {
        System.exit(new picocli.CommandLine(new BenchCommand()).execute(args));
    }

    BenchCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        try {
            return run();
        } catch (IllegalArgumentException | IllegalStateException e) { // bad options or no such backend: say why, no stack
            err.println("bench: " + Main.oneLine(e.getMessage()));
            return 2;
        }
    }

    private int run() throws Exception {
        if (train && !(dtype.strip().equalsIgnoreCase("fp32") && math.strip().equalsIgnoreCase("fp32"))) {
            throw new IllegalArgumentException("dtype = " + dtype + ", math = " + math + ": --train has its own precision option;"
                    + " use --train-dtype, e.g. --train --train-dtype bf16");
        }
        if (train && (problems != null || !batch.isEmpty() || match != null || mb != null)) {
            throw new IllegalArgumentException("--problems, --batch, --match and --mb choose the problems; --train times T1 instead"
                    + " (its batch: --train-batch); drop them, e.g. --train --train-batch 8");
        }
        if (train) return TrainBench.run(out, backend, threads, trainBatch, trainDtype, warmup, reps, seed, !peer.strip().equalsIgnoreCase("none"),
                python, peerScript, peerDevice, peerThreads, peerTimeout);
        List<BenchProblem> list = ProblemSelection.select(problems, batch, match, mb);
        List<BenchPass> passList = parsePasses(passes);
        if (rounds < 1 || rounds > 1000) throw new IllegalArgumentException("rounds = " + rounds + ": must be 1 to 1000; e.g. --rounds 3");
        if (warmup < 0 || warmup > 100_000) throw new IllegalArgumentException("warmup = " + warmup + ": must be 0 to 100000; e.g. --warmup 3");
        if (reps < 1 || reps > 1_000_000) throw new IllegalArgumentException("reps = " + reps + ": must be 1 to 1000000; e.g. --reps 10");
        if (threads != null && (threads < 1 || threads > 4096)) {
            throw new IllegalArgumentException("threads = " + threads + ": must be 1 to 4096; e.g. --threads 2");
        }
        if (peerThreads != null && (peerThreads < 1 || peerThreads > 4096)) {
            throw new IllegalArgumentException("peer-threads = " + peerThreads + ": must be 1 to 4096; e.g. --peer-threads 2");
        }
        if (quietCores != null && !(quietCores >= 0 && quietCores <= 4096)) {
            throw new IllegalArgumentException("quiet-cores = " + quietCores + ": must be a number of cores from 0 to 4096; e.g. --quiet-cores 0.5");
        }
        if (!(quietWait >= 0 && quietWait <= 86_400)) {
            throw new IllegalArgumentException("quiet-wait = " + quietWait + ": must be 0 to 86400 seconds; e.g. --quiet-wait 20");
        }
        if (!(maxCaseSeconds > 0 && maxCaseSeconds <= 86_400)) {
            throw new IllegalArgumentException("max-case-seconds = " + maxCaseSeconds + ": must be above 0 and at most 86400; e.g. --max-case-seconds 30");
        }
        if (peerTimeout < 1 || peerTimeout > 86_400) {
            throw new IllegalArgumentException("peer-timeout = " + peerTimeout + ": must be 1 to 86400 seconds; e.g. --peer-timeout 1800");
        }
        if (peerDevice != null && !peerDevice.strip().matches("cpu|cuda(:\\d+)?")) {
            throw new IllegalArgumentException("peer-device = " + peerDevice + ": must be cpu or cuda; e.g. --peer-device cpu");
        }
        if (!(minWindowMs >= 0 && minWindowMs <= 600_000)) {
            throw new IllegalArgumentException("min-window-ms = " + minWindowMs + ": must be 0 to 600000 milliseconds; e.g. --min-window-ms 200");
        }
        Precision precision = Precision.parse(dtype, math);
        if (backend != null && !backend.isBlank()) precision.checkBackend(backend.strip().toLowerCase(Locale.ROOT));
        String algoMode = algoMode(algo);
        if (backend != null && !backend.isBlank()) checkAlgo(algo, backend.strip().toLowerCase(Locale.ROOT));
        String api = cudaApi(cudaApi);
        if (backend != null && !backend.isBlank()) checkCudaApi(cudaApi, backend.strip().toLowerCase(Locale.ROOT));
        int[] size = parseSize(chartSize);
        if (timing != null) timingMode(timing, "cpu");
        if (csv != null) {
            OutputFiles.checkWritable("--csv", csv, "bench.csv");
            OutputFiles.checkWritable("--chart", chart != null ? chart : chartPathFor(csv), "bench.png");
        } else if (chart != null) {
            throw new IllegalArgumentException("chart = " + chart + ": the chart is drawn with the CSV; add --csv, e.g. --csv bench.csv --chart " + chart);
        }
        boolean perProblem = alternation(alternate);
        boolean withPeer = switch (peer.strip().toLowerCase(Locale.ROOT)) {
            case "none", "" -> false;
            case "torch", "pytorch" -> true;
            default -> throw new IllegalArgumentException("peer = " + peer + ": must be none or torch; e.g. --peer torch");
        };
        Boolean det = determinism(deterministic);
        if (det != null && backend != null && !backend.isBlank() && !backend.strip().equalsIgnoreCase("cuda")) {
            throw new IllegalArgumentException("deterministic = " + deterministic + ": only the cuda backend has a non-deterministic mode; "
                    + "leave --deterministic out, e.g. --backend " + backend.strip());
        }
        try (ConvEngine engine = BackendAccess.open(backend, threads, precision.math(), algoMode, det, api)) {
            String backendName = engine.backendName();
            precision.checkBackend(backendName);
            checkAlgo(algo, backendName);
            checkCudaApi(cudaApi, backendName);
            JconvRunner.Timing mode = timingMode(timing, backendName);
            String threadText = BackendAccess.threadsText(engine, threads);
            out.println("jconv bench: " + engine.selectionReport());
            out.println("JVM: " + System.getProperty("java.vm.name") + " " + Runtime.version() + "; Vector API module "
                    + (BackendAccess.vectorApiPresent() ? "present (jdk.incubator.vector)" : "absent")
                    + "; threads: " + threadText + "; available processors: " + Runtime.getRuntime().availableProcessors());
            out.println("date: " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "; timing: " + mode.name().toLowerCase(Locale.ROOT)
                    + ", warm-up " + warmup + ", reps " + reps + " (fwd+bwd " + JconvRunner.repsFor(BenchPass.FWD_BWD, reps)
                    + "), rounds " + rounds + ", at least " + fmt(minWindowMs) + " ms timed per round after a steady warm-up"
                    + "; precision: " + precision.label()
                    + (backendName.equals("cuda") ? "; algorithm choice: " + algoMode + " (both sides); deterministic: "
                    + (effectiveDeterminism(det) ? "on" : "off") + " (both sides)"
                    + "; cuDNN API: " + effectiveCudaApi(api) + " (jconv only)" : ""));
            // The CPU's register-only multiply-add peak, the ceiling each problem's rate is put against (issue 17).
            java.util.OptionalDouble fmaPeak = java.util.OptionalDouble.empty();
            if (backendName.equals("cpu")) {
                int peakThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
                fmaPeak = io.github.jconv.cpu.FmaPeak.gflops(peakThreads, 300);
                out.println(fmaPeak.isPresent()
                        ? String.format(Locale.ROOT, "FMA peak: %.1f GFLOP/s (%d threads of register-only Vector API fma chains over their CPU time, %s)",
                                fmaPeak.getAsDouble(), peakThreads, io.github.jconv.cpu.FmaPeak.shape())
                        : "FMA peak: not measured (it needs the Vector API: java --add-modules jdk.incubator.vector)");
            }

            PeerRunner peerRunner = null;
            List<String> peerNames = new ArrayList<>();
            if (withPeer) {
                String dev = peerDevice != null ? peerDevice : backendName.equals("cpu") ? "cpu" : "cuda";
                int pt = peerThreads != null ? peerThreads : threads != null ? threads : Runtime.getRuntime().availableProcessors();
                peerRunner = new PeerRunner(python, peerScript != null ? peerScript : PeerScript.locate(), dev, pt, reps, peerTimeout,
                        precision.dtypeName(), precision.math(), minWindowMs, algoMode);
                if (backendName.equals("cuda")) peerRunner.deterministic(effectiveDeterminism(det));
                peerRunner.checkScript();
                for (BenchProblem p : list) if (p.isStandard()) peerNames.add(p.name());
                out.println("peer: " + String.join(" ", peerRunner.command(peerNames))
                        + (perProblem ? " (one problem per run, alternating with jconv problem by problem)" : " (after each jconv round)"));
            }

            BenchResults results = new BenchResults(list, passList, precision.label());
            JconvRunner runner = new JconvRunner(engine, warmup, reps, maxCaseSeconds, mode, BackendAccess.scratchMeter(engine),
                    minWindowMs, precision.dtype());
            boolean peerOk = peerRunner == null || peerNames.isEmpty();
            List<Double> loads = new ArrayList<>();
            int cpus = Runtime.getRuntime().availableProcessors();
            for (int round = 1; round <= rounds; round++) {
                loads.add(loadAverage());
                err.printf(Locale.ROOT, "round %d starts, load average %.2f%n", round, loads.get(loads.size() - 1));
                for (BenchProblem p : list) {
                    waitForQuiet(cpus);
                    MachineLoad.Snapshot before = MachineLoad.now();
                    JconvRunner.ProblemRound r = runner.run(p, passList, seed + p.name().hashCode());
                    results.addLoad(p.name(), false, MachineLoad.otherCores(before, MachineLoad.now(), cpus));
                    results.addJconv(p, r);
                    for (BenchPass pass : passList) {
                        JconvRunner.RoundTiming t = r.timings().get(pass);
                        err.printf(Locale.ROOT, "round %d jconv %s %s: %s%n", round, p.name(), pass.label(),
                                t != null ? String.format(Locale.ROOT, "%.3f ms (min %.3f, %d calls after %d warm-up calls%s)", t.medianMs(), t.minMs(), t.samples(),
                                t.warmupCalls(), t.steady() ? "" : ", not steady")
                                        : r.failures().get(pass));
                    }
                    if (perProblem && peerRunner != null && p.isStandard()) {
                        waitForQuiet(cpus);
                        MachineLoad.Snapshot peerBefore = MachineLoad.now();
                        peerOk |= runPeer(peerRunner, List.of(p.name()), round, results);
                        results.addLoad(p.name(), true, MachineLoad.otherCores(peerBefore, MachineLoad.now(), cpus));
                    }
                }
                if (!perProblem && peerRunner != null && !peerNames.isEmpty()) {
                    waitForQuiet(cpus);
                    MachineLoad.Snapshot peerBefore = MachineLoad.now();
                    peerOk |= runPeer(peerRunner, peerNames, round, results);
                    double others = MachineLoad.otherCores(peerBefore, MachineLoad.now(), cpus);
                    for (String n : peerNames) results.addLoad(n, true, others);
                }
            }

            List<BenchResults.Row> rows = results.rows();
            out.println();
            out.println("precision: " + precision.label() + " (both sides)");
            out.print(BenchResults.table(rows, withPeer));
            if (fmaPeak.isPresent()) {
                double peak = fmaPeak.getAsDouble();
                out.println("jconv GFLOP/s as % of the FMA peak: " + String.join(", ", rows.stream()
                        .filter(r -> r.jconvGflops() > 0)
                        .map(r -> String.format(Locale.ROOT, "%s %s %.0f%%", r.problem(), r.pass().label(), 100 * r.jconvGflops() / peak))
                        .toList()));
            }
            loads.add(loadAverage());
            out.println("others: cores kept busy by other processes while jconv / the peer ran (mean over rounds; "
                    + cpus + " processors in all)");
            out.println("load average (1 min, this benchmark's own threads included) at each round's start and at the end: "
                    + loads.stream().map(v -> String.format(Locale.ROOT, "%.2f", v)).toList());
            if (csv != null) {
                BenchResults.writeCsv(csv, rows, backendName, threadText, rounds, precision.label());
                Path png = chart != null ? chart : chartPathFor(csv);
                String peerLabel = rows.stream().map(BenchResults.Row::peer).filter(s -> !s.isEmpty()).findFirst().orElse("");
                try {
                    chartWriter.write(png, rows, size[0], size[1],
                            "jconv " + backendName + (peerLabel.isEmpty() ? "" : " vs " + peerLabel) + ", GFLOP/s, " + threadText
                                    + " threads, " + precision.label() + ", median of " + rounds + " round(s)", peerLabel);
                    out.println("wrote " + csv + " and " + png);
                } catch (LinkageError | java.awt.AWTError e) {
                    // a JDK without its font libraries (e.g. no libharfbuzz.so.0) cannot draw text: keep the table and the CSV
                    out.println("wrote " + csv);
                    err.println("bench: chart skipped, this JVM cannot draw text (" + e.getClass().getSimpleName() + ": "
                            + Main.oneLine(String.valueOf(e.getMessage())) + "); the table and the CSV are complete");
                }
            }
            boolean allRan = rows.stream().noneMatch(r -> Double.isNaN(r.jconvMs()));
            return allRan && peerOk ? 0 : 1;
        }
    }

    /** One peer run; false when it failed or timed nothing (the failure is noted in the results). */
    private boolean runPeer(PeerRunner peerRunner, List<String> names, int round, BenchResults results)
            throws InterruptedException {
        try {
            List<PeerCsv.Row> rows = peerRunner.run(names);
            results.addPeer(rows);
            for (PeerCsv.Row row : rows) {
                err.printf(Locale.ROOT, "round %d %s %s %s: %.3f ms%n", round, row.peer(), row.problem(),
                        row.pass().label(), row.medianMs());
            }
            return !rows.isEmpty();
        } catch (IOException e) {
            err.println("round " + round + " peer failed: " + e.getMessage());
            results.notePeerFailure("peer failed: " + e.getMessage());
            return false;
        }
    }

    /** With --quiet-cores, waits until other processes leave the machine (nearly) free, or the wait runs out. */
    private void waitForQuiet(int cpus) throws InterruptedException {
        if (quietCores == null) return;
        long deadline = System.nanoTime() + (long) (quietWait * 1e9);
        double others;
        do {
            MachineLoad.Snapshot a = MachineLoad.now();
            Thread.sleep(500);
            others = MachineLoad.otherCores(a, MachineLoad.now(), cpus);
            if (Double.isNaN(others) || others <= quietCores) return;
        } while (System.nanoTime() < deadline);
        err.printf(Locale.ROOT, "machine still busy after %.0f s (other processes: %.2f cores); timing anyway%n", quietWait, others);
    }

    /** True when the sides alternate problem by problem, false when round by round. */
    static boolean alternation(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "problem" -> true;
            case "round" -> false;
            default -> throw new IllegalArgumentException("alternate = " + text + ": must be problem or round; e.g. --alternate problem");
        };
    }

    /** The system's 1-minute load average, or -1 where the platform has none: how busy the machine was. */
    static double loadAverage() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static Path chartPathFor(Path csv) {
        String name = csv.getFileName().toString();
        String base = name.toLowerCase(Locale.ROOT).endsWith(".csv") ? name.substring(0, name.length() - 4) : name;
        return csv.resolveSibling(base + ".png");
    }

    static List<BenchPass> parsePasses(String text) {
        List<BenchPass> out = new ArrayList<>();
        for (String s : text.split(",")) {
            BenchPass p = BenchPass.fromLabel(s);
            if (!out.contains(p)) out.add(p);
        }
        return out;
    }

    static int[] parseSize(String text) {
        String[] f = text.toLowerCase(Locale.ROOT).split("x");
        try {
            if (f.length == 2) {
                int w = Integer.parseInt(f[0].strip()), h = Integer.parseInt(f[1].strip());
                if (w >= 200 && h >= 150 && w <= MAX_CHART_SIDE && h <= MAX_CHART_SIDE) return new int[] {w, h};
            }
        } catch (NumberFormatException e) {
            // falls through to the message below
        }
        throw new IllegalArgumentException("chart-size = " + text + ": must be WIDTHxHEIGHT in pixels, from 200x150 to "
                + MAX_CHART_SIDE + "x" + MAX_CHART_SIDE + "; e.g. 1100x560");
    }

    static JconvRunner.Timing timingMode(String text, String backendName) {
        if (text == null) return backendName.equals("cpu") ? JconvRunner.Timing.SINGLE : JconvRunner.Timing.BATCHED;
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "single" -> JconvRunner.Timing.SINGLE;
            case "batched" -> JconvRunner.Timing.BATCHED;
            default -> throw new IllegalArgumentException("timing = " + text + ": must be single or batched; e.g. --timing single");
        };
    }

    /** Options for an explicit backend: no silent fallback, the user asked for this one, unless jconv.fallback says otherwise. */
    static EngineOptions engineOptions(String backend) {
        return io.github.jconv.tools.Backends.options(backend);
    }

    /** benchmark (the default) or heuristic: how cuDNN's algorithms are chosen on both sides. */
    static String algoMode(String algoText) {
        if (algoText == null) return "benchmark";
        String a = algoText.strip().toLowerCase(Locale.ROOT);
        if (!a.equals("benchmark") && !a.equals("heuristic")) {
            throw new IllegalArgumentException("algo = " + algoText + ": must be benchmark or heuristic; e.g. --algo benchmark");
        }
        return a;
    }

    /** --deterministic on|off, or null when not given. */
    static Boolean determinism(String text) {
        if (text == null) return null;
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "on", "true", "1" -> Boolean.TRUE;
            case "off", "false", "0" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("deterministic = " + text + ": must be on or off; e.g. --deterministic on");
        };
    }

    /** What the cuda session runs with: the option, else jconv.cuda.deterministic / JCONV_CUDA_DETERMINISTIC, else on. */
    static boolean effectiveDeterminism(Boolean det) {
        if (det != null) return det;
        String v = System.getProperty(BackendAccess.CUDA_DETERMINISTIC_PROPERTY);
        if (v == null) v = System.getenv("JCONV_CUDA_DETERMINISTIC");
        return v == null || !v.strip().equalsIgnoreCase("false");
    }

    /** --algo chooses among cuDNN's algorithms: given explicitly, it is refused on backends without cuDNN. */
    static void checkAlgo(String algoText, String backendName) {
        if (algoText != null && !backendName.equals("cuda")) {
            throw new IllegalArgumentException("algo = " + algoText.strip() + ": only the cuda backend chooses among algorithms; the "
                    + backendName + " backend has one per problem; leave --algo out, e.g. --backend " + backendName + " --dtype fp32");
        }
    }

    /** The CUDA backend's cuDNN-interface property (legacy or graph), read when a session opens. */
    static final String CUDA_API_PROPERTY = "jconv.cuda.api";

    /** --cuda-api: legacy or graph, or null when not given (then jconv.cuda.api / JCONV_CUDA_API or legacy applies). */
    static String cudaApi(String text) {
        if (text == null) return null;
        String a = text.strip().toLowerCase(Locale.ROOT);
        if (!a.equals("legacy") && !a.equals("graph")) {
            throw new IllegalArgumentException("cuda-api = " + text + ": must be legacy or graph; e.g. --cuda-api graph");
        }
        return a;
    }

    /** --cuda-api chooses a cuDNN interface: given explicitly, it is refused on backends without cuDNN. */
    static void checkCudaApi(String text, String backendName) {
        if (text != null && !backendName.equals("cuda")) {
            throw new IllegalArgumentException("cuda-api = " + text.strip() + ": only the cuda backend runs cuDNN; leave --cuda-api out, "
                    + "e.g. --backend " + backendName);
        }
    }

    /** What the session reads: --cuda-api, else the property, else the environment, else graph (the cuda backend's default). */
    static String effectiveCudaApi(String api) {
        if (api != null) return api;
        String p = System.getProperty(CUDA_API_PROPERTY);
        if (p == null || p.isBlank()) p = System.getenv("JCONV_CUDA_API");
        return p == null || p.isBlank() ? "graph" : p.strip().toLowerCase(Locale.ROOT);
    }
}
