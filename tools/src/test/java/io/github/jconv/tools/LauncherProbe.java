package io.github.jconv.tools;

import java.util.Arrays;

/** Stands in for the jconv jar in the launcher test: prints what the JVM was started with. */
public final class LauncherProbe {
    private LauncherProbe() {
    }

    public static void main(String[] args) {
        System.out.println("vector=" + ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
        System.out.println("prop=" + System.getProperty("jconv.launcherTest"));
        System.out.println("args=" + Arrays.toString(args));
    }
}
