package io.github.jconv.spi;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host conversions of every backend, done once in core: the bytes a backend receives and the values it gives back. */
class HostValuesTest {
    /** A session whose device memory is a byte array per buffer: it stores what it is given, as it is. */
    static final class ByteStore implements ConvBackend {
        final BufferTracker tracker = new BufferTracker("bytes");
        int writes;
        int reads;

        final class Buf extends AbstractDeviceBuffer {
            final byte[] bytes;

            Buf(DType dt, Shape s) {
                super(ByteStore.this, dt, s);
                bytes = new byte[(int) (s.elementCount() * dt.bytes())];
                track(tracker, () -> { });
            }
        }

        @Override public String name() { return "bytes"; }
        @Override public DeviceInfo device() { return new DeviceInfo(0, "bytes", "test", 0, 1, Map.of()); }
        @Override public DeviceBuffer allocate(DType dtype, Shape shape) { return new Buf(dtype, shape); }

        @Override
        public void write(DeviceBuffer dst, long dstOffset, ByteBuffer src) {
            Buf b = (Buf) dst;
            b.checkOpen();
            long n = HostValues.checkBytes("dst", b, dstOffset, src);
            src.get(b.bytes, (int) (dstOffset * b.dtype().bytes()), (int) n * b.dtype().bytes());
            writes++;
        }

        @Override
        public void read(DeviceBuffer src, long srcOffset, ByteBuffer dst) {
            Buf b = (Buf) src;
            b.checkOpen();
            long n = HostValues.checkBytes("src", b, srcOffset, dst);
            dst.put(b.bytes, (int) (srcOffset * b.dtype().bytes()), (int) n * b.dtype().bytes());
            reads++;
        }

        @Override public Support supports(ConvSpec spec, Pass pass, DType dtype) { return Support.yes(); }
        @Override public void execute(Pass pass, ConvSpec spec, ConvArgs args) { }
        @Override public String lastAlgorithm() { return "none"; }
        @Override public BufferTracker tracker() { return tracker; }
        @Override public void close() { }
    }

    private static int u16(byte[] b, int i) {
        return ByteBuffer.wrap(b, i * 2, 2).order(ByteOrder.nativeOrder()).getShort() & 0xffff;
    }

    @Test
    void theBackendReceivesTheBytesOfItsDtype() {
        ByteStore s = new ByteStore();
        try (DeviceBuffer f32 = s.allocate(DType.FP32, Shape.of(2)); DeviceBuffer f16 = s.allocate(DType.FP16, Shape.of(3));
             DeviceBuffer b16 = s.allocate(DType.BF16, Shape.of(2)); DeviceBuffer f64 = s.allocate(DType.FP64, Shape.of(1))) {
            s.upload(f32, 0, new float[] {1.5f, -2f}, 0, 2);
            // 1.5 = 0x3FC00000, -2 = 0xC0000000 (IEEE 754 single: sign, 8 exponent bits biased by 127, 23 fraction bits)
            ByteBuffer got = ByteBuffer.wrap(((ByteStore.Buf) f32).bytes).order(ByteOrder.nativeOrder());
            assertEquals(0x3FC00000, got.getInt(0));
            assertEquals(0xC0000000, got.getInt(4));
            // half: 1 = 0x3C00; 0.5 = 0x3800; 65520 is the tie between 65504 and 65536 and rounds to even: infinity 0x7C00
            s.upload(f16, 0, new double[] {1, 0.5, 65520}, 0, 3);
            byte[] h = ((ByteStore.Buf) f16).bytes;
            assertEquals(0x3C00, u16(h, 0));
            assertEquals(0x3800, u16(h, 1));
            assertEquals(0x7C00, u16(h, 2));
            // bf16 is the top half of the float: 1.5f = 0x3FC0, -2f = 0xC000
            s.upload(b16, 0, new float[] {1.5f, -2f}, 0, 2);
            assertEquals(0x3FC0, u16(((ByteStore.Buf) b16).bytes, 0));
            assertEquals(0xC000, u16(((ByteStore.Buf) b16).bytes, 1));
            // a float into FP64 widens exactly: 0.1f is 13421773 * 2^-27
            s.upload(f64, 0, new float[] {0.1f}, 0, 1);
            double[] back = new double[1];
            s.download(f64, 0, back, 0, 1);
            assertEquals(13421773 * 0x1p-27, back[0]);
        }
    }

