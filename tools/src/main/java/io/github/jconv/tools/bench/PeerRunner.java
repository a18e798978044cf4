package io.github.jconv.tools.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the peer benchmark script in a child process and reads its CSV from stdout. */
final class PeerRunner {
    private final String python;
    private final Path script;
    private final String device;
    private final int threads;
    private final int reps;
    private final long timeoutSeconds;
    private final String dtype;
    private final String math;
    private final double minWindowMs;
    private final String algo;

    PeerRunner(String python, Path script, String device, int threads, int reps, long timeoutSeconds) {
        this(python, script, device, threads, reps, timeoutSeconds, "fp32", "fp32", 200);
    }

    PeerRunner(String python, Path script, String device, int threads, int reps, long timeoutSeconds, String dtype, String math,
               double minWindowMs) {
        this(python, script, device, threads, reps, timeoutSeconds, dtype, math, minWindowMs, "benchmark");
    }

    /** {@code algo}: benchmark or heuristic, passed as torch_peer.py's --cudnn-benchmark 1 or 0. */
    PeerRunner(String python, Path script, String device, int threads, int reps, long timeoutSeconds, String dtype, String math,
               double minWindowMs, String algo) {
        this.algo = algo;
        this.dtype = dtype;
        this.math = math;
        this.minWindowMs = minWindowMs;
        this.python = python;
        this.script = script;
        this.device = device;
        this.threads = threads;
        this.reps = reps;
        this.timeoutSeconds = timeoutSeconds;
    }

    /** cuDNN determinism on the peer's side (torch.backends.cudnn.deterministic); null leaves PyTorch's default. */
    private Boolean deterministic;

    /** Asks the peer for the same determinism as jconv's session. */
    PeerRunner deterministic(Boolean on) {
        this.deterministic = on;
        return this;
    }

    /** The command line for these problem names. */
    List<String> command(List<String> problemNames) {
        // --problems last: a stand-in peer in the tests reads the names from the last argument
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "--device", device,
                "--threads", Integer.toString(threads), "--reps", Integer.toString(reps), "--dtype", dtype, "--math", math,
                "--min-window-ms", minWindowMs == Math.rint(minWindowMs) ? Long.toString((long) minWindowMs) : Double.toString(minWindowMs),
                "--problems", String.join(",", problemNames)));
        // cuDNN's algorithm choice means something on a CUDA device only; before --problems, which stays last
        if (device.startsWith("cuda")) cmd.addAll(cmd.size() - 2, List.of("--cudnn-benchmark", algo.equals("heuristic") ? "0" : "1"));
        if (device.startsWith("cuda") && deterministic != null) cmd.addAll(cmd.size() - 2, List.of("--cudnn-deterministic", deterministic ? "1" : "0"));
        return cmd;
    }

    /** Fails early, before any timing, when the script is not where it was said to be. */
    void checkScript() {
        if (!Files.isRegularFile(script)) {
            throw new IllegalArgumentException("peer-script = " + script.toAbsolutePath()
                    + ": no such file; pass --peer-script with the path of the peer script, e.g. tools/peers/torch_peer.py,"
                    + " or leave it out to use the one beside or in the jar");
        }
    }

    /** Runs the peer once on these problems; its stderr goes to ours. */
    List<PeerCsv.Row> run(List<String> problemNames) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command(problemNames));
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot start " + python + " (" + e.getMessage() + "); pass --python with a Python 3 that has PyTorch,"
                    + " e.g. --python /usr/bin/python3", e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> copy(p.getInputStream(), out), "peer-stdout");
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(1000);
            throw new IOException("peer " + String.join(" ", command(problemNames)) + " ran past " + timeoutSeconds
                    + " s and was stopped; raise --peer-timeout");
        }
        reader.join();
        String text = out.toString(StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("peer " + String.join(" ", command(problemNames)) + " exited with " + p.exitValue()
                    + "; its stdout: " + text.strip());
        }
        return PeerCsv.parse(text);
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try (in) {
            in.transferTo(out);
        } catch (IOException e) {
            // the process died; waitFor reports it
        }
    }
}
