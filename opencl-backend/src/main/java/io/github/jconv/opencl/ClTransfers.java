package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.spi.DeviceBuffer;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;

import static org.jocl.CL.*;

/**
 * Host arrays to and from a session's buffers, blocking, on the session's queue. The buffer's dtype
 * decides the device format; values convert on the host (FP16 through {@link Halfs}).
 */
final class ClTransfers {
    private final ClContext cl;
    private final ClMemory memory;

    ClTransfers(ClContext cl, ClMemory memory) {
        this.cl = cl;
        this.memory = memory;
    }

    void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        ClBuffer b = check(dst, dstOffset, src, src == null ? 0 : src.length, srcOffset, length);
        if (length == 0) return;
        if (b.dtype() == DType.FP16) {
            short[] h = new short[length];
            for (int i = 0; i < length; i++) h[i] = Halfs.toHalf(src[srcOffset + i]);
            write(b, dstOffset, Pointer.to(h), length);
        } else if (b.dtype() == DType.FP64) {
            double[] d = new double[length];
            for (int i = 0; i < length; i++) d[i] = src[srcOffset + i];
            write(b, dstOffset, Pointer.to(d), length);
        } else {
            write(b, dstOffset, Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_float), length);
        }
    }

    void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        ClBuffer b = check(dst, dstOffset, src, src == null ? 0 : src.length, srcOffset, length);
        if (length == 0) return;
        if (b.dtype() == DType.FP16) {
            // straight from double to half (through float it could round twice)
            short[] h = new short[length];
            for (int i = 0; i < length; i++) h[i] = Halfs.toHalf(src[srcOffset + i]);
            write(b, dstOffset, Pointer.to(h), length);
        } else if (b.dtype() == DType.FP32) {
            float[] f = new float[length];
            for (int i = 0; i < length; i++) f[i] = (float) src[srcOffset + i];
            write(b, dstOffset, Pointer.to(f), length);
        } else {
            write(b, dstOffset, Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_double), length);
        }
    }

    void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        ClBuffer b = check(src, srcOffset, dst, dst == null ? 0 : dst.length, dstOffset, length);
        if (length == 0) return;
        if (b.dtype() == DType.FP16) {
            short[] h = new short[length];
            read(b, srcOffset, Pointer.to(h), length);
            for (int i = 0; i < length; i++) dst[dstOffset + i] = (float) Halfs.fromHalf(h[i]);
        } else if (b.dtype() == DType.FP64) {
            double[] d = new double[length];
            read(b, srcOffset, Pointer.to(d), length);
            for (int i = 0; i < length; i++) dst[dstOffset + i] = (float) d[i];
        } else {
            read(b, srcOffset, Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_float), length);
        }
    }

    void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        ClBuffer b = check(src, srcOffset, dst, dst == null ? 0 : dst.length, dstOffset, length);
        if (length == 0) return;
        if (b.dtype() == DType.FP16) {
            short[] h = new short[length];
            read(b, srcOffset, Pointer.to(h), length);
            for (int i = 0; i < length; i++) dst[dstOffset + i] = Halfs.fromHalf(h[i]);
        } else if (b.dtype() == DType.FP32) {
            float[] f = new float[length];
            read(b, srcOffset, Pointer.to(f), length);
            for (int i = 0; i < length; i++) dst[dstOffset + i] = f[i];
        } else {
            read(b, srcOffset, Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_double), length);
        }
    }

    private void write(ClBuffer b, long offset, Pointer host, int length) {
        int size = b.dtype().bytes();
        b.pin();
        try {
            synchronized (cl.lock) {
                cl.checkOpen();
                clEnqueueWriteBuffer(cl.queue, b.mem, CL_TRUE, offset * size, (long) length * size, host, 0, null, null);
            }
        } catch (CLException e) {
            throw cl.failed("upload of " + length + " values at element " + offset + " into " + b, e);
        } finally {
            b.unpin();
        }
    }

    private void read(ClBuffer b, long offset, Pointer host, int length) {
        int size = b.dtype().bytes();
        b.pin();
        try {
            synchronized (cl.lock) {
                cl.checkOpen();
                clEnqueueReadBuffer(cl.queue, b.mem, CL_TRUE, offset * size, (long) length * size, host, 0, null, null);
            }
        } catch (CLException e) {
            throw cl.failed("download of " + length + " values at element " + offset + " from " + b, e);
        } finally {
            b.unpin();
        }
    }

    private ClBuffer check(DeviceBuffer buf, long devOffset, Object array, int arrayLength, int arrayOffset, int length) {
        cl.checkOpen();
        ClBuffer b = memory.own(buf, "buffer");
        if (array == null) throw new IllegalArgumentException("array = null: pass a host array of at least " + length + " values");
        if (length < 0 || arrayOffset < 0 || (long) arrayOffset + length > arrayLength) {
            throw new IllegalArgumentException("array range [" + arrayOffset + ", " + ((long) arrayOffset + length) + ") of length "
                    + arrayLength + ": must lie inside the array; e.g. offset 0, length " + arrayLength);
        }
        // Written so that no sum can overflow: devOffset + length would wrap for devOffset near Long.MAX_VALUE.
        if (devOffset < 0 || length > b.elementCount() || devOffset > b.elementCount() - length) {
            long end = devOffset + length;
            throw new IllegalArgumentException("buffer range [" + devOffset + ", " + (end < devOffset ? devOffset + " + " + length : String.valueOf(end))
                    + ") of " + b.elementCount() + " elements: must lie inside the buffer; e.g. offset 0, length "
                    + Math.min(arrayLength, b.elementCount()));
        }
        return b;
    }
}
