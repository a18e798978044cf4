package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.HostValues;

import java.nio.ByteBuffer;

/**
 * Bytes and typed values to and from the session's buffers ({@code ConvBackend.write/read/upload/download}), through
 * the pinned staging slots of {@link DeviceContext}; every transfer checks its buffer, pins it against a concurrent
 * close and runs under the session's lock.
 */
final class CudaTransfers {
    private final CudaBackend session;
    private final DeviceContext ctx;

    CudaTransfers(CudaBackend session, DeviceContext ctx) {
        this.session = session;
        this.ctx = ctx;
    }

    /** Runs a transfer with the buffer pinned: a close() from another thread frees its memory only after the copy. */
    private static void whilePinned(CudaBuffer b, Runnable transfer) {
        b.pin();
        try {
            transfer.run();
        } finally {
            b.unpin();
        }
    }

    /** Bytes in native order, the buffer's dtype, through the pinned staging area as they are (core converts, HostValues). */
    void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
        CudaBuffer d = session.own("dst", dst);
        whilePinned(d, () -> {
            long n = HostValues.checkBytes("dst", d, dstOffset, src);
            int size = d.dtype().bytes();
            int p0 = src.position();
            if (n > 0) {
                session.guardedRun(() -> ctx.upload(d.ptr, dstOffset * size, n, size,
                        (bb, off, count) -> bb.put(bb.position(), src, p0 + (int) off * size, count * size)));
            }
            src.position(src.limit());
        });
    }

    /*
     * The typed transfers convert with core's HostValues straight into and out of the page-locked staging slots,
     * piece by piece as the staging plan cuts the transfer (two slots alternate: the host converts one piece while
     * the copy engine moves the other). Going through write/read instead would convert into a heap buffer first
     * and hand the staging one chunk per call, which left one slot and no overlap (PinnedStagingGpuTest on the H200).
     */
    void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        HostValues.check("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        staged(true, dst, dstOffset, length, (dt, off, n, bb) -> HostValues.encode(dt, src, srcOffset + off, n, bb));
    }

    void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        HostValues.check("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        staged(true, dst, dstOffset, length, (dt, off, n, bb) -> HostValues.encode(dt, src, srcOffset + off, n, bb));
    }

    void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        HostValues.check("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        staged(false, src, srcOffset, length, (dt, off, n, bb) -> HostValues.decode(dt, bb, dst, dstOffset + off, n));
    }

    void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        HostValues.check("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        staged(false, src, srcOffset, length, (dt, off, n, bb) -> HostValues.decode(dt, bb, dst, dstOffset + off, n));
    }

    /** Converts {@code n} values at host offset {@code off} into (upload) or out of (download) a staging piece. */
    private interface Piece {
        void convert(DType dt, int off, int n, ByteBuffer piece);
    }

    /** A checked typed transfer of {@code length} values, piece by piece through the pinned staging slots. */
    private void staged(boolean up, DeviceBuffer buffer, long offset, int length, Piece piece) {
        CudaBuffer b = session.own(up ? "dst" : "src", buffer);
        DType dt = b.dtype();
        whilePinned(b, () -> {
            if (length == 0) return;
            // each piece is converted at the slot's position, which the staging keeps (a duplicate, in its byte order)
            if (up) {
                session.guardedRun(() -> ctx.upload(b.ptr, offset * dt.bytes(), length, dt.bytes(),
                        (bb, off, count) -> piece.convert(dt, (int) off, count, bb.duplicate().order(bb.order()))));
            } else {
                session.guardedRun(() -> ctx.download(b.ptr, offset * dt.bytes(), length, dt.bytes(),
                        (bb, off, count) -> piece.convert(dt, (int) off, count, bb.duplicate().order(bb.order()))));
            }
        });
    }

    void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
        CudaBuffer s = session.own("src", src);
        whilePinned(s, () -> {
            long n = HostValues.checkBytes("src", s, srcOffset, dst);
            int size = s.dtype().bytes();
            int p0 = dst.position();
            if (n > 0) {
                session.guardedRun(() -> ctx.download(s.ptr, srcOffset * size, n, size,
                        (bb, off, count) -> dst.put(p0 + (int) off * size, bb, bb.position(), count * size)));
            }
            dst.position(dst.limit());
        });
    }
}
