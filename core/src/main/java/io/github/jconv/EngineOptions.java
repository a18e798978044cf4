package io.github.jconv;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Everything an engine is opened with, as a value: how the backend is chosen, and the settings each
 * backend reads when a session opens.
 *
 * <p><b>Selection.</b> {@code backend} null means "the best-ranked available one": cuda &gt; opencl on
 * a GPU &gt; cpu &gt; opencl on CPU devices only (see {@link BackendSelection}); a name no provider has
 * is refused when the engine opens. {@code fallback} (FAIL, WARN, ALLOW; default WARN) and
 * {@code device} (default 0).
 *
 * <p><b>Settings.</b> The backend knobs ({@code jconv.cpu.threads}, {@code jconv.opencl.*},
 * {@code jconv.cuda.*}, {@code jconv.memoryLimitBytes}, ...; every one is listed in {@link #KNOWN} and in
 * docs/options.md) travel in this value as strings keyed by their system property name, and each
 * backend turns them into its own typed options when it opens ({@code CpuOptions}, {@code OpenClOptions},
 * {@code CudaOptions}). A backend's typed options can also be given directly with
 * {@link Builder#backendOptions(Object)}; they win over the string settings.
 *
 * <p><b>Where values come from.</b> This class is the one place in jconv that reads {@code jconv.*}
 * system properties and {@code JCONV_*} environment variables: {@link #fromSystem()} (a property beats
 * the environment variable of the same option; both beat the defaults). {@link #defaults()},
 * {@link #backend(String, FallbackPolicy)} and the three-argument constructor keep the selection they are
 * given and take the settings from the system at the time of the call, so code that configures jconv with
 * {@code -D} flags behaves as before. {@link #builder()} starts from nothing: no system property or
 * variable reaches an engine opened with it, so two engines of one JVM can run with different settings.
 */
public final class EngineOptions {
    /** One documented option: its property, its environment variable (null: none), default, backend and meaning. */
    public record Option(String property, String environment, String defaultValue, String backend, String meaning) {
    }

    /** Every option jconv reads, in the order of docs/options.md. */
    public static final List<Option> KNOWN = List.of(
            new Option("jconv.backend", "JCONV_BACKEND", "auto", "engine",
                    "backend to open: cpu, opencl, cuda or auto (best-ranked available)"),
            new Option("jconv.fallback", "JCONV_FALLBACK", "WARN", "engine",
                    "when the named backend is unusable: FAIL, WARN (log and fall back) or ALLOW (fall back silently)"),
            new Option("jconv.device", "JCONV_DEVICE", "0", "engine", "device index within the chosen backend"),
            new Option("jconv.memoryLimitBytes", null, "0 (no limit)", "all",
                    "most device bytes a session's caching allocator reserves"),
            new Option("jconv.leakReportSeconds", null, "10", "all",
                    "shortest interval between two summaries of buffers collected without close()"),
            new Option("jconv.trackAllocations", null, "false", "all",
                    "record where each buffer was allocated, so leak reports name the stack"),
            new Option("jconv.cache.dir", "JCONV_CACHE_DIR", "~/.cache/jconv", "opencl, cuda",
                    "directory of compiled OpenCL programs, OpenCL tuning results and cuDNN benchmark choices"),
            new Option("jconv.cpu.threads", null, "available processors", "cpu",
                    "worker threads of a CPU session, 1 to 1024"),
            new Option("jconv.cpu.noVector", null, "false", "cpu",
                    "true: never use the Vector API kernels (read once per JVM, when the GEMM classes load)"),
            new Option("jconv.opencl.library", null, "libOpenCL.so.1 (ICD loader)", "opencl",
                    "path of the OpenCL library to load (read at probe)"),
            new Option("jconv.opencl.device", null, "fastest GPU, else fastest CPU", "opencl",
                    "device index or name substring (read at probe)"),
            new Option("jconv.opencl.type", null, "all", "opencl",
                    "device type to consider: gpu, cpu, accelerator or all (read at probe)"),
            new Option("jconv.opencl.algorithm", null, "auto", "opencl",
                    "convolution kernels: auto (by size), direct or gemm"),
            new Option("jconv.opencl.columnBudgetBytes", null, "268435456 (256 MiB)", "opencl",
                    "most bytes of im2col columns one GEMM step uses; larger problems run in batch slices"),
            new Option("jconv.opencl.deformScatter", null, "auto", "opencl",
                    "deformable backward scatter: auto, plane or rows"),
            new Option("jconv.opencl.implicitGemm", null, "the tuner's choice, else false", "opencl",
                    "true: forward passes use the implicit GEMM kernel"),
            new Option("jconv.opencl.gemm", null, "the tuner's choice, else built-in", "opencl",
                    "GEMM tile parameters (seven integers, as the tuner writes them)"),
            new Option("jconv.opencl.gemmTiles", null, "none", "opencl",
                    "older spelling of jconv.opencl.gemm (five integers); jconv.opencl.gemm wins"),
            new Option("jconv.opencl.splitK", null, "by occupancy", "opencl",
                    "most K slices of a split weight-gradient GEMM (1: never split)"),
            new Option("jconv.opencl.splitK.force", null, "false", "opencl",
                    "true: always split into jconv.opencl.splitK slices (tests)"),
            new Option("jconv.cuda.math", "JCONV_CUDA_MATH", "fp32", "cuda", "fp32 (exact) or tf32 tensor-core math"),
            new Option("jconv.cuda.deterministic", "JCONV_CUDA_DETERMINISTIC", "true", "cuda",
                    "true: only algorithms cuDNN reports as deterministic"),
            new Option("jconv.cuda.algo", "JCONV_CUDA_ALGO", "heuristic", "cuda",
                    "algorithm choice: heuristic or benchmark (benchmark choices kept under jconv.cache.dir)"),
            new Option("jconv.cuda.workspaceLimit", "JCONV_CUDA_WORKSPACE_LIMIT", "1g", "cuda",
                    "most scratch bytes one call may use, with an optional k, m or g suffix"),
            new Option("jconv.cuda.fuseBias", "JCONV_CUDA_FUSE_BIAS", "false", "cuda",
                    "true: fuse the forward bias into cuDNN's convolution call where it can (legacy API)"),
            new Option("jconv.cuda.api", "JCONV_CUDA_API", "graph", "cuda",
                    "cuDNN interface: graph (backend API engines, legacy calls where a graph cannot run) or legacy"),
            new Option("jconv.cuda.deformable", "JCONV_CUDA_DEFORMABLE", "auto", "cuda",
                    "deformable route: auto (sampled columns + cuDNN 1x1 GEMM, direct kernels where refused) or direct"));

    private final String backend;
    private final FallbackPolicy fallback;
    private final int device;
    /** Property name to value, as given or read (only non-blank values). */
    private final Map<String, String> properties;
    /** Environment variable name to value (only JCONV_* variables, non-blank). */
    private final Map<String, String> environment;
    private final Map<Class<?>, Object> backendOptions;

    /** The selection as given; settings from the system properties and environment variables as they are now. */
    public EngineOptions(String backend, FallbackPolicy fallback, int device) {
        this(backend, fallback, device, systemProperties(), systemEnvironment(), Map.of());
    }

    private EngineOptions(String backend, FallbackPolicy fallback, int device, Map<String, String> properties,
                          Map<String, String> environment, Map<Class<?>, Object> backendOptions) {
        if (fallback == null) {
            throw new IllegalArgumentException("fallback = null: choose FAIL, WARN or ALLOW, e.g. FallbackPolicy.WARN");
        }
        if (device < 0) {
            throw new IllegalArgumentException("device = " + device + ": a device index is non-negative; e.g. device = 0");
        }
        if (backend != null) {
            backend = backend.strip().toLowerCase(Locale.ROOT);
            if (backend.isEmpty() || backend.equals("auto")) backend = null;
        }
        this.backend = backend;
        this.fallback = fallback;
        this.device = device;
        this.properties = Collections.unmodifiableMap(new TreeMap<>(properties));
        this.environment = Collections.unmodifiableMap(new TreeMap<>(environment));
        this.backendOptions = Collections.unmodifiableMap(new LinkedHashMap<>(backendOptions));
    }

    /** The backend name, lower case; null for automatic selection. */
    public String backend() {
        return backend;
    }

    public FallbackPolicy fallback() {
        return fallback;
    }

    public int device() {
        return device;
    }

    /** Automatic selection, WARN, device 0; settings from the system now. */
    public static EngineOptions defaults() {
        return new EngineOptions(null, FallbackPolicy.WARN, 0);
    }

    /** Backend {@code name} with {@code policy}, device 0; settings from the system now. */
    public static EngineOptions backend(String name, FallbackPolicy policy) {
        return new EngineOptions(name, policy, 0);
    }

    /** Selection and settings from the system properties and environment variables, read now. */
    public static EngineOptions fromSystem() {
        return from(System.getProperties(), System.getenv());
    }

    /** The same as {@link #fromSystem()} (its older name). */
    public static EngineOptions fromEnvironment() {
        return fromSystem();
    }

    /** Property beats environment; both beat the defaults. */
    static EngineOptions from(Properties props, Map<String, String> env) {
        Map<String, String> p = jconvProperties(props);
        Map<String, String> e = jconvEnvironment(env);
        String backend = first(p.get("jconv.backend"), e.get("JCONV_BACKEND"));
        String policy = first(p.get("jconv.fallback"), e.get("JCONV_FALLBACK"));
        String device = first(p.get("jconv.device"), e.get("JCONV_DEVICE"));
        FallbackPolicy fp = FallbackPolicy.WARN;
        if (policy != null) {
            try {
                fp = FallbackPolicy.valueOf(policy.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("jconv.fallback = " + policy + ": must be FAIL, WARN or ALLOW; e.g. WARN");
            }
        }
        int d = 0;
        if (device != null) {
            try {
                d = Integer.parseInt(device.strip());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("jconv.device = " + device + ": must be a device index; e.g. 0");
            }
        }
        return new EngineOptions(backend, fp, d, p, e, Map.of());
    }

    // ---- settings ----

    /**
     * The value of the option whose system property is {@code property}: the property's value if set (non-blank),
     * else that option's environment variable (see {@link #KNOWN}), else null.
     */
    public String get(String property) {
        if (property == null) throw new IllegalArgumentException("property = null: name an option, e.g. \"jconv.cpu.threads\"");
        String v = properties.get(property);
        if (v != null) return v;
        for (Option o : KNOWN) {
            if (o.property().equals(property) && o.environment() != null) return environment.get(o.environment());
        }
        return null;
    }

    /** {@link #get(String)}, or {@code otherwise} when the option is not set. */
    public String get(String property, String otherwise) {
        String v = get(property);
        return v != null ? v : otherwise;
    }

    /** A boolean option: "true" (any case) is true, anything else set is false; {@code otherwise} when not set. */
    public boolean flag(String property, boolean otherwise) {
        String v = get(property);
        return v == null ? otherwise : Boolean.parseBoolean(v.strip());
    }

    /** A whole-number option; {@code otherwise} when not set or not a number (the older Long.getLong reading). */
    public long number(String property, long otherwise) {
        String v = get(property);
        if (v == null) return otherwise;
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** The {@code jconv.*} properties of this value, as {@link Properties} (for parsers written against them). */
    public Properties properties() {
        Properties p = new Properties();
        p.putAll(properties);
        return p;
    }

    /** The {@code JCONV_*} environment variables of this value. */
    public Map<String, String> environment() {
        return environment;
    }

    /** The typed options of class {@code type} given with {@link Builder#backendOptions(Object)}, if any. */
    public <T> Optional<T> backendOptions(Class<T> type) {
        if (type == null) throw new IllegalArgumentException("type = null: e.g. CpuOptions.class");
        Object o = backendOptions.get(type);
        return o == null ? Optional.empty() : Optional.of(type.cast(o));
    }

    /**
     * A value read from the system now, for the few switches that act once per JVM (e.g.
     * {@code jconv.cpu.noVector}) or before any engine exists (a backend's probe).
     */
    public static String system(String property) {
        return fromSystem().get(property);
    }

    // ---- building ----

    /** Automatic selection, WARN, device 0 and no settings: nothing is read from the system. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this value's selection, settings and typed options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.backend = backend;
        b.fallback = fallback;
        b.device = device;
        b.properties.putAll(properties);
        b.environment.putAll(environment);
        b.backendOptions.putAll(backendOptions);
        return b;
    }

    /** Builds an {@link EngineOptions}; each setter returns this builder. */
    public static final class Builder {
        private String backend;
        private FallbackPolicy fallback = FallbackPolicy.WARN;
        private int device;
        private final Map<String, String> properties = new TreeMap<>();
        private final Map<String, String> environment = new TreeMap<>();
        private final Map<Class<?>, Object> backendOptions = new LinkedHashMap<>();

        private Builder() {
        }

        /** cpu, opencl, cuda; null or "auto" for automatic selection. */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        public Builder fallback(FallbackPolicy policy) {
            this.fallback = policy;
            return this;
        }

        public Builder device(int index) {
            this.device = index;
            return this;
        }

        /**
         * Sets the option whose system property is {@code property} (listed in {@link #KNOWN}), as if given
         * with {@code -Dproperty=value}; a null or blank value removes it.
         */
        public Builder set(String property, String value) {
            if (property == null || !property.startsWith("jconv.")) {
                throw new IllegalArgumentException("property = " + property + ": options are named by their system property, "
                        + "which starts with \"jconv.\"; e.g. \"jconv.cpu.threads\"");
            }
            if (value == null || value.isBlank()) {
                properties.remove(property);
                for (Option o : KNOWN) {
                    if (o.property().equals(property) && o.environment() != null) environment.remove(o.environment());
                }
            } else {
                properties.put(property, value);
            }
            return this;
        }

        /**
         * A backend's typed options (e.g. {@code new CpuOptions(4)}), keyed by their class; the backend that
         * reads that class uses them instead of the string settings.
         */
        public Builder backendOptions(Object options) {
            if (options == null) throw new IllegalArgumentException("options = null: pass a backend's options, e.g. new CpuOptions(4)");
            backendOptions.put(options.getClass(), options);
            return this;
        }

        public EngineOptions build() {
            return new EngineOptions(backend, fallback, device, properties, environment, backendOptions);
        }
    }

    // ---- reading the system: the one place ----

    private static Map<String, String> systemProperties() {
        return jconvProperties(System.getProperties());
    }

    private static Map<String, String> systemEnvironment() {
        return jconvEnvironment(System.getenv());
    }

    private static Map<String, String> jconvProperties(Properties props) {
        Map<String, String> out = new TreeMap<>();
        for (String k : props.stringPropertyNames()) {
            String v = props.getProperty(k);
            if (k.startsWith("jconv.") && v != null && !v.isBlank()) out.put(k, v);
        }
        return out;
    }

    private static Map<String, String> jconvEnvironment(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith("JCONV_") && e.getValue() != null && !e.getValue().isBlank()) out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    private static String first(String a, String b) {
        return a != null ? a : b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineOptions e && java.util.Objects.equals(backend, e.backend) && fallback == e.fallback
                && device == e.device && properties.equals(e.properties) && environment.equals(e.environment)
                && backendOptions.equals(e.backendOptions);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(backend, fallback, device, properties, environment, backendOptions);
    }

    @Override
    public String toString() {
        return "EngineOptions[backend=" + (backend == null ? "auto" : backend) + ", fallback=" + fallback + ", device=" + device
                + (properties.isEmpty() ? "" : ", " + properties) + (environment.isEmpty() ? "" : ", env " + environment.keySet())
                + (backendOptions.isEmpty() ? "" : ", " + backendOptions.values()) + "]";
    }
}
