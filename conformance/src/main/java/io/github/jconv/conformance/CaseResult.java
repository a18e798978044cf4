package io.github.jconv.conformance;

import io.github.jconv.DType;

/**
 * One case of a conformance run: a backend, a problem, a dtype and a check (a pass, or the
 * zero-offset identity), with its verdict and, unless it passed, the reason.
 */
public record CaseResult(Status status, String backend, Problem problem, DType dtype, String check, String message,
                         long nanos, Throwable error) {
    public CaseResult(Status status, String backend, Problem problem, DType dtype, String check, String message) {
        this(status, backend, problem, dtype, check, message, 0, null);
    }

    /** The same result with its run time (reference included). */
    public CaseResult withNanos(long n) {
        return new CaseResult(status, backend, problem, dtype, check, message, n, error);
    }

    /** The same result with the exception that caused it, kept for its stack trace. */
    public CaseResult withError(Throwable t) {
        return new CaseResult(status, backend, problem, dtype, check, message, nanos, t);
    }

    /** The case's name: "FP32 FORWARD", "FP64 BACKWARD_DATA", "FP32 zero offsets equal plain conv". */
    public String caseName() {
        return dtype + " " + check;
    }

    /**
     * The case in the one form every failure report uses ({@link Repro}). The zero-offset identity check
     * is repeated by its problem's forward pass at {@code offsets=zero}; the gradients in one call by its
     * data gradient alone (a repro names one pass; the message names the outputs that failed).
     */
    public Repro repro() {
        for (io.github.jconv.Pass p : io.github.jconv.Pass.values()) {
            if (p.name().equals(check)) return new Repro(p, dtype, problem);
        }
        if (check.equals(ConformanceSuite.ALL_GRADIENTS)) return new Repro(io.github.jconv.Pass.BACKWARD_DATA, dtype, problem);
        boolean deformable = problem.spec().type() == io.github.jconv.ConvType.DEFORMABLE;
        return new Repro(io.github.jconv.Pass.FORWARD, dtype, !deformable ? problem
                : new Problem(problem.spec(), problem.name(), Offsets.ZERO, problem.forwardOnly(), problem.source()));
    }

    /** "STATUS backend DTYPE CHECK label -- message"; a failure ends with "-- repro: " and {@link #repro()}. */
    @Override
    public String toString() {
        return status + " " + backend + " " + caseName() + " " + problem.label() + (message.isEmpty() ? "" : " -- " + message)
                + (status == Status.FAILED ? " -- repro: " + repro() : "");
    }
}
