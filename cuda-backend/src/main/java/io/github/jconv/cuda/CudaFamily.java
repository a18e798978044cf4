package io.github.jconv.cuda;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;

/**
 * One op family on the CUDA device (as OpenCL's {@code OpFamily}): its support rule, a pure plan and a run step.
 * The session ({@link CudaBackend}) checks what every family shares (the pass exists for the type, BF16 needs
 * compute capability 8.0), picks the family that {@link #handles} the spec, and runs its plan under the session's
 * lock with every buffer checked and pinned.
 *
 * @param <P> the family's plan
 */
interface CudaFamily<P> {
    /** Whether this family computes {@code spec} at all (by its convolution type). */
    boolean handles(ConvSpec spec);

    /** This family's own rule for a spec it {@link #handles}, for compute capability {@code cc} (90 = 9.0); pure. */
    Support supports(ConvSpec spec, Pass pass, DType dtype, int cc);

    /** What to run: a pure function of the spec, the pass, the dtype and the session's settings. */
    P plan(ConvSpec spec, Pass pass, DType dtype);

    /** Runs {@code plan}; returns the algorithm label. Called under the session lock, the context current. */
    String run(P plan, Pass pass, ConvSpec spec, DType dtype, ConvArgs args);
}
