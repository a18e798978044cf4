package io.github.jconv.cpu;

import io.github.jconv.EngineOptions;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The pure-Java backend: always available, one device (this machine's CPU). */
public final class CpuBackendProvider implements ConvBackendProvider {
    /** Option (system property) that sets the worker count, read when a session opens; see {@link CpuOptions}. */
    public static final String THREADS_PROPERTY = "jconv.cpu.threads";
    /**
     * The most worker threads a session takes. More threads than cores only add switching, and
     * each one holds its own scratch; 1024 covers the largest machines without letting a typo
     * (e.g. 2147483647) exhaust memory when the session opens.
     */
    public static final int MAX_THREADS = 1024;

    private final int threads;

    /** Threads from {@code -Djconv.cpu.threads}, else the available processors. */
    public CpuBackendProvider() {
        this(0);
    }

    /** {@code threads} workers (0: the available processors); {@code -Djconv.cpu.threads} still wins. */
    public CpuBackendProvider(int threads) {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads = " + threads + ": must be from 1 to " + MAX_THREADS
                    + ", or 0 for the available processors; e.g. threads = " + suggestedThreads());
        }
        this.threads = threads;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public ProbeResult probe() {
        try {
            return ProbeResult.available(name(), List.of(device()));
        } catch (RuntimeException e) {
            return ProbeResult.unavailable(name(), "the CPU could not be described: " + e, "report this as a bug");
        }
    }

    /** Opens with the settings of the system now ({@code -Djconv.cpu.threads} beats this provider's count). */
    @Override
    public ConvBackend open(int deviceIndex) {
        return open(deviceIndex, EngineOptions.fromSystem());
    }

    /** Opens with {@code options}' settings: their thread count ({@link CpuOptions}) beats this provider's count. */
    @Override
    public ConvBackend open(int deviceIndex, EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        if (deviceIndex != 0) {
            throw new IllegalArgumentException("deviceIndex = " + deviceIndex + ": the CPU backend has one device; use 0");
        }
        int threads = resolveThreads(CpuOptions.of(options)); // validated before anything is made
        return new CpuBackend(device(), threads, options);
    }

    int resolveThreads(CpuOptions options) {
        if (options.threads() > 0) return options.threads();
        return threads > 0 ? threads : suggestedThreads();
    }

    /** The available processors, within 1..{@link #MAX_THREADS}. */
    static int suggestedThreads() {
        return Math.max(1, Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()));
    }

    static DeviceInfo device() {
        Runtime rt = Runtime.getRuntime();
        return new DeviceInfo(0, cpuName(), "CPU", rt.maxMemory(), rt.availableProcessors(),
                Map.of("java.version", System.getProperty("java.version", "?"),
                        "os.arch", System.getProperty("os.arch", "?"),
                        "vector.api", Boolean.toString(VectorSupport.available())));
    }

    private static String cpuName() {
        try {
            Path p = Path.of("/proc/cpuinfo");
            if (Files.isReadable(p)) {
                for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                    if (line.startsWith("model name")) {
                        int i = line.indexOf(':');
                        if (i >= 0) return line.substring(i + 1).strip();
                    }
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // Fall through to the generic name: the description is cosmetic.
        }
        return System.getProperty("os.arch", "cpu") + " CPU";
    }
}
