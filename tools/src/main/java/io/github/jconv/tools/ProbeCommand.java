package io.github.jconv.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.jconv.BackendSelection;
import io.github.jconv.ConvEngine;
import io.github.jconv.EngineOptions;
import io.github.jconv.spi.Capabilities;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Every provider, its devices, and a capability matrix established by known-answer runs. */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = {"Every backend provider, its devices and a capability matrix proven by known answers.",
                "Lists each provider (available or not, why, and the fix), each device, and the operation x dims x dtype",
                "matrix established by running a tiny known-answer case of each cell on that device."})
final class ProbeCommand implements java.util.concurrent.Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Option(names = "--isolate", description = "probe each provider in a child JVM, so that a native crash is reported instead of ending the probe")
    boolean isolate;

    @Option(names = {"-p", "--provider"}, description = "probe only this provider (cuda, opencl, cpu)")
    String provider;

    @Option(names = "--timeout", defaultValue = "300", description = "seconds an isolated child may take (default ${DEFAULT-VALUE})")
    int timeout;

    @Option(names = "--child-main", hidden = true, description = "main class of the isolated child (tests replace it)")
    String childMain = Main.class.getName();

    @Override
    public Integer call() {
        if (timeout < 1) throw new IllegalArgumentException("--timeout = " + timeout + ": must be at least 1 second; e.g. --timeout 300");
        List<ConvBackendProvider> all = ConvEngine.providers();
        List<ConvBackendProvider> chosen = new ArrayList<>();
        for (ConvBackendProvider p : all) if (provider == null || p.name().equalsIgnoreCase(provider.strip())) chosen.add(p);
        if (chosen.isEmpty() && provider != null) {
            List<String> names = new ArrayList<>();
            for (ConvBackendProvider p : all) names.add(p.name());
            throw new IllegalArgumentException("--provider = " + provider + ": no such provider on the classpath; known: " + names);
        }
        chosen.sort(java.util.Comparator.comparingInt(ConvBackendProvider::priority).reversed());
        List<ProbeReport.ProviderReport> reports = new ArrayList<>();
        for (ConvBackendProvider p : chosen) reports.add(isolate ? inChild(p) : probe(p));
        // isolated: no native probe in this JVM, so the selection is worked out from the children's reports
        ProbeReport report = summarise(reports, isolate ? selection(chosen, reports) : selection(all));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            try {
                out.println(JSON.writeValueAsString(report));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            printText(out, report);
        }
        out.flush();
        return report.passed() ? 0 : 1;
    }

    /** What the engine would choose now, in its own words. */
    private static String selection(List<ConvBackendProvider> all) {
        try {
            List<BackendSelection.Candidate> cs = new ArrayList<>();
            for (ConvBackendProvider p : all) cs.add(new BackendSelection.Candidate(p, ConvEngine.probe(p)));
            return BackendSelection.choose(cs, EngineOptions.fromEnvironment()).report();
        } catch (RuntimeException e) {
            return "no backend would open: " + e.getMessage();
        }
    }

    /** The selection the engine would make, given probe results already taken (one report per provider). */
    private static String selection(List<ConvBackendProvider> providers, List<ProbeReport.ProviderReport> reports) {
        try {
            List<BackendSelection.Candidate> cs = new ArrayList<>();
            for (int i = 0; i < providers.size(); i++) {
                ProbeReport.ProviderReport r = reports.get(i);
                List<DeviceInfo> devices = new ArrayList<>();
                for (ProbeReport.DeviceReport d : r.devices()) {
                    devices.add(new DeviceInfo(d.index(), d.name(), d.type(), d.memoryBytes(), d.computeUnits(), d.properties()));
                }
                ProbeResult pr = r.available() ? ProbeResult.available(r.name(), devices) : ProbeResult.unavailable(r.name(), r.reason(), r.fix());
                cs.add(new BackendSelection.Candidate(providers.get(i), pr));
            }
            return BackendSelection.choose(cs, EngineOptions.fromEnvironment()).report();
        } catch (RuntimeException e) {
            return "no backend would open: " + e.getMessage();
        }
    }

    /** Probes one provider in this JVM: devices, then the known-answer matrix of each device. */
    static ProbeReport.ProviderReport probe(ConvBackendProvider p) {
        ProbeResult r = ConvEngine.probe(p);
        List<ProbeReport.DeviceReport> devices = new ArrayList<>();
        if (r.available()) for (DeviceInfo d : r.devices()) devices.add(device(p, d));
        return new ProbeReport.ProviderReport(p.name(), p.priority(), r.available(), r.reason(), r.fix(), false, devices);
    }

    private static ProbeReport.DeviceReport device(ConvBackendProvider p, DeviceInfo d) {
        Map<String, String> props = new TreeMap<>(d.properties());
        List<ProbeReport.CellReport> cells = new ArrayList<>();
        long t0 = System.nanoTime();
        try (ConvEngine engine = ConvEngine.open(p, d.index())) {
            Capabilities caps = engine.backend().capabilities();
            for (Capabilities.Cell c : caps.cells()) {
                if (!c.support().supported()) {
                    cells.add(new ProbeReport.CellReport(c.type().name().toLowerCase(Locale.ROOT), c.rank(), c.dtype().name(),
                            ProbeReport.CellReport.UNSUPPORTED, c.support().reason()));
                } else {
                    cells.add(KnownAnswers.check(engine, c.type(), c.rank(), c.dtype()));
                }
            }
        } catch (Throwable t) { // a device that cannot be opened is a finding, not the end of the probe
            return new ProbeReport.DeviceReport(d.index(), d.name(), d.type(), d.memoryBytes(), d.computeUnits(), props,
                    "could not open or test: " + t, List.of(), false, "FAIL: could not open the device: " + t);
        }
        long pass = cells.stream().filter(c -> c.status().equals(ProbeReport.CellReport.PASS)).count();
        long bad = cells.stream().filter(c -> c.status().equals(ProbeReport.CellReport.FAIL)
                || c.status().equals(ProbeReport.CellReport.ERROR)).count();
        long unsupported = cells.size() - pass - bad;
        boolean ok = bad == 0 && pass > 0;
        String verdict = (ok ? "PASS: " : "FAIL: ") + pass + " of " + (pass + bad) + " supported cells gave the known answers"
                + (bad > 0 ? ", " + bad + " did not" : "") + "; " + unsupported + " declared unsupported"
                + String.format(Locale.ROOT, " (%.2f s)", (System.nanoTime() - t0) / 1e9);
        return new ProbeReport.DeviceReport(d.index(), d.name(), d.type(), d.memoryBytes(), d.computeUnits(), props, null,
                cells, ok, verdict);
    }

    /** Runs {@code jconv probe --provider NAME --json} in a child JVM with this JVM's java and classpath. */
    ProbeReport.ProviderReport inChild(ConvBackendProvider p) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        java.util.Properties settings = io.github.jconv.EngineOptions.fromSystem().properties(); // the jconv.* ones
        for (String key : settings.stringPropertyNames()) cmd.add("-D" + key + "=" + settings.getProperty(key));
        // JNI backends load native libraries: without this, Java 22+ warns on every child's stderr
        if (Runtime.version().feature() >= 22) cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(childLaunch(ProbeCommand.class.getModule(), System.getProperty("jdk.module.path"),
                System.getProperty("java.class.path"), childMain));
        cmd.addAll(List.of("probe", "--json", "--provider", p.name()));
        String reason;
        try {
            Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            byte[] stdout;
            try (var in = proc.getInputStream()) {
                // read while the child runs so that a full pipe cannot stall it
                var reader = new java.util.concurrent.CompletableFuture<byte[]>();
                Thread t = new Thread(() -> {
                    try {
                        reader.complete(in.readAllBytes());
                    } catch (IOException e) {
                        reader.completeExceptionally(e);
                    }
                }, "probe-child-reader");
                t.setDaemon(true);
                t.start();
                if (!proc.waitFor(timeout, TimeUnit.SECONDS)) {
                    proc.destroyForcibly();
                    return failed(p, "the isolated child JVM did not finish within " + timeout + " s",
                            "raise --timeout, or run `jconv probe --provider " + p.name() + "` to watch it");
                }
                stdout = reader.get(10, TimeUnit.SECONDS);
            }
            int code = proc.exitValue();
            String text = new String(stdout, StandardCharsets.UTF_8);
            if (code == 0 || code == 1) {
                try {
                    ProbeReport child = JSON.readValue(text, ProbeReport.class);
                    if (child.providers().size() == 1) {
                        ProbeReport.ProviderReport c = child.providers().get(0);
                        return new ProbeReport.ProviderReport(c.name(), c.priority(), c.available(), c.reason(), c.fix(), true, c.devices());
                    }
                    reason = "the isolated child JVM reported " + child.providers().size() + " providers instead of one";
                } catch (IOException e) {
                    reason = "the isolated child JVM exited with code " + code + " but its report did not parse: " + e.getMessage();
                }
            } else {
                reason = "the isolated child JVM exited with code " + code + describeExit(code) + " while probing " + p.name();
            }
        } catch (IOException e) {
            reason = "could not start the isolated child JVM: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reason = "interrupted while waiting for the isolated child JVM";
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            reason = "could not read the isolated child JVM's report: " + e;
        }
        return failed(p, reason, "run `jconv probe --provider " + p.name()
                + "` without --isolate to see the failure, and look for an hs_err_pid*.log of a native crash");
    }

    /**
     * How the child JVM finds jconv: as this JVM did. Run from the module path ({@code java -p ... -m
     * io.github.jconv.tools/...}), the child gets the same module path and main module (and the Vector API module when
     * this JVM has it); otherwise this JVM's class path.
     */
    static List<String> childLaunch(Module self, String modulePath, String classPath, String mainClass) {
        if (self.isNamed() && modulePath != null && !modulePath.isBlank()) {
            List<String> out = new ArrayList<>(List.of("-p", modulePath));
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
                out.addAll(List.of("--add-modules", "jdk.incubator.vector"));
            }
            out.addAll(List.of("-m", self.getName() + "/" + mainClass));
            return out;
        }
        return List.of("-cp", classPath, mainClass);
    }

    private static String describeExit(int code) {
        if (code > 128 && code < 160) {
            int sig = code - 128;
            String name = switch (sig) {
                case 4 -> "SIGILL";
                case 6 -> "SIGABRT";
                case 7 -> "SIGBUS";
                case 9 -> "SIGKILL";
                case 11 -> "SIGSEGV";
                default -> "signal " + sig;
            };
            return " (" + name + ": a crash in a native layer)";
        }
        return "";
    }

    private static ProbeReport.ProviderReport failed(ConvBackendProvider p, String reason, String fix) {
        return new ProbeReport.ProviderReport(p.name(), p.priority(), false, reason, fix, true, List.of());
    }

    static ProbeReport summarise(List<ProbeReport.ProviderReport> providers, String selection) {
        int devices = 0, good = 0;
        List<String> failing = new ArrayList<>();
        for (ProbeReport.ProviderReport p : providers) {
            for (ProbeReport.DeviceReport d : p.devices()) {
                devices++;
                if (d.passed()) good++;
                else failing.add(p.name() + " device " + d.index());
            }
        }
        boolean passed = devices > 0 && failing.isEmpty();
        String verdict = devices == 0
                ? "FAIL: no available device to test; add jconv-cpu to the classpath for the always-available CPU backend"
                : passed ? "PASS: " + good + " device(s) gave the known answer in every supported cell"
                : "FAIL: " + String.join(", ", failing) + " failed the known-answer self-test";
        return new ProbeReport(System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.arch"), selection, providers, passed, verdict);
    }

    private static void printText(PrintWriter out, ProbeReport r) {
        out.println("jconv probe: " + r.java() + " on " + r.os());
        out.println("selection: " + r.selection());
        for (ProbeReport.ProviderReport p : r.providers()) {
            out.println();
            out.println("provider " + p.name() + " (priority " + p.priority() + ")" + (p.isolated() ? " [isolated]" : "") + ": "
                    + (p.available() ? "available, " + p.devices().size() + " device(s)" : "unavailable"));
            if (!p.available()) {
                out.println("  why: " + p.reason());
                if (!p.fix().isEmpty()) out.println("  fix: " + p.fix());
            }
            for (ProbeReport.DeviceReport d : p.devices()) printDevice(out, d);
        }
        out.println();
        out.println("verdict: " + r.verdict());
    }

    private static void printDevice(PrintWriter out, ProbeReport.DeviceReport d) {
        out.println("  device " + d.index() + ": " + d.name() + " (" + d.type() + "), "
                + String.format(Locale.ROOT, "%.1f GiB", d.memoryBytes() / (double) (1L << 30)) + ", " + d.computeUnits() + " compute units");
        for (Map.Entry<String, String> e : d.properties().entrySet()) out.println("    " + e.getKey() + ": " + e.getValue());
        if (d.error() != null) {
            out.println("    error: " + d.error());
            return;
        }
        out.println("  capability matrix (each cell ran forward, grad input, grad weight, grad bias"
                + " and, deformable, grad offset/mask on a tiny known-answer problem):");
        Text.Table t = new Text.Table("operation", "dims", "FP32", "FP64", "FP16", "BF16").left(0);
        Map<String, Map<String, String>> rows = new LinkedHashMap<>();
        for (ProbeReport.CellReport c : d.capabilities()) {
            rows.computeIfAbsent(c.operation() + " " + c.dims() + "D", k -> new LinkedHashMap<>()).put(c.dtype(), mark(c.status()));
        }
        for (Map.Entry<String, Map<String, String>> e : rows.entrySet()) {
            String[] parts = e.getKey().split(" ");
            Map<String, String> m = e.getValue();
            t.row(parts[0], parts[1], m.getOrDefault("FP32", "?"), m.getOrDefault("FP64", "?"), m.getOrDefault("FP16", "?"),
                    m.getOrDefault("BF16", "?"));
        }
        for (String line : t.render().split("\n")) out.println("    " + line);
        out.println("    (ok = known answers matched, -- = declared unsupported, FAIL = wrong answer, ERR = threw)");
        Set<String> reasons = new LinkedHashSet<>();
        for (ProbeReport.CellReport c : d.capabilities()) {
            if (!c.status().equals(ProbeReport.CellReport.PASS)) {
                String key = c.status().equals(ProbeReport.CellReport.UNSUPPORTED) ? "unsupported: " + c.detail()
                        : c.status().toUpperCase(Locale.ROOT) + " " + c.operation() + " " + c.dims() + "D " + c.dtype() + ": " + c.detail();
                reasons.add(key);
            }
        }
        for (String s : reasons) out.println("    " + s);
        out.println("  self-test: " + d.selfTest());
    }

    private static String mark(String status) {
        return switch (status) {
            case ProbeReport.CellReport.PASS -> "ok";
            case ProbeReport.CellReport.UNSUPPORTED -> "--";
            case ProbeReport.CellReport.FAIL -> "FAIL";
            default -> "ERR";
        };
    }
}
