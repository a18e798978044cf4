package io.github.jconv.cpu;

/** Whether the JVM was started with the Vector API module ({@code --add-modules jdk.incubator.vector}). */
final class VectorSupport {
    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("jconv.cpu.noVector");

    private VectorSupport() {
    }

    static boolean available() {
        return AVAILABLE;
    }
}
