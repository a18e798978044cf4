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

    @Override
    public String toString() {
        return status + " " + backend + " " + caseName() + " " + problem.label() + (message.isEmpty() ? "" : " -- " + message);
    }
}
