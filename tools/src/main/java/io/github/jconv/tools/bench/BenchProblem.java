package io.github.jconv.tools.bench;

import io.github.jconv.ConvSpec;
import io.github.jconv.conformance.Catalogue;
import io.github.jconv.conformance.Problem;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One named benchmark problem. The standard set is the table of docs/bench-problems.md, kept as the
 * conformance kit's named catalogue {@code benchmark} (P1-P8, D1); bias is off because the PyTorch peer
 * times its convolutions without one.
 */
record BenchProblem(String name, ConvSpec spec) {
    /** docs/bench-problems.md, row by row, as the kit's catalogue {@code benchmark} holds it: name to problem line. */
    static final Map<String, String> STANDARD_LINES = standardLines();

    BenchProblem {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("problem name = \"" + name + "\": give a name, e.g. P1");
        }
        if (spec == null) {
            throw new IllegalArgumentException("spec = null: give a problem line, e.g. mb8ic64ih56iw56oc64kh3kw3ph1pw1bia0");
        }
    }

    private static Map<String, String> standardLines() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Problem p : Catalogue.benchmark()) m.put(p.name(), p.line());
        return java.util.Collections.unmodifiableMap(m);
    }

    /** P1-P8 and D1 in the order of docs/bench-problems.md. */
    static List<BenchProblem> standard() {
        List<BenchProblem> out = new ArrayList<>();
        STANDARD_LINES.forEach((n, line) -> out.add(new BenchProblem(n, ConvSpec.parse(line))));
        return out;
    }

    /** True for the problems the PyTorch peer script knows by name. */
    boolean isStandard() {
        String line = STANDARD_LINES.get(name);
        return line != null && ConvSpec.parse(line).equals(spec);
    }

    /**
     * Reads a list such as {@code P1,P3}, {@code tiny=mb1ic2ih5oc3kh3ph1} or a bare problem line
     * (named by itself). Items are separated by commas or whitespace.
     */
    static List<BenchProblem> parseList(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("problems = \"" + text + "\": give names or problem lines, e.g. P1,P3 or tiny=mb1ic2ih5oc3kh3ph1");
        }
        List<BenchProblem> out = new ArrayList<>();
        for (String item : text.strip().split("[,\\s]+")) {
            out.add(parseItem(item));
        }
        return out;
    }

    private static BenchProblem parseItem(String item) {
        int eq = item.indexOf('=');
        if (eq >= 0) {
            String name = item.substring(0, eq).strip();
            return new BenchProblem(name, ConvSpec.parse(item.substring(eq + 1)));
        }
        String upper = item.toUpperCase(Locale.ROOT);
        String line = STANDARD_LINES.get(upper);
        if (line != null) return new BenchProblem(upper, ConvSpec.parse(line));
        try {
            return new BenchProblem(item, ConvSpec.parse(item));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("problems item = \"" + item + "\": neither a standard name ("
                    + String.join(", ", STANDARD_LINES.keySet()) + ") nor a problem line (" + e.getMessage()
                    + "); e.g. P1 or tiny=mb1ic2ih5oc3kh3ph1", e);
        }
    }
}