    /**
     * A double goes to FP16 and BF16 in one rounding. 1 + 2^-11 + 2^-40: FP16 steps by 2^-10 near 1, so this is just above
     * the tie 1 + 2^-11 and rounds up to 1 + 2^-10 (0x3C01); through float the 2^-40 is lost first (float steps by 2^-23),
     * leaving the exact tie, which goes to the even 1.0 (0x3C00). BF16 steps by 2^-7: 1 + 2^-8 + 2^-30 rounds up to
     * 1 + 2^-7 (0x3F81), through float to the tie and then to 1.0 (0x3F80).
     */
    @Test
    void doublesRoundOnceTo16Bits() {
        ByteStore s = new ByteStore();
        try (DeviceBuffer h = s.allocate(DType.FP16, Shape.of(2)); DeviceBuffer b = s.allocate(DType.BF16, Shape.of(2))) {
            s.upload(h, 0, new double[] {1 + 0x1p-11 + 0x1p-40, -(1 + 0x1p-11 + 0x1p-40)}, 0, 2);
            assertEquals(0x3C01, u16(((ByteStore.Buf) h).bytes, 0));
            assertEquals(0xBC01, u16(((ByteStore.Buf) h).bytes, 1));
            s.upload(b, 0, new double[] {1 + 0x1p-8 + 0x1p-30, 1 + 0x1p-8}, 0, 2);
            assertEquals(0x3F81, u16(((ByteStore.Buf) b).bytes, 0));
            assertEquals(0x3F80, u16(((ByteStore.Buf) b).bytes, 1), "the exact tie goes to the even 1.0");
            double[] back = new double[2];
            s.download(b, 0, back, 0, 2);
            assertArrayEquals(new double[] {1 + 0x1p-7, 1}, back);
        }
    }

    @Test
    void aLongTransferIsStagedInChunksAndLandsInOrder() {
        ByteStore s = new ByteStore();
        int n = HostValues.CHUNK + 3;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i; // integers below 2^24: exact in FP32
        try (DeviceBuffer b = s.allocate(DType.FP32, Shape.of(n + 1))) {
            s.upload(b, 1, v, 0, n);
            assertEquals(2, s.writes, "one chunk of CHUNK values, one of 3");
            float[] back = new float[n];
            s.download(b, 1, back, 0, n);
            assertEquals(2, s.reads);
            assertArrayEquals(v, back);
        }
    }

    @Test
    void badRangesAreRefusedBeforeAnyByteMoves() {
        ByteStore s = new ByteStore();
        try (DeviceBuffer b = s.allocate(DType.FP32, Shape.of(4))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.upload(b, 2, new float[4], 0, 3));
            assertTrue(e.getMessage().startsWith("buffer range [2, 5) of 4 elements: must lie inside the buffer"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.download(b, 0, new double[2], 1, 2));
            assertTrue(e.getMessage().startsWith("array range [1, 3) of length 2: must lie inside the array"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.upload(b, 0, (float[]) null, 0, 1));
            assertTrue(e.getMessage().startsWith("src = null"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.upload(null, 0, new float[1], 0, 1));
            // an offset near Long.MAX_VALUE: the end would wrap, so the message shows the sum unevaluated
            e = assertThrows(IllegalArgumentException.class, () -> s.upload(b, Long.MAX_VALUE, new float[4], 0, 4));
            assertTrue(e.getMessage().startsWith("buffer range [" + Long.MAX_VALUE + ", " + Long.MAX_VALUE + " + 4)"), e.getMessage());
            assertEquals(0, s.writes + s.reads);
            e = assertThrows(IllegalArgumentException.class, () -> s.write(b, 0, ByteBuffer.allocate(6)));
            assertTrue(e.getMessage().startsWith("bytes.remaining() = 6: must be whole FP32 values of 4 bytes"), e.getMessage());
        }
    }
}
