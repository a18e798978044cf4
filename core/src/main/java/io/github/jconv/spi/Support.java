package io.github.jconv.spi;

/** Whether a backend supports a request, and if not, why. */
public record Support(boolean supported, String reason) {
    private static final Support YES = new Support(true, "");

    public static Support yes() {
        return YES;
    }

    public static Support no(String reason) {
        return new Support(false, reason);
    }
}
