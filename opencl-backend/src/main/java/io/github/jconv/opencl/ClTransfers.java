package io.github.jconv.opencl;

import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.HostValues;
import org.jocl.CLException;
import org.jocl.Pointer;

import java.nio.ByteBuffer;

import static org.jocl.CL.*;

/**
 * Bytes to and from a session's buffers, blocking, on the session's queue: values already in the
 * buffer's dtype, native order (the SPI's typed transfers convert in core, {@link HostValues}).
 */
final class ClTransfers {
    private final ClContext cl;
    private final ClMemory memory;

    ClTransfers(ClContext cl, ClMemory memory) {
        this.cl = cl;
        this.memory = memory;
    }

    void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        cl.checkOpen();
        ClBuffer b = memory.own(dst, "dst");
        int n = (int) HostValues.checkBytes("dst", b, dstOffset, src);
        if (n > 0) enqueue(true, b, dstOffset, Pointer.to(src.slice()), n);
        src.position(src.limit());
    }

    void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        cl.checkOpen();
        ClBuffer b = memory.own(src, "src");
        int n = (int) HostValues.checkBytes("src", b, srcOffset, dst);
        if (n > 0) enqueue(false, b, srcOffset, Pointer.to(dst.slice()), n);
        dst.position(dst.limit());
    }

    /** A blocking write ({@code toDevice}) or read of {@code length} values at element {@code offset}. */
    private void enqueue(boolean toDevice, ClBuffer b, long offset, Pointer host, int length) {
        int size = b.dtype().bytes();
        b.pin();
        try {
            synchronized (cl.lock) {
                cl.checkOpen();
                if (toDevice) {
                    clEnqueueWriteBuffer(cl.queue, b.mem, CL_TRUE, offset * size, (long) length * size, host, 0, null, null);
                } else {
                    clEnqueueReadBuffer(cl.queue, b.mem, CL_TRUE, offset * size, (long) length * size, host, 0, null, null);
                }
            }
        } catch (CLException e) {
            throw cl.failed((toDevice ? "upload of " : "download of ") + length + " values at element " + offset
                    + (toDevice ? " into " : " from ") + b, e);
        } finally {
            b.unpin();
        }
    }
}
