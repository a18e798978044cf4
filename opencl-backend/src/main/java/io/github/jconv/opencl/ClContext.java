package io.github.jconv.opencl;

import io.github.jconv.spi.DeviceInfo;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;

import static org.jocl.CL.*;

/**
 * What every part of an OpenCL session shares: the device and its facts, one context, one in-order
 * queue, and the lock that serialises the queue, kernel arguments and program builds (OpenCL kernel
 * objects are not safe to set arguments on from several threads).
 */
final class ClContext {
    final ClDevices.Found dev;
    final DeviceInfo info;
    final cl_context context;
    final cl_command_queue queue;
    final Object lock = new Object();
    private volatile boolean closed;

    ClContext(ClDevices.Found dev, DeviceInfo info) {
        this.dev = dev;
        this.info = info;
        setExceptionsEnabled(true);
        this.context = clCreateContext(null, 1, new cl_device_id[] {dev.device()}, null, null, null);
        cl_command_queue q;
        try {
            q = clCreateCommandQueue(context, dev.device(), 0, null);
        } catch (RuntimeException | Error e) {
            clReleaseContext(context);
            throw e;
        }
        this.queue = q;
    }

    boolean closed() {
        return closed;
    }

    void checkOpen() {
        if (closed) throw new IllegalStateException("OpenCL session on " + info.name() + " is closed: open a new one");
    }

    /** Marks the session closed; false when it already was. Call under {@link #lock}. */
    boolean markClosed() {
        if (closed) return false;
        closed = true;
        return true;
    }

    /** A driver error as the exception a public call may throw, naming what was attempted. */
    IllegalStateException failed(String what, CLException e) {
        return new IllegalStateException("OpenCL " + what + " on " + info.name() + " failed: " + e.getMessage(), e);
    }

    /** A size_t fact of a built kernel on this device (CL_KERNEL_WORK_GROUP_SIZE, ...). */
    long kernelLong(cl_kernel k, int param) {
        long[] v = new long[1];
        clGetKernelWorkGroupInfo(k, dev.device(), param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    /** Releases the queue and the context; the parts have released their objects before. */
    void release() {
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }
}
