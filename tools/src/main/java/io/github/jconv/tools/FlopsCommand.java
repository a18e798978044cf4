package io.github.jconv.tools;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.analysis.LayerCost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parameters and FLOPs per layer of a stack, with the savings of grouped and depthwise layers. */
@Command(name = "flops", mixinStandardHelpOptions = true,
        description = {"Parameters and FLOPs per layer of a stack, with grouped and depthwise savings.",
                "A multiply-add counts as two FLOPs.",
                "Layers: conv<Cin>-><Cout>k<k>[s<stride>][p<pad>][d<dil>][g<groups>|dw][nb], tconv... likewise;",
                "dw = depthwise (groups = Cin), nb = no bias; or a problem line such as mb1ic64ih56oc64kh3ph1.",
                "Each layer takes the previous layer's output size; the first takes --input."})
final class FlopsCommand implements Callable<Integer> {
    private static final Pattern LAYER = Pattern.compile(
            "(conv|tconv)(\\d+)->(\\d+)k(\\d+)((?:[spdg]\\d+)*)(dw)?(nb)?");
    private static final Pattern OPTION = Pattern.compile("([spdg])(\\d+)");

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STACK", description = "layers separated by commas or new lines, or a file of them, e.g. \"conv64->64k3p1 g1, conv64->64k3p1 g64\"")
    String stack;

    @Option(names = "--input", defaultValue = "56", description = "spatial size of the first layer's input per axis (default ${DEFAULT-VALUE})")
    int input;

    @Option(names = "--dims", defaultValue = "2", description = "spatial dimensions: 1, 2 or 3 (default ${DEFAULT-VALUE})")
    int dims;

    @Option(names = "--batch", defaultValue = "1", description = "batch size (default ${DEFAULT-VALUE})")
    int batch;

    @Override
    public Integer call() {
        if (dims < 1 || dims > 3) throw new IllegalArgumentException("--dims = " + dims + ": must be 1, 2 or 3; e.g. --dims 2");
        if (input < 1 || input > 1_000_000) throw new IllegalArgumentException("--input = " + input + ": must be 1 to 1000000; e.g. --input 56");
        if (batch < 1 || batch > 1_000_000) throw new IllegalArgumentException("--batch = " + batch + ": must be 1 to 1000000; e.g. --batch 1");
        List<Named> layers = parse(LayerStack.readSpecOrFile(stack), input, dims, batch);
        PrintWriter out = spec.commandLine().getOut();
        Text.Table t = new Text.Table("#", "layer", "in -> out", "groups", "weights", "params", "dense weights", "weights vs dense", "fwd MFLOP", "train MFLOP")
                .left(1, 2);
        long params = 0, dense = 0, flops = 0, denseFlops = 0;
        int i = 1;
        int prevChannels = -1;
        List<String> notes = new ArrayList<>();
        for (Named n : layers) {
            ConvSpec s = n.spec();
            LayerCost c = LayerCost.of(s);
            checkFits(n, c);
            try {
                params = Math.addExact(params, c.parameters());
                dense = Math.addExact(dense, c.denseWeights() + c.biases());
                flops = Math.addExact(flops, c.forwardFlops());
                denseFlops = Math.addExact(denseFlops, Math.multiplyExact(c.forwardFlops(), (long) s.groups()));
                Math.multiplyExact(3, flops);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("stack: the totals after layer " + (i) + " (" + n.name() + ") are over 2^63 FLOPs;"
                        + " use smaller layers, --input or --batch, e.g. --input 56 --batch 1");
            }
            if (prevChannels > 0 && prevChannels != s.inChannels()) {
                notes.add("note: layer " + i + " takes " + s.inChannels() + " channels but layer " + (i - 1) + " gives " + prevChannels);
            }
            prevChannels = s.outChannels();
            String groups = s.depthwise() ? s.groups() + " (dw)" : Integer.toString(s.groups());
            t.row(i++, n.name(), shape(s.inChannels(), s.input()) + " -> " + shape(s.outChannels(), s.output()), groups,
                    Text.count(c.weights()), Text.count(c.parameters()), Text.count(c.denseWeights()),
                    s.groups() == 1 ? "1" : "1/" + s.groups(),
                    mega(c.forwardFlops()), mega(c.trainingFlops()));
        }
        out.print(t.render());
        out.println("total: " + Text.count(params) + " parameters, " + mega(flops) + " MFLOP forward, " + mega(3 * flops)
                + " MFLOP per training step (forward + grad input + grad weight)");
        if (dense != params) {
            out.println("grouping saves " + Text.count(dense - params) + " parameters (" + String.format(Locale.ROOT, "%.1f", 100.0 * (dense - params) / dense)
                    + "%) and " + mega(denseFlops - flops) + " MFLOP forward (" + String.format(Locale.ROOT, "%.1f", 100.0 * (denseFlops - flops) / denseFlops)
                    + "%) against the same layers with groups = 1: a layer of G groups has 1/G of the weights and FLOPs");
        }
        for (String note : notes) out.println(note);
        out.flush();
        return 0;
    }

    /**
     * Refuses a layer whose counts do not fit a long: the FLOPs are also worked out in floating point
     * (2·N·K·out·(C/g)·k for a convolution, 2·N·C·in·(K/g)·k for a transposed one) and must agree.
     */
    private static void checkFits(Named n, LayerCost c) {
        ConvSpec s = n.spec();
        double spatial = 1;
        for (int v : (s.type() == ConvType.TRANSPOSED ? s.input() : s.output())) spatial *= v;
        double f = s.type() == ConvType.TRANSPOSED
                ? 2.0 * s.batch() * s.inChannels() * spatial * ((double) s.outChannels() / s.groups()) * s.kernelVolume()
                : 2.0 * s.batch() * s.outChannels() * spatial * ((double) s.inChannels() / s.groups()) * s.kernelVolume();
        double limit = Long.MAX_VALUE / 3.0 / Math.max(1, s.groups());
        boolean agrees = Math.abs(c.forwardFlops() - f) <= 1e-9 * f + 1;
        if (f > limit || c.forwardFlops() < 0 || c.parameters() < 0 || (s.type() != ConvType.DEFORMABLE && !agrees)) {
            throw new IllegalArgumentException("layer = \"" + n.name() + "\": about " + String.format(Locale.ROOT, "%.3g", f)
                    + " FLOPs forward, too many to count in 64 bits; use smaller layers, --input or --batch, e.g. --input 56 --batch 1");
        }
    }

    private static String shape(int c, int[] spatial) {
        StringBuilder b = new StringBuilder().append(c);
        for (int v : spatial) b.append('x').append(v);
        return b.toString();
    }

    private static String mega(long flops) {
        return String.format(Locale.ROOT, "%.2f", flops / 1e6);
    }

    /** A layer as the user wrote it, and its spec. */
    record Named(String name, ConvSpec spec) {
    }

    /** The layers of {@code text}, each fed the previous one's spatial output. */
    static List<Named> parse(String text, int input, int dims, int batch) {
        List<Named> out = new ArrayList<>();
        int[] spatial = new int[dims];
        Arrays.fill(spatial, input);
        for (String t : LayerStack.tokens(text)) {
            if (t.matches(".*\\d{10,}.*")) {
                throw new IllegalArgumentException("layer = \"" + t + "\": a number has 10 or more digits, more than these tools take; e.g. conv64->64k3p1");
            }
            ConvSpec s;
            if (t.contains("ic")) {
                s = ConvSpec.parse(t);
            } else {
                Matcher m = LAYER.matcher(t);
                if (!m.matches()) {
                    throw new IllegalArgumentException("layer = \"" + t + "\": expected conv<Cin>-><Cout>k<k> with optional s, p, d, g<groups>,"
                            + " dw and nb, e.g. conv64->64k3p1g64, or a problem line such as mb1ic64ih56oc64kh3ph1");
                }
                ConvSpec.Builder b = ConvSpec.builder(m.group(1).equals("tconv") ? ConvType.TRANSPOSED : ConvType.CONVOLUTION)
                        .batch(batch).channels(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)))
                        .kernel(Integer.parseInt(m.group(4))).input(spatial);
                Matcher o = OPTION.matcher(m.group(5));
                while (o.find()) {
                    int v = Integer.parseInt(o.group(2));
                    switch (o.group(1)) {
                        case "s" -> b.stride(v);
                        case "p" -> b.padding(v);
                        case "d" -> b.dilation(v);
                        default -> b.groups(v);
                    }
                }
                if (m.group(6) != null) b.depthwise();
                if (m.group(7) != null) b.bias(false);
                s = b.build();
            }
            out.add(new Named(t, s));
            spatial = s.output();
        }
        if (out.isEmpty()) throw new IllegalArgumentException("stack = \"" + text.strip() + "\": no layers; e.g. conv64->64k3p1");
        return out;
    }
}
