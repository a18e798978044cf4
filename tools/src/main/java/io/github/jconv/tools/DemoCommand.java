package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Trains a 3×3 convolution to become a Sobel edge filter with forward, backward and SGD. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Trains a 3x3 convolution into a Sobel edge filter: forward, backward, SGD.",
                "Learns from random images with Sobel x as the teacher on the chosen backend (default: the best",
                "available) and prints the loss falling, the learned kernel beside the teacher, the backend and the time."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BackendOption backend = new BackendOption();

    @Option(names = "--steps", defaultValue = "30", description = "SGD steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--batch", defaultValue = "4", description = "images per step (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--size", defaultValue = "32", description = "image side (default ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--lr", defaultValue = "1.5", description = "learning rate (default ${DEFAULT-VALUE})")
    float lr;

    @Option(names = "--seed", defaultValue = "7", description = "seed of the images and the initial weights (default ${DEFAULT-VALUE})")
    long seed;

    /** Above about 2/λ_max of this least-squares problem SGD diverges; 10 leaves room to see it happen. */
    static final float MAX_LR = 10f;
    static final int MAX_STEPS = 100_000;
    static final int MAX_SIZE = 4096;
    /** Most pixels per step (batch x size x size). */
    static final long MAX_ELEMENTS = 1L << 22;

    @Override
    public Integer call() {
        if (!(lr > 0 && lr <= MAX_LR)) {
            throw new IllegalArgumentException("--lr = " + lr + ": must be above 0 and at most " + Text.num(MAX_LR)
                    + " (larger steps diverge on this problem); e.g. --lr 1.5");
        }
        if (steps < 1 || steps > MAX_STEPS) throw new IllegalArgumentException("--steps = " + steps + ": must be 1 to " + MAX_STEPS + "; e.g. --steps 30");
        if (batch < 1 || batch > 1024) throw new IllegalArgumentException("--batch = " + batch + ": must be 1 to 1024; e.g. --batch 4");
        if (size < 3 || size > MAX_SIZE) throw new IllegalArgumentException("--size = " + size + ": must be 3 to " + MAX_SIZE + "; e.g. --size 32");
        if ((long) batch * size * size > MAX_ELEMENTS) {
            throw new IllegalArgumentException("--batch " + batch + " x --size " + size + "^2 = " + (long) batch * size * size
                    + " pixels per step, over " + MAX_ELEMENTS + "; e.g. --batch 4 --size 32");
        }
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        Demo.Result r;
        String report;
        try (ConvEngine engine = backend.open()) {
            report = engine.selectionReport();
            out.println(report);
            out.printf(Locale.ROOT, "learning a 3x3 kernel from a Sobel teacher: %d steps of %d random %dx%d images, SGD lr %s%n",
                    steps, batch, size, size, Text.num(lr));
            out.flush();
            r = Demo.train(engine, steps, batch, size, lr, seed);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (Demo.Step s : r.losses()) {
            if (!Double.isFinite(s.loss())) {
                spec.commandLine().getErr().println("demo: training diverged: the loss is " + s.loss() + " at step " + s.step()
                        + " with --lr " + Text.num(lr) + "; use a smaller learning rate, e.g. --lr 1.5");
                return Main.FAILED;
            }
        }
        int every = Math.max(1, steps / 10);
        for (Demo.Step s : r.losses()) {
            if (s.step() == 1 || s.step() % every == 0 || s.step() == steps) out.printf(Locale.ROOT, "step %4d  loss %.3e%n", s.step(), s.loss());
        }
        out.println();
        out.println("learned kernel            teacher (Sobel x)");
        for (int row = 0; row < 3; row++) {
            StringBuilder b = new StringBuilder();
            for (int c = 0; c < 3; c++) {
                float v = r.learned()[row * 3 + c];
                // a tap that rounds to zero prints as 0.0000, not -0.0000
                b.append(String.format(Locale.ROOT, "%8.4f", Math.abs(v) < 5e-5f ? 0f : v));
            }
            b.append("    ");
            for (int c = 0; c < 3; c++) b.append(String.format(Locale.ROOT, "%5.0f", r.teacher()[row * 3 + c]));
            out.println(b);
        }
        out.println();
        double orders = Math.log10(r.firstLoss() / Math.max(r.lastLoss(), Double.MIN_NORMAL));
        out.printf(Locale.ROOT, "loss %.3e -> %.3e (%.1f orders of magnitude); largest kernel error %.2e%n",
                r.firstLoss(), r.lastLoss(), orders, r.maxKernelError());
        out.printf(Locale.ROOT, "ran on %s in %.2f s%n", report, seconds);
        out.flush();
        return 0;
    }
}
