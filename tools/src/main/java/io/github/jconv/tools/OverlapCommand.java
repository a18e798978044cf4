package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DeviceBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** The overlap-count map of a transposed convolution, which shows checkerboard artifacts. */
@Command(name = "overlap", mixinStandardHelpOptions = true,
        description = {"Overlap map of a transposed convolution, the cause of checkerboard artifacts.",
                "Counts how many (input, tap) pairs reach each output pixel, writes the map as a PNG and says whether",
                "the interior is even, with the kernel sizes that make it so."})
final class OverlapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-k", "--kernel"}, required = true, description = "kernel size (square)")
    int kernel;

    @Option(names = {"-s", "--stride"}, required = true, description = "stride")
    int stride;

    @Option(names = {"-d", "--dilation"}, defaultValue = "1", description = "dilation (default ${DEFAULT-VALUE})")
    int dilation;

    @Option(names = "--input", defaultValue = "6", description = "input size per axis (default ${DEFAULT-VALUE})")
    int input;

    @Mixin
    PngOutput png = new PngOutput("overlap.png");

    @Option(names = "--scale", description = "pixels per map cell (default: about 384 px wide)")
    Integer scale;

    @Option(names = {"-b", "--backend"}, description = "also run the transposed convolution of ones with ones on this backend"
            + " (cuda, opencl, cpu or auto) and compare its output with the counted map")
    String backend;

    @Override
    public Integer call() {
        if (scale != null && scale < 1) throw new IllegalArgumentException("--scale = " + scale + ": must be at least 1; e.g. --scale 20");
        Overlap o = Overlap.of(kernel, stride, dilation, input);
        int cells = o.counts().length;
        int sc = scale != null ? scale : HeatMap.scaleFor(cells, 384);
        if ((long) cells * sc > HeatMap.MAX_SIDE) {
            throw new IllegalArgumentException("--scale = " + sc + ": the map would be " + (long) cells * sc + " px wide, over "
                    + HeatMap.MAX_SIDE + "; e.g. --scale " + HeatMap.suggestedScale(cells));
        }
        png.checkWritable();
        PrintWriter out = spec.commandLine().getOut();
        out.println("transposed convolution: kernel " + kernel + ", stride " + stride + ", dilation " + dilation
                + " (effective kernel " + o.effectiveKernel() + "), input " + input + " -> output " + o.counts().length + " per axis");
        out.println("overlap counts along one axis: " + join(o.counts()));
        if (!o.hasInterior()) {
            out.println("no interior at input " + input + ": every output is near a border (an interior needs --input "
                    + Overlap.inputForInterior(kernel, stride, dilation) + " or more); the pattern and verdict below are for larger inputs");
        }
        out.println("interior pattern (period " + stride + "): " + join(o.period()));
        int[] p = o.period();
        int lo = Arrays.stream(p).min().orElse(0), hi = Arrays.stream(p).max().orElse(0);
        if (o.even()) {
            out.println("verdict: EVEN - every interior output pixel receives " + p[0] + " contribution(s) per axis ("
                    + p[0] * p[0] + " in 2D); no checkerboard from overlap");
        } else {
            out.println("verdict: UNEVEN - interior pixels receive " + lo + " to " + hi + " contributions per axis ("
                    + lo * lo + " to " + hi * hi + " in 2D): expect checkerboard artifacts");
        }
        if (o.ruleOfThumbEven() != o.even()) {
            out.println("note: the rule of thumb (effective kernel a multiple of the stride) says "
                    + (o.ruleOfThumbEven() ? "even" : "uneven") + " here; with dilation the exact count above decides");
        }
        int upTo = (int) Math.min(Integer.MAX_VALUE, Math.max(4L * stride, 8));
        List<Integer> good = Overlap.evenKernels(stride, dilation, upTo);
        if (good.isEmpty()) {
            out.println("no kernel size up to " + upTo + " gives even overlap at stride " + stride + " and dilation "
                    + dilation + ": use a dilation coprime to the stride, or resize then convolve");
        } else {
            out.println("kernel sizes with even overlap at stride " + stride + ", dilation " + dilation + ": " + good);
        }
        double[][] map = o.map2d();
        BufferedImage img = HeatMap.render(map, sc, "(input, tap) pairs per output pixel");
        HeatMap.write(img, png.path());
        int most = Arrays.stream(o.counts()).max().orElse(0);
        out.println("wrote " + png.path() + " (" + img.getWidth() + "x" + img.getHeight() + " px: a " + cells * sc + "x" + cells * sc + " px map of "
                + cells + "x" + cells + " cells, brighter = more overlap, max " + most * most + ", with a colour scale below)");
        int exit = 0;
        if (backend != null) exit = compareWithBackend(o, map, out);
        out.flush();
        return exit;
    }

    /** The map is what the operation itself computes from an all-ones input and kernel: run it and compare. */
    private int compareWithBackend(Overlap o, double[][] map, PrintWriter out) {
        ConvSpec s = ConvSpec.transposed().channels(1, 1).input(input, input).kernel(kernel).stride(stride).dilation(dilation)
                .bias(false).build();
        try (ConvEngine engine = Backends.open(backend)) {
            float[] ones = new float[input * input];
            Arrays.fill(ones, 1f);
            float[] k = new float[kernel * kernel];
            Arrays.fill(k, 1f);
            float[] y;
            try (DeviceBuffer x = engine.upload(ones, s.inputShape());
                 DeviceBuffer w = engine.upload(k, s.weightShape());
                 DeviceBuffer yb = engine.forward(s, x, w, null)) {
                y = engine.downloadFloats(yb);
            }
            int n = map.length;
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < n; c++) {
                    if (y[r * n + c] != map[r][c]) {
                        out.println("backend " + engine.backendName() + ": the transposed convolution of ones gives " + y[r * n + c]
                                + " at (" + r + ", " + c + "), the count is " + Text.num(map[r][c]) + " (" + s + ")");
                        return 1;
                    }
                }
            }
            out.println("backend " + engine.backendName() + ": the transposed convolution of ones with ones (" + s
                    + ") gives this map exactly");
            return 0;
        }
    }

    private static String join(int[] v) {
        StringBuilder b = new StringBuilder();
        for (int x : v) b.append(b.length() == 0 ? "" : " ").append(x);
        return b.toString();
    }
}
