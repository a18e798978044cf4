package io.github.jconv.tools;

import io.github.jconv.analysis.ReceptiveField;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The short text form of a stack's geometry, one layer per token: {@code conv3}, {@code conv3s2p1},
 * {@code conv3d2}, {@code pool2s2}, {@code tconv4s2p1}, separated by commas, spaces or new lines.
 * After the kind and kernel size come optional {@code s} (stride, 1), {@code p} (padding, 0),
 * {@code d} (dilation, 1) and {@code xN} (repeat the layer N times). {@code #} starts a comment.
 */
final class LayerStack {
    private static final Pattern LAYER = Pattern.compile("(conv|pool|tconv)(\\d+)((?:[spd]\\d+)*)(?:x(\\d+))?");
    private static final Pattern OPTION = Pattern.compile("([spd])(\\d+)");

    /** Largest kernel, stride, padding, dilation or effective kernel of one layer. */
    static final int MAX_VALUE = 1_000_000;
    /** Most layers in one stack, repeats included. */
    static final int MAX_LAYERS = 1_000;

    private LayerStack() {
    }

    /** The stack named by {@code text}: a spec such as "conv3,conv3,pool2s2", or the path of a file holding one. */
    static List<ReceptiveField.Layer> parseSpecOrFile(String text) {
        return parse(readSpecOrFile(text));
    }

    static String readSpecOrFile(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("stack = \"" + text + "\": give layers such as conv3,conv3,pool2s2 or a file of them");
        }
        String t = text.strip();
        // a path: has a separator or a file-name dot, which no layer spec has
        boolean looksLikePath = !t.contains(",") && (t.contains("/") || t.contains("\\") || t.contains("."));
        try {
            Path p = Path.of(t);
            if (!t.contains(",") && Files.isRegularFile(p)) {
                if (Files.size(p) > 1 << 20) throw new IllegalArgumentException("stack file " + p + " is over 1 MiB; a stack file lists layers, e.g. conv3,conv3");
                return Files.readString(p);
            }
            if (looksLikePath) {
                throw new IllegalArgumentException("stack file " + t + ": " + (Files.exists(p) ? "not a regular file" : "no such file")
                        + "; give an existing file of layers or layers such as conv3,conv3,pool2s2");
            }
        } catch (IOException | UncheckedIOException e) {
            throw new IllegalArgumentException("stack file " + t + ": cannot be read (" + e.getMessage() + ")", e);
        } catch (java.nio.file.InvalidPathException ignored) {
            // not a path: a spec
        }
        return text;
    }

    /** Splits at commas and new lines, dropping comments; spaces inside a layer are ignored. */
    static List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\\R")) {
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash);
            for (String t : line.split(",")) {
                String s = t.replaceAll("\\s+", "").toLowerCase(java.util.Locale.ROOT);
                if (!s.isEmpty()) out.add(s);
            }
        }
        return out;
    }

    static List<ReceptiveField.Layer> parse(String text) {
        List<ReceptiveField.Layer> out = new ArrayList<>();
        for (String t : tokens(text)) {
            Matcher m = LAYER.matcher(t);
            if (!m.matches()) {
                throw new IllegalArgumentException("layer = \"" + t + "\": expected conv<k>, pool<k> or tconv<k> followed by"
                        + " s<stride>, p<padding>, d<dilation> and x<repeat>, e.g. conv3d2, pool2s2 or tconv4s2p1");
            }
            int k = bounded(t, "kernel", m.group(2), 3);
            int s = 1, p = 0, d = 1;
            Matcher o = OPTION.matcher(m.group(3));
            while (o.find()) {
                String what = switch (o.group(1)) {
                    case "s" -> "stride";
                    case "p" -> "padding";
                    default -> "dilation";
                };
                int v = bounded(t, what, o.group(2), 1);
                switch (o.group(1)) {
                    case "s" -> s = v;
                    case "p" -> p = v;
                    default -> d = v;
                }
            }
            ReceptiveField.Kind kind = switch (m.group(1)) {
                case "conv" -> ReceptiveField.Kind.CONV;
                case "pool" -> ReceptiveField.Kind.POOL;
                default -> ReceptiveField.Kind.TRANSPOSED;
            };
            if (kind == ReceptiveField.Kind.POOL && d != 1) {
                throw new IllegalArgumentException("layer = \"" + t + "\": dilation = " + d + " on a pooling layer; pooling here is dense, use d1 or conv" + k + "d" + d);
            }
            if ((long) d * (k - 1) + 1 > MAX_VALUE) {
                throw new IllegalArgumentException("layer = \"" + t + "\": effective kernel d*(k-1)+1 = " + ((long) d * (k - 1) + 1)
                        + " is over " + MAX_VALUE + "; e.g. conv3d2");
            }
            long repeat = m.group(4) == null ? 1 : m.group(4).length() > 9 ? Long.MAX_VALUE : Long.parseLong(m.group(4));
            if (repeat < 1) throw new IllegalArgumentException("layer = \"" + t + "\": repeat x" + repeat + " must be at least 1, e.g. x2");
            if (out.size() + repeat > MAX_LAYERS) {
                throw new IllegalArgumentException("layer = \"" + t + "\": repeat x" + m.group(4) + " makes the stack over " + MAX_LAYERS
                        + " layers, the most these tools take; e.g. x6");
            }
            String name = m.group(1) + m.group(2) + m.group(3);
            for (int i = 0; i < repeat; i++) out.add(new ReceptiveField.Layer(name, kind, k, s, p, d));
        }
        if (out.isEmpty()) throw new IllegalArgumentException("stack = \"" + text.strip() + "\": no layers; e.g. conv3,conv3");
        return out;
    }

    /** The number {@code digits} of {@code layer}, refused with its name when over {@link #MAX_VALUE}. */
    private static int bounded(String layer, String what, String digits, int example) {
        String d = digits.replaceFirst("^0+(?=\\d)", "");
        if (d.length() > 7 || Long.parseLong(d) > MAX_VALUE) {
            throw new IllegalArgumentException("layer = \"" + layer + "\": " + what + " = " + digits + " is over " + MAX_VALUE
                    + ", the largest these tools take; e.g. " + what + " = " + example);
        }
        return Integer.parseInt(d);
    }
}
