package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;

/**
 * Run in a child JVM by MemoryPressureTest: with a device budget of args[1] MiB, allocates args[0]
 * buffers of 1 MiB and drops each without close, as a careless loop does, while the Java heap stays
 * quiet; prints "ok" and the buffers the Cleaner reclaimed, or "failed" and the exception.
 */
public final class PressureMain {
    private PressureMain() {
    }

    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        OpenClSession.testBudgetBytes = Long.parseLong(args[1]) << 20;
        try (ConvBackend s = new OpenClBackendProvider().open(0)) {
            for (int i = 0; i < n; i++) {
                s.allocate(DType.FP32, Shape.of(256, 1024)); // 1 MiB, never closed
            }
            System.out.println("ok " + s.tracker().leaksReclaimed());
        } catch (RuntimeException e) {
            System.out.println("failed " + e);
        }
    }
}
