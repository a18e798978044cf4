package io.github.jconv.equivalence;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** The backends that must be present: env JCONV_REQUIRE_BACKENDS (or -Djconv.requireBackends), a comma list. */
public final class RequiredBackends {
    private RequiredBackends() {
    }

    public static Set<String> fromEnvironment() {
        String v = System.getProperty("jconv.requireBackends");
        if (v == null || v.isBlank()) v = System.getenv("JCONV_REQUIRE_BACKENDS");
        return parse(v);
    }

    public static Set<String> parse(String v) {
        if (v == null || v.isBlank()) return Set.of();
        return Arrays.stream(v.split(",")).map(s -> s.strip().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }
}
