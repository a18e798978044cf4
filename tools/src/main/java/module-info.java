/**
 * The {@code jconv} command line. It exports nothing: it is an application, run as
 * {@code java -jar tools/target/jconv.jar} (a shaded jar on the class path, which leaves every module-info.class
 * out) or as {@code java -p <modules> -m io.github.jconv.tools/io.github.jconv.tools.Main}. Picocli sets the
 * annotated fields of the commands and mixins reflectively, and Jackson reads and writes the probe report records,
 * so those packages are opened to them alone. The backends are not required: they are found as services, so the
 * CUDA backend (with JCuda and the bytedeco presets) is resolved only when it is on the module path.
 */
module io.github.jconv.tools {
    requires io.github.jconv;
    requires io.github.jconv.conformance;
    requires io.github.jconv.cpu;      // bench: the CPU session's thread count, the FMA peak
    requires io.github.jconv.opencl;   // tune: OpenClTuner
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires java.desktop;             // the PNG charts and heat maps
    requires java.management;          // bench: the system load average

    opens io.github.jconv.tools to info.picocli, com.fasterxml.jackson.databind;
    opens io.github.jconv.tools.bench to info.picocli;
}
