package io.github.jconv;

import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which provider to open: a pure function of the probes, the request and the fallback policy, so
 * that "why did it pick that?" is answered in one place and tested without hardware.
 */
public final class BackendSelection {
    /** A provider and what its probe said. */
    public record Candidate(ConvBackendProvider provider, ProbeResult probe) {
    }

    /** The choice, and a sentence saying how it was made. */
    public record Decision(Candidate chosen, String report, boolean fellBack) {
    }

    private BackendSelection() {
    }

    public static Decision choose(List<Candidate> candidates, EngineOptions options) {
        List<Candidate> byPriority = new ArrayList<>(candidates);
        byPriority.sort(Comparator.comparingInt((Candidate c) -> c.provider().priority()).reversed()
                .thenComparing(c -> c.provider().name()));
        Optional<Candidate> best = byPriority.stream().filter(c -> c.probe().available()).findFirst();
        String requested = options.backend();
        if (requested == null) {
            Candidate c = best.orElseThrow(() -> new IllegalStateException(
                    "no convolution backend is available: " + describe(byPriority)
                            + "; add jconv-cpu to the classpath for the always-available CPU backend"));
            return new Decision(c, "backend " + c.provider().name() + " chosen by priority among available: "
                    + names(byPriority, true), false);
        }
        Optional<Candidate> asked = byPriority.stream().filter(c -> c.provider().name().equals(requested)).findFirst();
        if (asked.isPresent() && asked.get().probe().available()) {
            return new Decision(asked.get(), "backend " + requested + " chosen explicitly", false);
        }
        String why = asked.map(c -> "backend " + requested + " is unavailable: " + c.probe().reason()
                        + (c.probe().fix().isEmpty() ? "" : " (fix: " + c.probe().fix() + ")"))
                .orElse("backend " + requested + " is not on the classpath; known: " + names(byPriority, false));
        if (options.fallback() == FallbackPolicy.FAIL || best.isEmpty()) {
            throw new IllegalStateException(why + (options.fallback() == FallbackPolicy.FAIL
                    ? "; fallback policy FAIL (set jconv.fallback=WARN to fall back)" : "; and no other backend is available"));
        }
        Candidate c = best.get();
        return new Decision(c, why + "; fell back to " + c.provider().name() + " (policy " + options.fallback() + ")", true);
    }

    private static String names(List<Candidate> cs, boolean availableOnly) {
        StringBuilder b = new StringBuilder();
        for (Candidate c : cs) {
            if (availableOnly && !c.probe().available()) continue;
            if (b.length() > 0) b.append(", ");
            b.append(c.provider().name());
        }
        return b.length() == 0 ? "none" : b.toString();
    }

    private static String describe(List<Candidate> cs) {
        if (cs.isEmpty()) return "no provider found by ServiceLoader";
        StringBuilder b = new StringBuilder();
        for (Candidate c : cs) {
            if (b.length() > 0) b.append("; ");
            b.append(c.provider().name()).append(": ").append(c.probe().reason());
        }
        return b.toString();
    }
}
