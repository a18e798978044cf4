package io.github.jconv.tools.bench;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Collects the rounds of both sides and reduces them: per case, the median of the round medians,
 * the fastest single call, and the spread of the round medians (the machine's noise).
 */
final class BenchResults {
    static final List<String> CSV_COLUMNS = List.of("problem", "pass", "line", "flops", "backend", "threads", "rounds",
            "jconv_ms", "jconv_min_ms", "jconv_round_lo_ms", "jconv_round_hi_ms", "jconv_samples", "jconv_gflops",
            "peer", "peer_ms", "peer_round_lo_ms", "peer_round_hi_ms", "peer_gflops", "ratio",
            "peak_scratch_bytes", "algorithm", "other_cores_jconv", "other_cores_peer", "note", "precision");

    /**
     * One reduced case; times in ms, NaN where that side has no number. otherCores*: cores that other
     * processes kept busy while that side ran, averaged over the rounds (the noise the numbers carry).
     */
    record Row(String problem, BenchPass pass, String line, long flops, double jconvMs, double jconvMinMs,
               double jconvRoundLoMs, double jconvRoundHiMs, int jconvSamples, String peer, double peerMs,
               double peerRoundLoMs, double peerRoundHiMs, long peakScratchBytes, String algorithm,
               double otherCoresJconv, double otherCoresPeer, String note) {
        double jconvGflops() {
            return jconvMs > 0 ? Stats.gflops(flops, jconvMs) : Double.NaN;
        }

        double peerGflops() {
            return peerMs > 0 ? Stats.gflops(flops, peerMs) : Double.NaN;
        }

        /** jconv throughput over the peer's: peer time over jconv time; NaN when a side is missing. */
        double ratio() {
            return jconvMs > 0 && peerMs > 0 ? Stats.throughputRatio(jconvMs, peerMs) : Double.NaN;
        }
    }

    private static final class Case {
        final BenchProblem problem;
        final BenchPass pass;
        final List<JconvRunner.RoundTiming> jconv = new ArrayList<>();
        final List<Double> peerMs = new ArrayList<>();
        final List<Double> othersJconv = new ArrayList<>();
        final List<Double> othersPeer = new ArrayList<>();
        String peer = "";
        String algorithm = "";
        long scratch = -1;
        String note = "";

        Case(BenchProblem problem, BenchPass pass) {
            this.problem = problem;
            this.pass = pass;
        }
    }

    private final Map<String, Case> cases = new LinkedHashMap<>();
    private final String mode;

    BenchResults(List<BenchProblem> problems, List<BenchPass> passes) {
        this(problems, passes, "fp32");
    }

    /** {@code mode}: the precision label (fp32, tf32, fp64, fp16, bf16); only peer rows of that mode are kept. */
    BenchResults(List<BenchProblem> problems, List<BenchPass> passes, String mode) {
        this.mode = mode;
        for (BenchProblem p : problems) {
            for (BenchPass pass : passes) cases.put(key(p.name(), pass), new Case(p, pass));
        }
    }

    private static String key(String problem, BenchPass pass) {
        return problem + "\u0000" + pass.label();
    }

    void addJconv(BenchProblem problem, JconvRunner.ProblemRound round) {
        for (Case c : cases.values()) {
            if (!c.problem.name().equals(problem.name())) continue;
            JconvRunner.RoundTiming t = round.timings().get(c.pass);
            if (t != null) c.jconv.add(t);
            String failure = round.failures().get(c.pass);
            if (failure != null) c.note = failure;
            if (!round.algorithm().isEmpty()) c.algorithm = round.algorithm();
            c.scratch = Math.max(c.scratch, round.peakScratchBytes());
        }
    }

    /** Adds one peer run's rows for the problems and passes of this benchmark, in this benchmark's mode only. */
    void addPeer(List<PeerCsv.Row> rows) {
        for (PeerCsv.Row r : rows) {
            if (!r.mode().equals(mode)) continue;
            Case c = cases.get(key(r.problem(), r.pass()));
            if (c == null || !c.problem.isStandard()) continue;
            c.peerMs.add(r.medianMs());
            c.peer = r.peer();
        }
    }

    /** Records the other processes' load while one side timed a problem (NaN: unknown, ignored). */
    void addLoad(String problem, boolean peerSide, double otherCores) {
        if (Double.isNaN(otherCores)) return;
        for (Case c : cases.values()) {
            if (c.problem.name().equals(problem)) (peerSide ? c.othersPeer : c.othersJconv).add(otherCores);
        }
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    void notePeerFailure(String why) {
        for (Case c : cases.values()) {
            if (c.problem.isStandard() && c.note.isEmpty()) c.note = why;
        }
    }

    List<Row> rows() {
        List<Row> out = new ArrayList<>();
        for (Case c : cases.values()) {
            List<Double> medians = new ArrayList<>();
            List<Double> mins = new ArrayList<>();
            int samples = 0;
            for (JconvRunner.RoundTiming t : c.jconv) {
                medians.add(t.medianMs());
                mins.add(t.minMs());
                samples += t.samples();
            }
            boolean j = !medians.isEmpty();
            boolean p = !c.peerMs.isEmpty();
            out.add(new Row(c.problem.name(), c.pass, c.problem.spec().toString(), c.pass.flops(c.problem.spec().forwardFlops()),
                    j ? Stats.median(medians) : Double.NaN, j ? Stats.min(mins) : Double.NaN,
                    j ? Stats.min(medians) : Double.NaN, j ? Stats.max(medians) : Double.NaN, samples,
                    c.peer, p ? Stats.median(c.peerMs) : Double.NaN, p ? Stats.min(c.peerMs) : Double.NaN,
                    p ? Stats.max(c.peerMs) : Double.NaN, c.scratch, c.algorithm, mean(c.othersJconv), mean(c.othersPeer), c.note));
        }
        return out;
    }

    static void writeCsv(Path path, List<Row> rows, String backend, String threads, int rounds) throws IOException {
        writeCsv(path, rows, backend, threads, rounds, "fp32");
    }

    static void writeCsv(Path path, List<Row> rows, String backend, String threads, int rounds, String precision) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        try (Writer w = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
            w.write(String.join(",", CSV_COLUMNS));
            w.write('\n');
            for (Row r : rows) {
                List<String> f = List.of(r.problem(), r.pass().label(), r.line(), Long.toString(r.flops()), backend, threads,
                        Integer.toString(rounds), num(r.jconvMs()), num(r.jconvMinMs()), num(r.jconvRoundLoMs()),
                        num(r.jconvRoundHiMs()), Integer.toString(r.jconvSamples()), num(r.jconvGflops()), r.peer(),
                        num(r.peerMs()), num(r.peerRoundLoMs()), num(r.peerRoundHiMs()), num(r.peerGflops()),
                        num(r.ratio()), r.peakScratchBytes() < 0 ? "" : Long.toString(r.peakScratchBytes()),
                        r.algorithm(), num(r.otherCoresJconv()), num(r.otherCoresPeer()), r.note(), precision);
                List<String> quoted = new ArrayList<>();
                for (String s : f) quoted.add(csvField(s));
                w.write(String.join(",", quoted));
                w.write('\n');
            }
        }
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0) return s;
        return '"' + s.replace("\"", "\"\"").replace('\n', ' ') + '"';
    }

    /** The table printed on stdout. */
    static String table(List<Row> rows, boolean withPeer) {
        StringBuilder b = new StringBuilder();
        String head = withPeer
                ? String.format(Locale.ROOT, "%-8s %-8s %10s %21s %9s %10s %21s %9s %7s %9s %12s  %s%n", "problem", "pass",
                "jconv ms", "(round lo..hi)", "GFLOP/s", "peer ms", "(round lo..hi)", "GFLOP/s", "ratio", "others", "scratch B", "algorithm")
                : String.format(Locale.ROOT, "%-8s %-8s %10s %21s %10s %9s %7s %12s  %s%n", "problem", "pass",
                "jconv ms", "(round lo..hi)", "min ms", "GFLOP/s", "others", "scratch B", "algorithm");
        b.append(head);
        for (Row r : rows) {
            String scratch = r.peakScratchBytes() < 0 ? "-" : Long.toString(r.peakScratchBytes());
            String alg = r.note().isEmpty() ? r.algorithm() : r.algorithm() + " [" + r.note() + "]";
            if (withPeer) {
                b.append(String.format(Locale.ROOT, "%-8s %-8s %10s %21s %9s %10s %21s %9s %7s %9s %12s  %s%n", r.problem(),
                        r.pass().label(), ms(r.jconvMs()), range(r.jconvRoundLoMs(), r.jconvRoundHiMs()), g(r.jconvGflops()),
                        ms(r.peerMs()), range(r.peerRoundLoMs(), r.peerRoundHiMs()), g(r.peerGflops()),
                        Double.isNaN(r.ratio()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.ratio()),
                        cores(r.otherCoresJconv()) + "/" + cores(r.otherCoresPeer()), scratch, alg));
            } else {
                b.append(String.format(Locale.ROOT, "%-8s %-8s %10s %21s %10s %9s %7s %12s  %s%n", r.problem(), r.pass().label(),
                        ms(r.jconvMs()), range(r.jconvRoundLoMs(), r.jconvRoundHiMs()), ms(r.jconvMinMs()),
                        g(r.jconvGflops()), cores(r.otherCoresJconv()), scratch, alg));
            }
        }
        return b.toString();
    }

    private static String cores(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static String g(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String range(double lo, double hi) {
        return Double.isNaN(lo) ? "" : String.format(Locale.ROOT, "(%.3f..%.3f)", lo, hi);
    }
}
