package io.github.jconv.reliability;

import io.github.jconv.ConvEngine;
import io.github.jconv.equivalence.RequiredBackends;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Assumptions;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** The backends these tests run on: every provider on the classpath; required ones fail if missing. */
final class Backends {
    private Backends() {
    }

    static List<String> names() {
        return ConvEngine.providers().stream().map(ConvBackendProvider::name).sorted().collect(Collectors.toList());
    }

    static Set<String> required() {
        return RequiredBackends.fromEnvironment();
    }

    /** Opens {@code name}'s first device, or skips (fails, when required) with the probe's reason. */
    static ConvEngine open(String name) {
        ConvBackendProvider p = ConvEngine.providers().stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no provider " + name));
        ProbeResult r = p.probe();
        if (!r.available()) {
            if (required().contains(name)) {
                throw new AssertionError("backend " + name + " is required by JCONV_REQUIRE_BACKENDS but unavailable: "
                        + r.reason() + " (fix: " + r.fix() + ")");
            }
            Assumptions.assumeTrue(false, "backend " + name + " unavailable: " + r.reason());
        }
        return ConvEngine.open(p, 0);
    }
}
