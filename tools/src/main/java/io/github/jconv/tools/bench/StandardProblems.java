package io.github.jconv.tools.bench;

import java.util.Map;

/** The benchmark problems P1-P8 and D1 by name, as problem lines (docs/bench-problems.md), for the other commands. */
public final class StandardProblems {
    private StandardProblems() {
    }

    /** Name to problem line, in the order of docs/bench-problems.md; unmodifiable. */
    public static Map<String, String> lines() {
        return BenchProblem.STANDARD_LINES;
    }
}
