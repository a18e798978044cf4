package io.github.jconv;

/** What the engine does when the backend asked for is unavailable. Never silent: the engine reports what ran. */
public enum FallbackPolicy {
    /** Throw, with the provider's reason and fix. */
    FAIL,
    /** Use the best available backend and log a warning once. */
    WARN,
    /** Use the best available backend; {@link ConvEngine#selectionReport()} still says so. */
    ALLOW
}
