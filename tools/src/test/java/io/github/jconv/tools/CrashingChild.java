package io.github.jconv.tools;

/** Stands in for a child JVM whose native layer aborts: it ends with SIGABRT's exit code at once. */
final class CrashingChild {
    private CrashingChild() {
    }

    public static void main(String[] args) {
        Runtime.getRuntime().halt(134);
    }
}
