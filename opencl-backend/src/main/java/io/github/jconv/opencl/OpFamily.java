package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;

/**
 * One op family on the OpenCL device (libnd4j's platform-helper shape): its support rule, a pure
 * plan (which kernels, {@link Algorithms}) and a run step that enqueues them. The session checks
 * what every family shares (dtype storage, FP64 on the device, tensor sizes), then asks the family.
 */
interface OpFamily {
    /** Whether this family computes {@code spec} at all (by its convolution type). */
    boolean handles(ConvSpec spec);

    /** This family's own rule for a spec it {@link #handles}; the session's shared checks come first. */
    Support supports(ConvSpec spec, Pass pass, DType dtype);

    /** The kernel path and its label: a pure function of the spec, the pass, the dtype and the session's settings. */
    Algorithms.Choice plan(ConvSpec spec, Pass pass, DType dtype);

    /** Enqueues the planned kernels; called under the session lock with every buffer of {@code args} checked and pinned. */
    void run(Algorithms.Choice plan, Pass pass, ConvSpec spec, ConvArgs args, DType dtype);
}
