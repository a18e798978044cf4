package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.AbstractDeviceBuffer;
import org.jocl.cl_mem;

/**
 * A cl_mem of one session's context: a block of the session's caching allocator (given back on
 * close), or the caller's own (wrapped: never released by jconv). The cl_mem may be larger than the
 * buffer (a size class); jconv reads and writes its first {@link #byteSize()} bytes only.
 */
final class ClBuffer extends AbstractDeviceBuffer {
    final cl_mem mem;
    final boolean wrapped;

    /** {@code free} must not refer to this buffer. */
    ClBuffer(OpenClSession owner, DType dtype, Shape shape, cl_mem mem, boolean wrapped, Runnable free) {
        super(owner, dtype, shape);
        this.mem = mem;
        this.wrapped = wrapped;
        track(owner.tracker(), free);
    }
}
