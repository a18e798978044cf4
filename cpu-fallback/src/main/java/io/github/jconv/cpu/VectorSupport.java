package io.github.jconv.cpu;

/** Whether the JVM was started with the Vector API module ({@code --add-modules jdk.incubator.vector}). */
final class VectorSupport {
    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.parseBoolean(String.valueOf(io.github.jconv.EngineOptions.system("jconv.cpu.noVector")).strip());

    private VectorSupport() {
    }

    static boolean available() {
        return AVAILABLE;
    }
}
