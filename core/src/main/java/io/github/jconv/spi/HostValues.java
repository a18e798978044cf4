package io.github.jconv.spi;

import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Host values to device bytes and back, once for every backend: float[] and double[] data become the
 * bytes of a buffer's dtype (FP32, FP64, FP16, BF16) in native byte order, and bytes read from a buffer
 * become floats or doubles again. The SPI's typed transfers ({@link ConvBackend#upload(DeviceBuffer, long, float[], int, int)}
 * and the three others) are this class plus the backend's byte transfers ({@link ConvBackend#write},
 * {@link ConvBackend#read}); a backend converts nothing itself.
 *
 * <p>Rounding: to the nearest value of the dtype, ties to even, in one step (a double goes straight to FP16
 * or BF16, never through float, which could round twice). Widening (FP16, BF16 or FP32 to float or double)
 * is exact; FP64 to float rounds to nearest as a Java cast does.
 */
public final class HostValues {
    /** Values per staged chunk of a transfer: at most 8 MiB of host bytes at once, whatever the length. */
    public static final int CHUNK = 1 << 20;

    private HostValues() {
    }

    /** Writes {@code n} values of {@code src} from {@code off} as {@code dt} into {@code out} at its position (advanced). */
    public static void encode(DType dt, float[] src, int off, int n, ByteBuffer out) {
        switch (dt) {
            case FP32 -> out.asFloatBuffer().put(src, off, n);
            case FP64 -> {
                java.nio.DoubleBuffer d = out.asDoubleBuffer();
                for (int i = 0; i < n; i++) d.put(i, src[off + i]);
            }
            case FP16 -> {
                java.nio.ShortBuffer h = out.asShortBuffer();
                for (int i = 0; i < n; i++) h.put(i, HalfFloats.toHalf(src[off + i]));
            }
            case BF16 -> {
                java.nio.ShortBuffer h = out.asShortBuffer();
                for (int i = 0; i < n; i++) h.put(i, HalfFloats.toBf16(src[off + i]));
            }
        }
        out.position(out.position() + n * dt.bytes());
    }

    /** As {@link #encode(DType, float[], int, int, ByteBuffer)}, from doubles (each rounded once). */
    public static void encode(DType dt, double[] src, int off, int n, ByteBuffer out) {
        switch (dt) {
            case FP32 -> {
                java.nio.FloatBuffer f = out.asFloatBuffer();
                for (int i = 0; i < n; i++) f.put(i, (float) src[off + i]);
            }
            case FP64 -> out.asDoubleBuffer().put(src, off, n);
            case FP16 -> {
                java.nio.ShortBuffer h = out.asShortBuffer();
                for (int i = 0; i < n; i++) h.put(i, HalfFloats.toHalf(src[off + i]));
            }
            case BF16 -> {
                java.nio.ShortBuffer h = out.asShortBuffer();
                for (int i = 0; i < n; i++) h.put(i, HalfFloats.toBf16(src[off + i]));
            }
        }
        out.position(out.position() + n * dt.bytes());
    }

    /** Reads {@code n} values of {@code dt} from {@code in} at its position (advanced) into {@code dst} from {@code off}. */
    public static void decode(DType dt, ByteBuffer in, float[] dst, int off, int n) {
        switch (dt) {
            case FP32 -> in.asFloatBuffer().get(dst, off, n);
            case FP64 -> {
                java.nio.DoubleBuffer d = in.asDoubleBuffer();
                for (int i = 0; i < n; i++) dst[off + i] = (float) d.get(i);
            }
            case FP16 -> {
                java.nio.ShortBuffer h = in.asShortBuffer();
                for (int i = 0; i < n; i++) dst[off + i] = HalfFloats.fromHalf(h.get(i));
            }
            case BF16 -> {
                java.nio.ShortBuffer h = in.asShortBuffer();
                for (int i = 0; i < n; i++) dst[off + i] = HalfFloats.fromBf16(h.get(i));
            }
        }
        in.position(in.position() + n * dt.bytes());
    }

    /** As {@link #decode(DType, ByteBuffer, float[], int, int)}, into doubles (exact). */
    public static void decode(DType dt, ByteBuffer in, double[] dst, int off, int n) {
        switch (dt) {
            case FP32 -> {
                java.nio.FloatBuffer f = in.asFloatBuffer();
                for (int i = 0; i < n; i++) dst[off + i] = f.get(i);
            }
            case FP64 -> in.asDoubleBuffer().get(dst, off, n);
            case FP16 -> {
                java.nio.ShortBuffer h = in.asShortBuffer();
                for (int i = 0; i < n; i++) dst[off + i] = HalfFloats.halfToDouble(h.get(i));
            }
            case BF16 -> {
                java.nio.ShortBuffer h = in.asShortBuffer();
                for (int i = 0; i < n; i++) dst[off + i] = HalfFloats.fromBf16(h.get(i));
            }
        }
        in.position(in.position() + n * dt.bytes());
    }

    /** A host staging buffer for up to {@code n} values of {@code dt}, in native byte order. */
    static ByteBuffer staging(DType dt, int n) {
        return ByteBuffer.allocate(Math.min(n, CHUNK) * dt.bytes()).order(ByteOrder.nativeOrder());
    }

    // ---- the typed transfers of the SPI, on the backend's byte transfers ----

    static void upload(ConvBackend b, DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        check("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        chunked(b, true, dst, dstOffset, length, (dt, done, n, stage) -> encode(dt, src, srcOffset + done, n, stage));
    }

    static void upload(ConvBackend b, DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        check("dst", dst, dstOffset, "src", src == null ? -1 : src.length, srcOffset, length);
        chunked(b, true, dst, dstOffset, length, (dt, done, n, stage) -> encode(dt, src, srcOffset + done, n, stage));
    }

    static void download(ConvBackend b, DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        check("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        chunked(b, false, src, srcOffset, length, (dt, done, n, stage) -> decode(dt, stage, dst, dstOffset + done, n));
    }

    static void download(ConvBackend b, DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        check("src", src, srcOffset, "dst", dst == null ? -1 : dst.length, dstOffset, length);
        chunked(b, false, src, srcOffset, length, (dt, done, n, stage) -> decode(dt, stage, dst, dstOffset + done, n));
    }

    /** Converts {@code n} values at host offset {@code done} (from the transfer's start) into or out of {@code stage}. */
    private interface Chunk {
        void convert(DType dt, int done, int n, ByteBuffer stage);
    }

    /**
     * A typed transfer in chunks of at most {@link #CHUNK} values through one host staging buffer: an upload converts
     * each chunk and writes it, a download reads each chunk and converts it.
     */
    private static void chunked(ConvBackend b, boolean up, DeviceBuffer buf, long offset, int length, Chunk chunk) {
        DType dt = buf.dtype();
        ByteBuffer stage = staging(dt, Math.max(1, length));
        int done = 0;
        do {
            int n = Math.min(CHUNK, length - done);
            if (up) {
                stage.clear();
                chunk.convert(dt, done, n, stage);
                stage.flip();
                b.write(buf, offset + done, stage);
            } else {
                stage.clear().limit(n * dt.bytes());
                b.read(buf, offset + done, stage);
                stage.flip();
                chunk.convert(dt, done, n, stage);
            }
            done += n;
        } while (done < length);
    }

    /**
     * The checks every typed transfer makes before any conversion: the buffer and the array given, the array
     * range inside the array, the buffer range inside the buffer (written so that no sum can overflow).
     */
    public static void check(String devName, DeviceBuffer dev, long devOffset, String hostName, int hostLength, int hostOffset, int length) {
        if (dev == null) throw new IllegalArgumentException(devName + " = null: pass a buffer of this session");
        if (hostLength < 0) {
            throw new IllegalArgumentException(hostName + " = null: pass a host array of at least " + Math.max(0, length) + " values");
        }
        if (length < 0 || hostOffset < 0 || (long) hostOffset + length > hostLength) {
            throw new IllegalArgumentException("array range [" + hostOffset + ", " + ((long) hostOffset + length) + ") of length "
                    + hostLength + ": must lie inside the array; e.g. offset 0, length " + hostLength);
        }
        range(dev, devOffset, length, Math.min(hostLength, dev.elementCount()));
    }

    /** Written so that no sum can overflow: devOffset + length would wrap for devOffset near Long.MAX_VALUE. */
    private static void range(DeviceBuffer dev, long devOffset, long length, long example) {
        long n = dev.elementCount();
        if (devOffset < 0 || length > n || devOffset > n - length) {
            long end = devOffset + length;
            throw new IllegalArgumentException("buffer range [" + devOffset + ", " + (end < devOffset ? devOffset + " + " + length : String.valueOf(end))
                    + ") of " + n + " elements: must lie inside the buffer; e.g. offset 0, length " + example);
        }
    }

    /**
     * For backends: the number of whole {@code dt} values in {@code bytes} from element {@code offset} of {@code buffer},
     * after checking they fit (an IllegalArgumentException names what does not).
     */
    public static long checkBytes(String name, DeviceBuffer buffer, long offset, ByteBuffer bytes) {
        if (bytes == null) throw new IllegalArgumentException("bytes = null: pass a ByteBuffer in native byte order");
        int size = buffer.dtype().bytes();
        int r = bytes.remaining();
        if (r % size != 0) {
            throw new IllegalArgumentException("bytes.remaining() = " + r + ": must be whole " + buffer.dtype() + " values of " + size
                    + " bytes; e.g. " + (r / size) * size);
        }
        long n = r / size;
        range(buffer, offset, n, buffer.elementCount());
        return n;
    }
}
