package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.DType;
import io.github.jconv.spi.MemoryStats;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code jconv bench --train}: T1 (see {@link TrainStack}) timed step by step after warm-up, with the
 * caching allocator's statistics (device allocations after the second step must be 0; the peak
 * reserved bytes are the device high-water mark), beside the same stack in PyTorch
 * ({@code tools/peers/torch_train.py}) when a peer is asked for.
 */
final class TrainBench {
    static final String SCRIPT = "torch_train.py";

    /** What one jconv run measured. */
    record Result(int batch, DType dtype, double[] stepMs, MemoryStats afterSecondStep, MemoryStats atEnd) {
        double medianMs() {
            double[] s = stepMs.clone();
            Arrays.sort(s);
            return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        }

        /** Device allocations after the second step: the target is 0. */
        long allocationsAfterSecondStep() {
            return atEnd.deviceAllocations() - afterSecondStep.deviceAllocations();
        }
    }

    /** The peer's CSV row. */
    record PeerResult(String device, double medianMs, double minMs, double maxMs, long peakBytes, String peakKind) {
    }

    private TrainBench() {
    }

    /** Runs T1 on {@code engine}: {@code warmup} (at least 2) untimed steps, then {@code reps} timed ones. */
    static Result runJconv(ConvEngine engine, int batch, DType dtype, int warmup, int reps, long seed) {
        if (batch < 1) throw new IllegalArgumentException("train-batch = " + batch + ": must be >= 1; e.g. --train-batch 32");
        if (warmup < 2) throw new IllegalArgumentException("warmup = " + warmup + ": --train needs at least 2 warm-up steps (allocations are counted after the second); e.g. --warmup 2");
        if (reps < 1) throw new IllegalArgumentException("reps = " + reps + ": must be >= 1; e.g. --reps 5");
        for (io.github.jconv.ConvSpec spec : TrainStack.specs(batch)) { // refuse before allocating anything
            for (io.github.jconv.Pass pass : io.github.jconv.Pass.values()) {
                if (pass == io.github.jconv.Pass.BACKWARD_OFFSET_MASK && spec.type() != io.github.jconv.ConvType.DEFORMABLE) continue;
                io.github.jconv.spi.Support s = engine.backend().supports(spec, pass, dtype);
                if (!s.supported()) {
                    throw new IllegalArgumentException("train-dtype = " + dtype + ": backend " + engine.backendName() + " cannot run " + pass
                            + " of T1's layer " + spec + " (" + s.reason() + "); e.g. --train-dtype fp32");
                }
            }
        }
        try (TrainStack t = new TrainStack(engine, batch, dtype, seed)) {
            MemoryStats second = null;
            for (int i = 0; i < warmup; i++) {
                t.step();
                if (i == 1) second = engine.memoryStats();
            }
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                t.step();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return new Result(batch, dtype, ms, second, engine.memoryStats());
        }
    }

