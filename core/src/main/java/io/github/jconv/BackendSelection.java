package io.github.jconv;

import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Which provider to open: a pure function of the providers, their probes, the request and the
 * fallback policy, so that "why did it pick that?" is answered in one place and tested without
 * hardware.
 *
 * <p>The rules:
 * <ul>
 *   <li><b>Rank.</b> A provider's rank is its static {@link ConvBackendProvider#priority()}
 *   (cuda 300, opencl 200, cpu 100), except that a provider other than the pure-Java {@code cpu}
 *   backend whose device is of kind CPU ({@link DeviceInfo#type()} "CPU", any case) ranks
 *   {@value #CPU_DEVICE_PENALTY} lower: an OpenCL platform that offers only CPU devices (PoCL) is
 *   20–40× slower than the pure-Java backend on the same cores, so it is chosen only when
 *   nothing else is available. A GPU or accelerator device, or a kind this rule does not know,
 *   keeps the static priority. The device ranked is the one that would be opened
 *   ({@link EngineOptions#device()} when the provider has it, else its device 0). See
 *   {@link #rank}. A rank is never above the static priority.</li>
 *   <li><b>Lazy probing, nothing named.</b> Providers are probed in static priority order (then
 *   name); probing stops as soon as no provider left can outrank the best usable one found, which
 *   is possible because a rank never exceeds the static priority. With cuda, opencl and cpu on the
 *   classpath: a usable cuda stops the search at once; else opencl is probed and a GPU device
 *   stops it; a CPU-only opencl ranks below cpu, so cpu is probed and wins.</li>
 *   <li><b>A named backend</b> ({@code jconv.backend}) is probed alone; a name no provider has is
 *   an {@link IllegalArgumentException} that lists the known names, whatever the policy. If the
 *   named backend is unavailable, the others are probed as above, to fall back (WARN, ALLOW) or
 *   to suggest one that is available (FAIL).</li>
 * </ul>
 */
public final class BackendSelection {
    /** The name of the pure-Java backend, the yardstick for backends that run on CPU devices. */
    public static final String PURE_JAVA = "cpu";
    /** How far a non-pure-Java backend on a CPU device drops below its static priority. */
    public static final int CPU_DEVICE_PENALTY = 1000;

    /** A provider and what its probe said. */
    public record Candidate(ConvBackendProvider provider, ProbeResult probe) {
    }

    /** The choice, and a sentence saying how it was made. */
    public record Decision(Candidate chosen, String report, boolean fellBack) {
    }

    private BackendSelection() {
    }

    /**
     * The rank of a usable provider whose device {@code device} would be opened (null: no device
     * known, the static priority stands). Pure: no probing, no I/O.
     */
    public static int rank(String providerName, int priority, DeviceInfo device) {
        if (device != null && isCpuKind(device.type()) && !PURE_JAVA.equals(providerName)) {
            return priority - CPU_DEVICE_PENALTY;
        }
        return priority;
    }

    /** Whether a {@link DeviceInfo#type()} names a CPU device ("CPU" from OpenCL and cpu, any case). */
    public static boolean isCpuKind(String type) {
        return type != null && type.strip().toUpperCase(Locale.ROOT).equals("CPU");
    }

    /** The device of {@code probe} that a session would open with {@code options}, or null if none. */
    static DeviceInfo deviceToRank(ProbeResult probe, EngineOptions options) {
        List<DeviceInfo> ds = probe.devices();
        if (ds.isEmpty()) return null;
        return options.device() < ds.size() ? ds.get(options.device()) : ds.get(0);
    }

    /** The rank of a candidate whose probe said it is available. */
    static int rank(Candidate c, EngineOptions options) {
        return rank(c.provider().name(), c.provider().priority(), deviceToRank(c.probe(), options));
    }

    /** Selection when every probe is already known (the {@code jconv probe} command). */
    public static Decision choose(List<Candidate> candidates, EngineOptions options) {
        if (candidates == null) throw new IllegalArgumentException("candidates = null: pass the probed providers");
        Map<ConvBackendProvider, ProbeResult> known = new HashMap<>();
        List<ConvBackendProvider> providers = new ArrayList<>();
        for (Candidate c : candidates) {
            providers.add(c.provider());
            known.put(c.provider(), c.probe());
        }
        return choose(providers, options, known::get);
    }

    /**
     * Selection that probes lazily: {@code prober} is called only for the providers the rules above
     * need, each at most once, in static priority order.
     */
    public static Decision choose(List<ConvBackendProvider> providers, EngineOptions options,
                                  Function<ConvBackendProvider, ProbeResult> prober) {
        if (providers == null) throw new IllegalArgumentException("providers = null: pass ConvEngine.providers()");
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.defaults()");
        if (prober == null) throw new IllegalArgumentException("prober = null: pass ConvEngine::probe");
        List<ConvBackendProvider> order = new ArrayList<>(providers);
        order.sort(Comparator.comparingInt(ConvBackendProvider::priority).reversed().thenComparing(ConvBackendProvider::name));
        Map<ConvBackendProvider, ProbeResult> probed = new HashMap<>();
        Function<ConvBackendProvider, ProbeResult> once = p -> probed.computeIfAbsent(p, prober);

        String requested = options.backend();
        if (requested == null) {
            Search s = search(order, null, options, once);
            if (s.best == null) {
                throw new IllegalStateException("no convolution backend is available: " + s.log
                        + "; add jconv-cpu (io.github.jconv:jconv-cpu) to the classpath for the always-available CPU backend");
            }
            return new Decision(s.best, "backend " + s.best.provider().name() + " chosen by rank: " + s.log, false);
        }
        ConvBackendProvider asked = order.stream().filter(p -> p.name().equals(requested)).findFirst().orElse(null);
        if (asked == null) {
            throw new IllegalArgumentException("jconv.backend = " + requested + ": no backend of that name is on the classpath; known: "
                    + names(order) + (order.isEmpty() ? "" : "; e.g. jconv.backend=" + order.get(order.size() - 1).name())
                    + " (or unset it to choose by rank)");
        }
        ProbeResult ap = once.apply(asked);
        if (ap.available()) {
            return new Decision(new Candidate(asked, ap), "backend " + requested + " chosen explicitly", false);
        }
        String why = "backend " + requested + " is unavailable: " + ap.reason() + (ap.fix().isEmpty() ? "" : " (fix: " + ap.fix() + ")");
        Search s = search(order, asked, options, once);
        if (options.fallback() == FallbackPolicy.FAIL) {
            throw new IllegalStateException(why + "; fallback policy FAIL" + (s.best == null
                    ? "; and no other backend is available: " + s.log
                    : "; available instead: " + s.best.provider().name() + " (use it with -Djconv.backend=" + s.best.provider().name()
                    + " or JCONV_BACKEND=" + s.best.provider().name()
                    + "; or fall back to it with -Djconv.fallback=WARN or JCONV_FALLBACK=WARN)"));
        }
        if (s.best == null) {
            throw new IllegalStateException(why + "; and no other backend is available: " + s.log);
        }
        return new Decision(s.best, why + "; fell back to " + s.best.provider().name() + " (policy " + options.fallback()
                + "); others: " + s.log, true);
    }

    /** The best usable provider other than {@code skip}, probing only while one left could still win. */
    private record Search(Candidate best, String log) {
    }

    private static Search search(List<ConvBackendProvider> order, ConvBackendProvider skip, EngineOptions options,
                                 Function<ConvBackendProvider, ProbeResult> probe) {
        Candidate best = null;
        int bestRank = Integer.MIN_VALUE;
        StringBuilder log = new StringBuilder();
        List<String> notProbed = new ArrayList<>();
        for (ConvBackendProvider p : order) {
            if (p == skip) continue;
            // a rank never exceeds the static priority, and ties go to the provider probed first
            if (best != null && p.priority() <= bestRank) {
                notProbed.add(p.name());
                continue;
            }
            ProbeResult r = probe.apply(p);
            if (log.length() > 0) log.append("; ");
            log.append(p.name());
            if (!r.available()) {
                log.append(" unavailable (").append(r.reason()).append(')');
                continue;
            }
            Candidate c = new Candidate(p, r);
            int rank = rank(c, options);
            DeviceInfo d = deviceToRank(r, options);
            log.append(" rank ").append(rank);
            if (rank < p.priority()) {
                log.append(" (priority ").append(p.priority()).append(" less ").append(CPU_DEVICE_PENALTY)
                        .append(": its device ").append(d.name()).append(" is a CPU, where the pure-Java backend ")
                        .append(PURE_JAVA).append(" is faster)");
            }
            if (best == null || rank > bestRank) {
                best = c;
                bestRank = rank;
            }
        }
        if (log.length() == 0) log.append(skip == null ? "no provider found by ServiceLoader" : "no other provider");
        if (!notProbed.isEmpty()) log.append("; not probed (cannot outrank it): ").append(String.join(", ", notProbed));
        return new Search(best, log.toString());
    }

    private static String names(List<ConvBackendProvider> ps) {
        if (ps.isEmpty()) return "none (no provider found by ServiceLoader)";
        StringBuilder b = new StringBuilder();
        for (ConvBackendProvider p : ps) {
            if (b.length() > 0) b.append(", ");
            b.append(p.name());
        }
        return b.toString();
    }
}
