package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.DeviceBuffer;

/** Run in a child JVM by ProgramCacheTest: one forward pass, then "sourceBuilds binaryLoads" on stdout. */
public final class CacheProbeMain {
    private CacheProbeMain() {
    }

    public static void main(String[] args) {
        ConvSpec s = ConvSpec.convolution().batch(1).channels(3, 2).input(6, 6).kernel(3).build();
        try (OpenClSession session = (OpenClSession) new OpenClBackendProvider().open(0);
             DeviceBuffer x = session.allocate(DType.FP32, s.inputShape()); DeviceBuffer w = session.allocate(DType.FP32, s.weightShape());
             DeviceBuffer b = session.allocate(DType.FP32, s.biasShape()); DeviceBuffer y = session.allocate(DType.FP32, s.outputShape())) {
            session.execute(Pass.FORWARD, s, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
            session.synchronize();
            System.out.println(session.programCache().sourceBuilds() + " " + session.programCache().binaryLoads());
        }
    }
}
