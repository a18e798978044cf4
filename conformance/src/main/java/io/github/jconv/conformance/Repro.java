package io.github.jconv.conformance;

import io.github.jconv.DType;
import io.github.jconv.Pass;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How one failing case is written wherever a failure is reported (the conformance suite, the
 * cross-check, the shrinker, {@code jconv bench}):
 * <pre>
 * pass=BACKWARD_DATA dtype=FP32 g1mb2ic3ih7iw6oc4kh3kw3ph1pw1
 * pass=FORWARD dtype=FP32 dg1mb1ic2ih5oc2kh3ph1 offsets=far
 * </pre>
 * the pass, the dtype, then the problem line with the catalogue options that change its data
 * ({@code offsets=}). {@link #parse} reads the text back, and {@link Shrinker} takes it after the backend
 * name. The data of a case follow from the line and the offsets option alone ({@link Problem#seed()}).
 */
public record Repro(Pass pass, DType dtype, Problem problem) {
    public Repro {
        if (pass == null) throw new IllegalArgumentException("pass = null: give the pass that failed, e.g. Pass.FORWARD");
        if (dtype == null) throw new IllegalArgumentException("dtype = null: give the dtype it failed in, e.g. DType.FP32");
        if (problem == null) throw new IllegalArgumentException("problem = null: give the problem, e.g. Problem.of(\"mb1ic3ih8oc4kh3\")");
    }

    /** The problem line and, where not the default, its offsets option: the part a catalogue file would hold. */
    public String problemText() {
        return problem.line() + (problem.offsets() == Offsets.NORMAL ? "" : " offsets=" + problem.offsets().name().toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
        return "pass=" + pass + " dtype=" + dtype + " " + problemText();
    }

    /** Reads {@code pass=P dtype=D <problem line> [offsets=...]} (the words in any order; names in any case). */
    public static Repro parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("repro = \"" + text + "\": give pass=PASS dtype=DTYPE LINE, e.g. pass=FORWARD dtype=FP32 mb1ic3ih8oc4kh3");
        }
        Pass pass = null;
        DType dtype = null;
        List<String> rest = new ArrayList<>();
        for (String word : text.strip().split("\\s+")) {
            String lower = word.toLowerCase(Locale.ROOT);
            if (lower.startsWith("pass=")) {
                String v = word.substring(5).toUpperCase(Locale.ROOT);
                try {
                    pass = Pass.valueOf(v);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("pass = " + word.substring(5) + ": must be one of " + List.of(Pass.values())
                            + "; e.g. pass=FORWARD", e);
                }
            } else if (lower.startsWith("dtype=")) {
                String v = word.substring(6).toUpperCase(Locale.ROOT);
                try {
                    dtype = DType.valueOf(v);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("dtype = " + word.substring(6) + ": must be one of " + List.of(DType.values())
                            + "; e.g. dtype=FP32", e);
                }
            } else {
                rest.add(word);
            }
        }
        if (pass == null || dtype == null || rest.isEmpty()) {
            throw new IllegalArgumentException("repro = \"" + text.strip() + "\": needs pass=, dtype= and a problem line; "
                    + "e.g. pass=FORWARD dtype=FP32 mb1ic3ih8oc4kh3");
        }
        List<Problem> ps = Catalogue.parse("repro", String.join(" ", rest));
        return new Repro(pass, dtype, ps.get(0));
    }
}
