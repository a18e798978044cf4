package io.github.jconv.opencl;

import io.github.jconv.spi.ProbeResult;

/** Run in a child JVM by ProviderTest: prints "available|reason|fix" of a fresh probe. */
public final class ProbeMain {
    private ProbeMain() {
    }

    public static void main(String[] args) {
        ProbeResult r = new OpenClBackendProvider().probe();
        System.out.println(r.available() + "|" + r.reason() + "|" + r.fix());
    }
}
