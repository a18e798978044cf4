package io.github.jconv.conformance;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.spi.ConvBackendProvider;

import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes a failing problem small: lowers one number of its problem line at a time (batch, channels,
 * sizes, kernel, stride, padding, dilation, groups, flags) and keeps every change after which the
 * same check still fails, until no single change keeps it failing. The result is the line to debug.
 *
 * <pre>
 * java -cp jconv-conformance.jar:jconv-core.jar:&lt;backend jars&gt; \
 *     io.github.jconv.conformance.Shrinker cpu pass=FORWARD dtype=FP32 g2mb1ic4id5ih4iw2oc4kd3kh1kw3sd3sh2sw1pd2ph1pw1pdr2phr0pwr2dd1dh1dw2
 * </pre>
 * The arguments after the backend are a failure's {@link Repro} as every report prints it; the older
 * order {@code <problem line> [dtype] [check]} is read too. It prints the smallest failing case in the same form.
 */
public final class Shrinker {
    private static final Pattern TOKEN = Pattern.compile("([a-z]+)(\\d+)");

    private Shrinker() {
    }

    /**
     * The smallest problem reachable from {@code start} by lowering numbers one at a time while
     * {@code fails} holds. {@code start} itself must fail.
     */
    public static Problem minimize(Problem start, Predicate<Problem> fails) {
        if (start == null) throw new IllegalArgumentException("start = null: pass the failing problem");
        if (!fails.test(start)) {
            throw new IllegalArgumentException("start = " + start.label() + ": it does not fail, so there is nothing to shrink");
        }
        Problem cur = start;
        boolean changed = true;
        while (changed) {
            changed = false;
            String line = cur.line();
            Matcher m = TOKEN.matcher(line);
            while (m.find() && !changed) {
                int value = Integer.parseInt(m.group(2));
                for (int v = 0; v < value && !changed; v++) {
                    Problem cand = variant(cur, line.substring(0, m.start(2)) + v + line.substring(m.end(2)));
                    if (cand != null && !cand.line().equals(line) && fails.test(cand)) {
                        cur = cand;
                        changed = true;
                    }
                }
            }
            // a bug may need the axes of one family equal (a square kernel): lower them together
            for (String family : FAMILIES) {
                if (changed) break;
                Pattern fam = Pattern.compile("(" + family + ")(\\d+)");
                int max = 0;
                Matcher fm = fam.matcher(line);
                while (fm.find()) max = Math.max(max, Integer.parseInt(fm.group(2)));
                for (int v = 0; v < max && !changed; v++) {
                    String all = fam.matcher(line).replaceAll("$1" + v);
                    Problem cand = variant(cur, all);
                    if (cand != null && !cand.line().equals(line) && fails.test(cand)) {
                        cur = cand;
                        changed = true;
                    }
                }
            }
        }
        return cur;
    }

    /** Per-axis families: input, kernel, stride, padding (low, high), dilation, output_padding. */
    private static final String[] FAMILIES = {"i[dhw]", "k[dhw]", "s[dhw]", "(?<!o)p[dhw](?!r)", "(?<!o)p[dhw]r", "d[dhw]", "op[dhw]"};

    /** Minimizes a failure of {@code check} ("FORWARD", "BACKWARD_DATA", ...) in {@code dtype} on this provider. */
    public static Problem minimize(ConvBackendProvider provider, Problem start, DType dtype, String check) {
        return minimize(start, p -> ConformanceSuite.of(provider).dtypes(dtype).problems(List.of(p)).run().failures().stream()
                .anyMatch(r -> r.check().equals(check)));
    }

    /** Minimizes a failure given in its {@link Repro} form; the result keeps the pass and the dtype. */
    public static Repro minimize(ConvBackendProvider provider, Repro failing) {
        return new Repro(failing.pass(), failing.dtype(), minimize(provider, failing.problem(), failing.dtype(), failing.pass().name()));
    }

    private static Problem variant(Problem p, String line) {
        try {
            ConvSpec s = ConvSpec.parse(line);
            boolean deformable = s.type() == io.github.jconv.ConvType.DEFORMABLE;
            return new Problem(s, p.name(), deformable ? p.offsets() : Offsets.NORMAL, p.forwardOnly(), "shrunk from " + p.line());
        } catch (IllegalArgumentException invalid) {
            return null; // not a valid problem: that number cannot go lower this way
        }
    }

    /**
     * {@code Shrinker <backend> pass=PASS dtype=DTYPE <problem line> [offsets=...]} (a failure's repro as
     * printed), or {@code Shrinker <backend> <problem line> [dtype] [check]}: prints the smallest failing case as a repro.
     */
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: Shrinker <backend> pass=FORWARD|BACKWARD_DATA|... dtype=FP32|FP64 <problem line> [offsets=...]"
                    + System.lineSeparator() + "   or: Shrinker <backend> <problem line> [FP32|FP64] [FORWARD|BACKWARD_DATA|...]");
            System.exit(2);
        }
        ConvBackendProvider provider = ConvEngine.providers().stream().filter(p -> p.name().equals(args[0])).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("backend = " + args[0] + ": not on the classpath; known: "
                        + ConvEngine.providers().stream().map(ConvBackendProvider::name).toList()));
        System.out.println(minimize(provider, reproOf(java.util.Arrays.copyOfRange(args, 1, args.length))));
    }

    /** The case named by the arguments after the backend: a repro, or the older {@code line [dtype] [check]}. */
    static Repro reproOf(String[] args) {
        String joined = String.join(" ", args);
        if (joined.toLowerCase(java.util.Locale.ROOT).matches(".*\\b(pass|dtype)=.*")) return Repro.parse(joined);
        DType dtype = args.length > 1 ? DType.valueOf(args[1]) : DType.FP32;
        io.github.jconv.Pass pass = args.length > 2 ? io.github.jconv.Pass.valueOf(args[2]) : io.github.jconv.Pass.FORWARD;
        return new Repro(pass, dtype, Problem.of(args[0]));
    }
}
