package io.github.jconv.conformance;

/** The verdict of one case. */
public enum Status {
    /** Ran and matched the reference. */
    PASSED,
    /** The backend's supports() said no; the reason is kept. Never used for a case it declared it supports. */
    UNSUPPORTED,
    /** Wrong answer, an exception, or a declared-supported case that refused to run; the message has the problem line. */
    FAILED
}