    /** The whole command: jconv, then the peer if asked, then the comparison. Returns the exit code. */
    static int run(PrintStream out, String backend, Integer threads, int batch, String dtypeName, int warmup, int reps, long seed,
                   boolean withPeer, String python, Path script, String peerDevice, Integer peerThreads, long peerTimeout) throws Exception {
        DType dtype = switch (dtypeName.strip().toLowerCase(Locale.ROOT)) {
            case "fp32" -> DType.FP32;
            case "bf16" -> DType.BF16;
            default -> throw new IllegalArgumentException("train-dtype = " + dtypeName + ": must be fp32 or bf16; e.g. --train-dtype fp32");
        };
        try (ConvEngine engine = BackendAccess.open(backend, threads)) {
            out.println("T1 training step (docs/bench-problems.md): batch " + batch + ", " + dtype + ", backend " + engine.backendName()
                    + " on " + engine.device().name() + ", threads " + BackendAccess.threadsText(engine, threads)
                    + "; warm-up " + warmup + " steps, timed " + reps);
            Result r = runJconv(engine, batch, dtype, warmup, reps, seed);
            out.printf(Locale.ROOT, "jconv: median %.1f ms per step (min %.1f, max %.1f)%n", r.medianMs(),
                    Arrays.stream(r.stepMs()).min().orElse(0), Arrays.stream(r.stepMs()).max().orElse(0));
            out.println("jconv memory: peak reserved " + r.atEnd().peakReservedBytes() + " B (device high-water mark), peak allocated "
                    + r.atEnd().peakAllocatedBytes() + " B; device allocations " + r.afterSecondStep().deviceAllocations()
                    + " by the end of step 2, " + r.allocationsAfterSecondStep() + " after it (target 0); cache hits "
                    + r.atEnd().cacheHits());
            if (!withPeer) return 0;
            int pt = peerThreads != null ? peerThreads : threads != null ? threads : Runtime.getRuntime().availableProcessors();
            String dev = peerDevice != null ? peerDevice : engine.backendName().equals("cpu") ? "cpu" : "cuda";
            List<String> cmd = List.of(python, (script != null ? script : locateScript()).toString(), "--device", dev,
                    "--threads", Integer.toString(pt), "--batch", Integer.toString(batch), "--dtype", dtypeName.strip().toLowerCase(Locale.ROOT),
                    "--warmup", Integer.toString(warmup), "--reps", Integer.toString(reps), "--seed", Long.toString(seed));
            out.println("peer: " + String.join(" ", cmd));
            PeerResult p = parse(runPeer(cmd, peerTimeout));
            out.printf(Locale.ROOT, "torch: median %.1f ms per step (min %.1f, max %.1f); peak memory %d B (%s)%n", p.medianMs(), p.minMs(),
                    p.maxMs(), p.peakBytes(), p.peakKind());
            out.printf(Locale.ROOT, "jconv / torch: step time %.2fx (target <= 1.0 on a GPU), memory high-water %.2fx (target <= 1.2 on a GPU%s)%n",
                    r.medianMs() / p.medianMs(), p.peakBytes() > 0 ? (double) r.atEnd().peakReservedBytes() / p.peakBytes() : Double.NaN,
                    p.peakKind().startsWith("cpu") ? "; on the CPU the peer's figure is its resident-set growth, not a like measure" : "");
            return 0;
        }
    }

    static PeerResult parse(String csv) {
        for (String line : csv.split("\\R")) {
            String[] f = line.strip().split(",");
            if (f.length == 10 && f[0].equals("torch") && f[2].equals("T1")) {
                return new PeerResult(f[1], Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]),
                        Long.parseLong(f[8]), f[9]);
            }
        }
        throw new IllegalStateException("the peer printed no T1 row (peer,device,problem,batch,dtype,median_ms,min_ms,max_ms,peak_bytes,peak_kind); "
                + "its stdout: " + csv.strip());
    }

    private static String runPeer(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + cmd.get(0) + " (" + e.getMessage() + "); pass --python with a Python 3 that has "
                    + "PyTorch and torchvision, e.g. --python /usr/bin/python3", e);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(buf);
            } catch (IOException ignored) { // the process ended
            }
        }, "train-peer-stdout");
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("peer ran past " + timeoutSeconds + " s and was stopped; raise --peer-timeout");
        }
        reader.join();
        String text = buf.toString(StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("peer " + String.join(" ", cmd) + " exited with " + p.exitValue() + "; its stdout: " + text.strip());
        }
        return text;
    }

    /** tools/peers/torch_train.py beside the jar's module, else the packed copy in a temporary file. */
    static Path locateScript() throws IOException {
        Path torchPeer = PeerScript.besideCodeSource(PeerScript.codeSource());
        if (torchPeer != null && Files.isRegularFile(torchPeer.resolveSibling(SCRIPT))) return torchPeer.resolveSibling(SCRIPT);
        try (InputStream in = TrainBench.class.getResourceAsStream("/io/github/jconv/tools/peers/" + SCRIPT)) {
            if (in == null) {
                throw new IllegalStateException("the peer script " + SCRIPT + " is neither beside the jar nor packed in it; pass --peer-script tools/peers/" + SCRIPT);
            }
            Path tmp = Files.createTempFile("jconv-", "-" + SCRIPT);
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        }
    }
}
