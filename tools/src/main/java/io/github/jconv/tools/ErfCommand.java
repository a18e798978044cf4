package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.analysis.ReceptiveField;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** The effective receptive field of a stack, from one backward pass, as a PNG heat map. */
@Command(name = "erf", mixinStandardHelpOptions = true,
        description = {"Effective receptive field of a stack as a PNG heat map, from one backward pass.",
                "Backpropagates a one-hot gradient at the centre output pixel through a linear stack (no activations;",
                "pooling = average) on the chosen backend and maps |d input| summed over channels."})
final class ErfCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STACK", description = "layers as for rf, e.g. conv3x6 or conv3,conv3,pool2s2,conv3d2; or a file")
    String stack;

    @Mixin
    BackendOption backend = new BackendOption();

    @Option(names = "--weights", defaultValue = "random", description = "random (seeded Kaiming uniform) or constant (1/fan-in) (default ${DEFAULT-VALUE})")
    String weights;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the random weights and input (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = {"-c", "--channels"}, defaultValue = "8", description = "channels of every layer (default ${DEFAULT-VALUE})")
    int channels;

    @Option(names = "--size", description = "input size per axis (default: twice the theoretical RF plus 1, at least 32)")
    Integer size;

    @Option(names = "--mass", defaultValue = "0.95", description = "fraction of the gradient mass the effective RF holds (default ${DEFAULT-VALUE})")
    double mass;

    @Mixin
    PngOutput png = new PngOutput("erf.png");

    @Option(names = "--scale", description = "pixels per input pixel (default: about 512 px wide)")
    Integer scale;

    /** Largest input side. */
    static final int MAX_SIZE = 4096;
    static final int MAX_CHANNELS = 1024;
    /** Most values in one activation (channels x size x size): 64 MiB of floats. */
    static final long MAX_ELEMENTS = 1L << 24;
    static final int THEORETICAL_RGB = 0x40C0FF;
    static final int EFFECTIVE_RGB = 0xFFFFFF;

    @Override
    public Integer call() {
        if (scale != null && scale < 1) throw new IllegalArgumentException("--scale = " + scale + ": must be at least 1; e.g. --scale 8");
        if (size != null && (size < 1 || size > MAX_SIZE)) {
            throw new IllegalArgumentException("--size = " + size + ": must be 1 to " + MAX_SIZE + "; e.g. --size 64");
        }
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw new IllegalArgumentException("--channels = " + channels + ": must be 1 to " + MAX_CHANNELS + "; e.g. --channels 8");
        }
        if (!(mass > 0 && mass <= 1)) throw new IllegalArgumentException("--mass = " + mass + ": must be in (0, 1]; e.g. --mass 0.95");
        List<ReceptiveField.Layer> layers = LayerStack.parseSpecOrFile(stack);
        Erf.Weights w = switch (weights.strip().toLowerCase(Locale.ROOT)) {
            case "random" -> Erf.Weights.RANDOM;
            case "constant" -> Erf.Weights.CONSTANT;
            default -> throw new IllegalArgumentException("--weights = " + weights + ": must be random or constant; e.g. --weights random");
        };
        List<ReceptiveField.Row> rows = ReceptiveField.compute(layers);
        double rfMax = rows.get(rows.size() - 1).receptiveField();
        if (size == null && 2 * rfMax + 1 > MAX_SIZE) {
            throw new IllegalArgumentException("stack = " + stack + ": its receptive field " + Text.num(rfMax) + " needs an input of "
                    + Text.num(2 * rfMax + 1) + ", over " + MAX_SIZE + "; give a smaller stack, or --size up to " + MAX_SIZE);
        }
        int n = size != null ? size : Math.max(32, (int) (2 * rfMax + 1));
        if ((long) channels * n * n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("--channels " + channels + " x --size " + n + "^2 = " + (long) channels * n * n
                    + " values per activation, over " + MAX_ELEMENTS + "; e.g. --channels 8 --size " + (int) Math.sqrt(MAX_ELEMENTS / 8.0));
        }
        int sc = scale != null ? scale : HeatMap.scaleFor(n, 512);
        if ((long) n * sc > HeatMap.MAX_SIDE) {
            throw new IllegalArgumentException("--scale = " + sc + ": the map would be " + (long) n * sc + " px wide, over "
                    + HeatMap.MAX_SIDE + "; e.g. --scale " + HeatMap.suggestedScale(n));
        }
        png.checkWritable();
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        Erf.Result r;
        try (ConvEngine engine = backend.open()) {
            out.println(engine.selectionReport());
            r = Erf.measure(engine, layers, channels, n, w, seed, mass);
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        out.println("stack: " + layers.size() + " layer(s), " + channels + " channels, input " + n + "x" + n + ", "
                + w.name().toLowerCase(Locale.ROOT) + " weights" + (w == Erf.Weights.RANDOM ? " (seed " + seed + ")" : ""));
        int rf = r.theoreticalRf();
        out.println("theoretical RF:   " + rf + "x" + rf + " (input pixels " + r.theoreticalTop() + ".." + (r.theoreticalTop() + rf - 1)
                + " x " + r.theoreticalLeft() + ".." + (r.theoreticalLeft() + rf - 1) + ", of the centre output"
                + (Math.round(rfMax) != rf ? "; " + Text.num(rfMax) + " for the outputs that see most" : "") + ")");
        out.println("gradient support: " + r.supportHeight() + "x" + r.supportWidth() + " (" + r.nonZero() + " non-zero input pixels)");
        int lo0 = Erf.lo(r.centreRow(), r.effectiveSide()), lo1 = Erf.lo(r.centreCol(), r.effectiveSide());
        out.println(String.format(Locale.ROOT, "gradient rows %d..%d, columns %d..%d", r.supportTop(), r.supportBottom(), r.supportLeft(),
                r.supportRight()));
        out.println(String.format(Locale.ROOT, "effective RF:     %dx%d (input pixels %d..%d x %d..%d) holds %.0f%% of the gradient mass",
                r.effectiveSide(), r.effectiveSide(), lo0, lo0 + r.effectiveSide() - 1, lo1, lo1 + r.effectiveSide() - 1,
                100 * r.massFraction()));
        out.println(String.format(Locale.ROOT, "ratio effective / theoretical: %.3f", r.ratio()));
        int t0r = r.theoreticalTop(), t0c = r.theoreticalLeft();
        BufferedImage img = HeatMap.render(r.map(), sc, "|d input| summed over channels",
                new HeatMap.Box(t0r, t0c, t0r + rf - 1, t0c + rf - 1, THEORETICAL_RGB, true, "theoretical RF (outside its pixels)"),
                new HeatMap.Box(lo0, lo1, lo0 + r.effectiveSide() - 1, lo1 + r.effectiveSide() - 1, EFFECTIVE_RGB, false,
                        "effective RF (" + Text.num(100 * r.massFraction()) + "% of the mass)"));
        HeatMap.write(img, png.path());
        out.println("wrote " + png.path() + " (" + img.getWidth() + "x" + img.getHeight() + " px: a " + n * sc + "x" + n * sc + " px map, "
                + sc + " px per input pixel; blue box ="
                + " theoretical RF, drawn just outside its pixels; white box = effective RF; colour scale and legend below the map)");
        out.println(String.format(Locale.ROOT, "backend %s, %.0f ms", r.backend(), ms));
        out.flush();
        return 0;
    }
}
