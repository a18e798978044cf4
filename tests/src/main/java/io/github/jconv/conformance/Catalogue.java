package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The problem catalogue, kept as text resources beside this class, one problem per line:
 * <pre>
 * # comment
 * mb2ic3ih7oc4kh3sh2ph1            odd-stride2     offsets=far   passes=forward
 * </pre>
 * The problem line comes first ({@link ConvSpec#parse}); then an optional name; then options:
 * {@code offsets=normal|far|zero} (deformable only) and {@code passes=forward} (forward pass only).
 */
public final class Catalogue {
    /** The catalogue files, in the order the suite runs them. */
    public static final List<String> FILES = List.of("corners", "resnet50", "mobilenet", "unet3d", "gan", "deformable", "bench");

    private Catalogue() {
    }

    /** Every problem of every file of {@link #FILES}. */
    public static List<Problem> all() {
        List<Problem> out = new ArrayList<>();
        for (String f : FILES) out.addAll(load(f));
        return out;
    }

    /** The problems of one catalogue file, e.g. "corners". */
    public static List<Problem> load(String file) {
        String res = file + ".txt";
        try (InputStream in = Catalogue.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new IllegalArgumentException("file = " + file + ": no catalogue resource " + res + "; known: " + FILES);
            }
            return parse(file, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("reading catalogue " + res, e);
        }
    }

    /** Reads catalogue text; {@code source} names it in messages. */
    public static List<Problem> parse(String source, String text) {
        List<Problem> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new java.io.StringReader(text))) {
            String raw;
            int lineNo = 0;
            while ((raw = r.readLine()) != null) {
                lineNo++;
                int hash = raw.indexOf('#');
                String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
                if (line.isEmpty()) continue;
                out.add(entry(source + ":" + lineNo, line));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static Problem entry(String where, String line) {
        String[] f = line.split("\\s+");
        ConvSpec spec;
        try {
            spec = ConvSpec.parse(f[0]);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
        String name = "";
        Offsets offsets = Offsets.NORMAL;
        boolean forwardOnly = false;
        for (int i = 1; i < f.length; i++) {
            String tok = f[i];
            int eq = tok.indexOf('=');
            if (eq < 0) {
                if (!name.isEmpty()) {
                    throw new IllegalArgumentException(where + ": name given twice (\"" + name + "\" and \"" + tok
                            + "\"); a name is one word, options are key=value");
                }
                name = tok;
                continue;
            }
            String key = tok.substring(0, eq);
            String value = tok.substring(eq + 1).toLowerCase(Locale.ROOT);
            switch (key) {
                case "offsets" -> {
                    try {
                        offsets = Offsets.valueOf(value.toUpperCase(Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(where + ": offsets = " + value + ": must be normal, far or zero");
                    }
                }
                case "passes" -> {
                    if (!value.equals("forward") && !value.equals("all")) {
                        throw new IllegalArgumentException(where + ": passes = " + value + ": must be forward or all");
                    }
                    forwardOnly = value.equals("forward");
                }
                default -> throw new IllegalArgumentException(where + ": unknown option '" + key
                        + "'; options are offsets=normal|far|zero and passes=forward|all");
            }
        }
        return new Problem(spec, name, offsets, forwardOnly, where);
    }
}
