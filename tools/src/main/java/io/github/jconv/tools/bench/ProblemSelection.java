package io.github.jconv.tools.bench;

import io.github.jconv.conformance.Catalogue;
import io.github.jconv.conformance.Problem;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which problems {@code bench} times, in benchdnn's manner: {@code --problems} (names P1-P8, D1 of the
 * kit's benchmark set, NAME=LINE, bare lines), {@code --batch} (problem lines from a file in the
 * catalogue's format, or a catalogue of the conformance kit by name), then {@code --match} (keep
 * the problems whose name or line a regular expression finds) and {@code --mb} (every problem at
 * that batch). Without --problems and --batch: the benchmark set.
 */
final class ProblemSelection {
    /** The standard set, by name. */
    static final String DEFAULT = String.join(",", BenchProblem.STANDARD_LINES.keySet());

    private ProblemSelection() {
    }

    /**
     * @param problems the --problems text, or null when not given
     * @param batches  the --batch files or catalogue names, in order (may be empty)
     * @param match    the --match expression, or null
     * @param mb       the --mb batch, or null to keep each problem's own
     */
    static List<BenchProblem> select(String problems, List<String> batches, String match, Integer mb) {
        List<BenchProblem> all = new ArrayList<>();
        if (problems != null) all.addAll(BenchProblem.parseList(problems));
        for (String b : batches) all.addAll(batch(b));
        if (problems == null && batches.isEmpty()) all.addAll(BenchProblem.parseList(DEFAULT));
        if (match != null) all = match(all, match);
        if (mb != null) all = withBatch(all, mb);
        return distinct(all);
    }

    /** A file of problem lines (catalogue format), else a catalogue of the kit by name (e.g. resnet50). */
    static List<BenchProblem> batch(String where) {
        if (where == null || where.isBlank()) {
            throw new IllegalArgumentException("batch = \"" + where + "\": give a file of problem lines or a catalogue name; e.g. --batch problems.txt or --batch resnet50");
        }
        Path file = Path.of(where);
        List<Problem> ps;
        if (Files.isRegularFile(file)) {
            ps = Catalogue.read(file);
        } else if (Catalogue.names().contains(where)) {
            ps = Catalogue.load(where);
        } else {
            throw new IllegalArgumentException("batch = " + where + ": no such file, nor a catalogue of the conformance kit (known: "
                    + String.join(", ", Catalogue.names()) + "); e.g. --batch problems.txt or --batch resnet50");
        }
        if (ps.isEmpty()) {
            throw new IllegalArgumentException("batch = " + where + ": holds no problem line; give one per line, e.g. mb1ic3ih8oc4kh3 tiny");
        }
        List<BenchProblem> out = new ArrayList<>();
        for (Problem p : ps) out.add(new BenchProblem(p.name().isEmpty() ? p.line() : p.name(), p.spec()));
        return out;
    }

    /** The problems whose name or problem line {@code regex} finds (anywhere, case-sensitive, as java.util.regex reads it). */
    static List<BenchProblem> match(List<BenchProblem> problems, String regex) {
        Pattern pattern;
        try {
            pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("match = " + regex + ": not a regular expression (" + e.getDescription()
                    + " at index " + e.getIndex() + "); e.g. --match 'P[1-4]' or --match dg1", e);
        }
        List<BenchProblem> out = new ArrayList<>();
        for (BenchProblem p : problems) {
            if (pattern.matcher(p.name()).find() || pattern.matcher(p.spec().toString()).find()) out.add(p);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("match = " + regex + ": matches no name or line of the " + problems.size()
                    + " problems chosen (" + names(problems) + "); e.g. --match " + (problems.isEmpty() ? "P1" : problems.get(0).name()));
        }
        return out;
    }

    /** Every problem at batch {@code mb}; their names stay, their lines change (so the peer, which knows P1-P8 and D1 at their own batch, skips them). */
    static List<BenchProblem> withBatch(List<BenchProblem> problems, int mb) {
        if (mb < 1 || mb > 65_536) throw new IllegalArgumentException("mb = " + mb + ": must be 1 to 65536; e.g. --mb 1");
        List<BenchProblem> out = new ArrayList<>();
        for (BenchProblem p : problems) out.add(new BenchProblem(p.name(), p.spec().toBuilder().batch(mb).build()));
        return out;
    }

    /** Drops a problem given twice; refuses one name for two different problems (their rows would merge). */
    private static List<BenchProblem> distinct(List<BenchProblem> problems) {
        Map<String, BenchProblem> byName = new LinkedHashMap<>();
        for (BenchProblem p : problems) {
            BenchProblem before = byName.putIfAbsent(p.name(), p);
            if (before != null && !before.spec().equals(p.spec())) {
                throw new IllegalArgumentException("problem name " + p.name() + " is given to two problems (" + before.spec() + " and "
                        + p.spec() + "); give them distinct names, e.g. " + p.name() + "b=" + p.spec());
            }
        }
        return List.copyOf(byName.values());
    }

    private static String names(List<BenchProblem> problems) {
        List<String> n = problems.stream().map(BenchProblem::name).limit(12).toList();
        return String.join(", ", n) + (problems.size() > n.size() ? ", ..." : "");
    }
}
