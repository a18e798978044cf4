package io.github.jconv.tools;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.opencl.OpenClTuner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jconv tune}: times the OpenCL GEMM's parameter sets on this device and stores the fastest per
 * problem class (beside the program cache), where every later OpenCL session on this device and driver
 * finds them.
 */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Tunes the OpenCL GEMM (the forward and both backward passes of convolution run on it) for this device:",
                "times candidate parameter sets (tile, work-item tile, load width, double buffering) on GEMMs of the given",
                "problems' shapes, checks each against a reference product, and stores the fastest per class (wide, narrow,",
                "deep) and driver beside the program cache; with --problems it then times their forwards with and without",
                "the implicit GEMM (no column matrix) and stores the faster. Later runs use the choices automatically;",
                "deleting the file returns to the built-in defaults."})
final class TuneCommand implements Callable<Integer> {
    /** The benchmark problems by name, as jconv bench spells them. */
    private static final Map<String, String> STANDARD = io.github.jconv.tools.bench.StandardProblems.lines();

    @Spec
    CommandSpec spec;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "opencl", description = "Only opencl tunes (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--problems", paramLabel = "LIST", description = "Benchmark names (P1-P8, D1) and/or problem lines, comma separated; "
            + "their forward, data-gradient and weight-gradient GEMMs pick the classes and shapes (default: one shape per class).")
    String problems;

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "OpenCL device index (default: ${DEFAULT-VALUE}).")
    int device;

    @Option(names = "--budget", paramLabel = "S", defaultValue = "120", description = "Seconds to spend in all, shared by the classes (default: ${DEFAULT-VALUE}).")
    double budget;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "fp32", description = "fp32 or fp64 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() {
        if (!"opencl".equalsIgnoreCase(backend)) {
            throw new IllegalArgumentException("--backend = " + backend + ": only the OpenCL backend is tuned (cuDNN and the CPU choose "
                    + "their own algorithms); e.g. --backend opencl");
        }
        if (!(budget > 0) || budget > 86_400) {
            throw new IllegalArgumentException("--budget = " + budget + ": seconds, more than 0 and at most 86400; e.g. --budget 120");
        }
        DType dt = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "fp32" -> DType.FP32;
            case "fp64" -> DType.FP64;
            default -> throw new IllegalArgumentException("--dtype = " + dtype + ": fp32 or fp64; e.g. --dtype fp32");
        };
        List<int[]> shapes = problems == null ? List.of() : shapes(problems);
        List<ConvSpec> convs = problems == null ? List.of() : List.copyOf(specs(problems).values());
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "jconv tune: OpenCL device %d, %s, budget %.0f s, %s%n", device, dtype.toLowerCase(Locale.ROOT), budget,
                shapes.isEmpty() ? "one representative shape per class" : shapes.size() + " GEMM shapes of " + problems);
        out.flush();
        List<OpenClTuner.Choice> chosen = OpenClTuner.tune(device, dt, shapes, convs, Duration.ofMillis(Math.round(budget * 1000)), line -> {
            out.println("  " + line);
            out.flush();
        });
        if (chosen.isEmpty()) {
            out.println("no class was tuned: no candidate ran on this device (see the lines above)");
            return 1;
        }
        out.println("stored in " + chosen.get(0).database());
        return 0;
    }

    /** The GEMM shapes {M, N, K} of each problem's forward, data-gradient and weight-gradient passes, in order. */
    static List<int[]> shapes(String list) {
        List<int[]> out = new ArrayList<>();
        for (ConvSpec s : specs(list).values()) {
            boolean tr = s.type() == ConvType.TRANSPOSED;
            // the GEMM view: a transposed convolution runs as the adjoint of the convolution from its output to its input
            long g = s.groups();
            long kg = (tr ? s.inChannels() : s.outChannels()) / g;
            long cgt = (tr ? s.outChannels() : s.inChannels()) / g * s.kernelVolume();
            long cols = (long) s.batch() * (tr ? s.inputSpatial() : s.outputSpatial());
            for (long[] sh : new long[][] {{kg, cols, cgt}, {cgt, cols, kg}, {kg, cgt, cols}}) {
                out.add(new int[] {Math.toIntExact(sh[0]), Math.toIntExact(Math.min(sh[1], Integer.MAX_VALUE)),
                        Math.toIntExact(Math.min(sh[2], Integer.MAX_VALUE))});
            }
        }
        return out;
    }

    /** The problems of {@code list} (benchmark names or problem lines), by item. */
    static Map<String, ConvSpec> specs(String list) {
        Map<String, ConvSpec> specs = new LinkedHashMap<>();
        for (String item : list.strip().split("[,\\s]+")) {
            if (item.isEmpty()) continue;
            String line = STANDARD.getOrDefault(item.toUpperCase(Locale.ROOT), item.contains("=") ? item.substring(item.indexOf('=') + 1) : item);
            ConvSpec s;
            try {
                s = ConvSpec.parse(line);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--problems item " + item + ": neither a benchmark name (P1-P8, D1) nor a problem line ("
                        + e.getMessage() + "); e.g. --problems P1,P3", e);
            }
            specs.put(item, s);
        }
        if (specs.isEmpty()) throw new IllegalArgumentException("--problems = \"" + list + "\": give names or problem lines, e.g. P1,P3");
        return specs;
    }
}
