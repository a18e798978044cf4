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
 * {@code offsets=normal|far|zero|near_integer} (deformable only) and {@code passes=forward} (forward pass only).
 */
public final class Catalogue {
    /** The catalogue files, in the order the suite runs them. */
    public static final List<String> FILES = List.of("corners", "resnet50", "mobilenet", "unet3d", "gan", "deformable", "bench");

    /**
     * The named set of the benchmark: P1-P8 and D1 of docs/bench-problems.md at their full sizes, each named
     * by its table name. {@code jconv bench} times it; the suite does not run it (its {@code bench} file
     * checks the same layers at batch 1).
     */
    public static final String BENCHMARK = "benchmark";

    /** Every catalogue {@link #load} knows: the suite's files and the benchmark set. */
    public static List<String> names() {
        List<String> all = new ArrayList<>(FILES);
        all.add(BENCHMARK);
        return List.copyOf(all);
    }

    /** P1-P8 and D1 in the order of docs/bench-problems.md, named P1 ... D1 ({@link #BENCHMARK}). */
    public static List<Problem> benchmark() {
        return load(BENCHMARK);
    }

    private Catalogue() {
    }

    /** Every problem of every file of {@link #FILES}. */
    public static List<Problem> all() {
        List<Problem> out = new ArrayList<>();
        for (String f : FILES) out.addAll(load(f));
        return out;
    }

    /** The seed of the fuzz problems the suite runs by default. */
    public static final long FUZZ_SEED = 20261127L;

    /**
     * {@code count} random small problems drawn from {@code seed}: every family, rank, groups,
     * stride, dilation, asymmetric padding, output_padding, offset groups, v1/v2 and offset pattern,
     * in combinations nobody wrote down. Their lines are printed like any other, so a failure repeats.
     */
    public static List<Problem> fuzz(long seed, int count) {
        if (count < 0) throw new IllegalArgumentException("count = " + count + ": must be non-negative, e.g. 40");
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        List<Problem> out = new ArrayList<>();
        while (out.size() < count) {
            double kind = r.nextDouble();
            io.github.jconv.ConvType type = kind < 0.5 ? io.github.jconv.ConvType.CONVOLUTION
                    : kind < 0.8 ? io.github.jconv.ConvType.TRANSPOSED : io.github.jconv.ConvType.DEFORMABLE;
            int rank = type == io.github.jconv.ConvType.DEFORMABLE ? 2 : 1 + r.nextInt(3);
            int groups = 1 + r.nextInt(3);
            int[] in = new int[rank];
            int[] k = new int[rank];
            int[] st = new int[rank];
            int[] d = new int[rank];
            int[] lo = new int[rank];
            int[] hi = new int[rank];
            int[] op = new int[rank];
            for (int a = 0; a < rank; a++) {
                in[a] = 1 + r.nextInt(rank == 3 ? 5 : 9);
                k[a] = 1 + r.nextInt(4);
                st[a] = 1 + r.nextInt(3);
                d[a] = 1 + r.nextInt(2);
                lo[a] = r.nextInt(3);
                hi[a] = r.nextInt(3);
                op[a] = r.nextInt(Math.max(st[a], d[a]));
            }
            ConvSpec.Builder b = ConvSpec.builder(type).batch(1 + r.nextInt(2))
                    .channels(groups * (1 + r.nextInt(3)), groups * (1 + r.nextInt(3))).groups(groups)
                    .input(in).kernel(k).stride(st).dilation(d).paddingLo(lo).paddingHi(hi).bias(r.nextBoolean());
            Offsets offsets = Offsets.NORMAL;
            if (type == io.github.jconv.ConvType.TRANSPOSED) b.outputPadding(op);
            if (type == io.github.jconv.ConvType.DEFORMABLE) {
                b.offsetGroups(1 + r.nextInt(2)).mask(r.nextBoolean());
                // the first three patterns only, so that the fuzz problems of a seed stay what they were
                offsets = Offsets.values()[r.nextInt(3)];
            }
            ConvSpec spec;
            try {
                spec = b.build();
            } catch (IllegalArgumentException invalid) {
                continue; // a draw that breaks a shape rule; draw again
            }
            out.add(new Problem(spec, "fuzz-" + out.size(), offsets, false, "fuzz(" + seed + "):" + out.size()));
        }
        return out;
    }

    /**
     * Problems from a text file in the catalogue's format (one problem line per line, then an optional
     * name and options); messages name the file and the line.
     */
    public static List<Problem> read(java.nio.file.Path file) {
        if (file == null) throw new IllegalArgumentException("file = null: give a file of problem lines, e.g. problems.txt");
        String text;
        try {
            text = java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("file = " + file + ": cannot be read (" + e.getMessage()
                    + "); give a text file with one problem line per line, e.g. mb1ic3ih8oc4kh3", e);
        }
        return parse(file.toString(), text);
    }

    /** The problems of one catalogue file, e.g. "corners", or the benchmark set {@link #BENCHMARK}. */
    public static List<Problem> load(String file) {
        String res = file + ".txt";
        try (InputStream in = Catalogue.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new IllegalArgumentException("file = " + file + ": no catalogue resource " + res + "; known: " + names());
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
                        throw new IllegalArgumentException(where + ": offsets = " + value + ": must be normal, far, zero or near_integer");
                    }
                }
                case "passes" -> {
                    if (!value.equals("forward") && !value.equals("all")) {
                        throw new IllegalArgumentException(where + ": passes = " + value + ": must be forward or all");
                    }
                    forwardOnly = value.equals("forward");
                }
                default -> throw new IllegalArgumentException(where + ": unknown option '" + key
                        + "'; options are offsets=normal|far|zero|near_integer and passes=forward|all");
            }
        }
        return new Problem(spec, name, offsets, forwardOnly, where);
    }
}
