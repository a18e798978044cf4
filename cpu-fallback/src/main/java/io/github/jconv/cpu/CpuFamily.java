package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;

/**
 * One op family of the CPU backend, laid out as the OpenCL backend's families are: the algorithms
 * it runs (the pure selector {@link CpuAlgorithms#choose} plans each pass onto one of them), its own
 * support rule, and a run step that calls its FP32 or FP64 kernels. The session ({@link CpuBackend})
 * checks what every family shares (dtype, array sizes), plans, asks the family, and runs it under its lock.
 */
interface CpuFamily {
    /** Whether this family runs the planned algorithm. */
    boolean runs(CpuAlgorithm alg);

    /** This family's own rule for a pass planned onto it; the session's shared checks come first. */
    Support supports(ConvSpec spec, Pass pass);

    /** Runs the pass on the arrays of {@code args} (checked and pulled in by the session) with the kernels of {@code dtype}. */
    void run(CpuAlgorithm alg, Pass pass, ConvSpec spec, ConvArgs args, DType dtype, WorkerPool pool);
}
