package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import org.jocl.cl_mem;

import static org.jocl.CL.clReleaseMemObject;

/** A cl_mem of one session's context. */
final class ClBuffer extends AbstractDeviceBuffer {
    final cl_mem mem;

    ClBuffer(OpenClSession owner, DType dtype, Shape shape, cl_mem mem) {
        super(owner, dtype, shape);
        this.mem = mem;
        track(owner.tracker(), () -> clReleaseMemObject(mem));
    }
}
