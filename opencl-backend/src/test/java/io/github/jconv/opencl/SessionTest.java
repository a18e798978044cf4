package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.Capabilities;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.Support;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.github.jconv.opencl.OpenClTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Buffers, transfers, support statements, threads and the lifecycle of one session. */
class SessionTest {
    private static ConvBackend session;

    @BeforeAll
    static void open() {
        session = openOrSkip();
    }

    @AfterAll
    static void close() {
        if (session != null) session.close();
    }

    @Test
    void uploadAndDownloadHonourBothOffsets() {
        try (DeviceBuffer b = session.allocate(DType.FP32, Shape.of(2, 5))) {
            session.upload(b, 0, new float[10], 0, 10);
            session.upload(b, 3, new float[] {9, 1, 2, 3, 9}, 1, 3);
            float[] out = new float[6];
            session.download(b, 2, out, 1, 4);
            assertArrayEquals(new float[] {0, 0, 1, 2, 3, 0}, out);
        }
        try (DeviceBuffer d = session.allocate(DType.FP64, Shape.of(4))) {
            session.upload(d, 1, new double[] {0.1, 0.2, 0.3}, 0, 3);
            double[] out = new double[3];
            session.download(d, 1, out, 0, 3);
            assertArrayEquals(new double[] {0.1, 0.2, 0.3}, out);
        }
    }

    @Test
    void aTransferOutsideTheBufferIsRefusedWithTheRule() {
        try (DeviceBuffer b = session.allocate(DType.FP32, Shape.of(4))) {
            IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> session.upload(b, 2, new float[4], 0, 4));
            assertTrue(range.getMessage().contains("buffer range [2, 6)"), range.getMessage());
            IllegalArgumentException array = assertThrows(IllegalArgumentException.class, () -> session.download(b, 0, new float[4], 3, 2));
            assertTrue(array.getMessage().contains("array range [3, 5)"), array.getMessage());
        }
    }

    @Test
    void valuesConvertBetweenTheArrayTypeAndTheBufferType() {
        try (DeviceBuffer f = session.allocate(DType.FP32, Shape.of(2)); DeviceBuffer d = session.allocate(DType.FP64, Shape.of(2))) {
            session.upload(f, 0, new double[] {0.1, -3}, 0, 2);
            double[] back = new double[2];
            session.download(f, 0, back, 0, 2);
            assertArrayEquals(new double[] {(float) 0.1, -3}, back);
            session.upload(d, 0, new float[] {0.25f, 7}, 0, 2);
            float[] fb = new float[2];
            session.download(d, 0, fb, 0, 2);
            assertArrayEquals(new float[] {0.25f, 7}, fb);
        }
    }

    @Test
    void buffersAreCountedAndAClosedOneCannotBeUsed() {
        long before = session.tracker().liveBuffers();
        DeviceBuffer b = session.allocate(DType.FP32, Shape.of(3, 7));
        assertEquals(before + 1, session.tracker().liveBuffers());
        b.close();
        b.close();
        assertEquals(before, session.tracker().liveBuffers());
        assertTrue(b.isClosed());
        assertThrows(IllegalStateException.class, () -> session.upload(b, 0, new float[1], 0, 1));
    }

    @Test
    void anAllocationLargerThanTheDeviceAllowsNamesTheLimit() {
        long max = Long.parseLong(session.device().properties().get("maxAllocBytes"));
        int side = (int) Math.min(Integer.MAX_VALUE, max / 4 / 1024 + 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> session.allocate(DType.FP32, Shape.of(1024, side)));
        assertTrue(e.getMessage().contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + max), e.getMessage());
    }

    @Test
    void bf16IsRefusedWithAReasonFp16IsStoredAndFp64FollowsTheDevice() {
        ConvSpec s = Capabilities.representative(ConvType.CONVOLUTION, 2);
        Support bf16 = session.supports(s, Pass.FORWARD, DType.BF16);
        assertFalse(bf16.supported());
        assertTrue(bf16.reason().contains("cuda"), bf16.reason());
        // FP16 is storage only (vload_half / vstore_half are core OpenCL): every device, cl_khr_fp16 or not
        assertTrue(session.supports(s, Pass.FORWARD, DType.FP16).supported());
        boolean fp64 = Boolean.parseBoolean(session.device().properties().get("fp64"));
        assertEquals(fp64, session.supports(s, Pass.FORWARD, DType.FP64).supported());
        Support offsets = session.supports(s, Pass.BACKWARD_OFFSET_MASK, DType.FP32);
        assertFalse(offsets.supported());
        assertTrue(offsets.reason().contains("deformable"), offsets.reason());
    }

    @Test
    void theCapabilityMatrixHasEveryFamilyAndRankInFp32() {
        Capabilities caps = session.capabilities();
        for (ConvType t : ConvType.values()) {
            for (int rank = 1; rank <= 3; rank++) {
                if (t == ConvType.DEFORMABLE && rank != 2) continue;
                assertTrue(caps.lookup(t, rank, DType.FP32).supported(), t + " " + rank + "D");
            }
        }
    }

    @Test
    void theSessionReportsTheAlgorithmItRan() {
        ConvSpec s = ConvSpec.transposed().channels(2, 2).input(3, 3).kernel(2).stride(2).bias(false).build();
        try (DeviceBuffer x = session.allocate(DType.FP32, s.inputShape()); DeviceBuffer w = session.allocate(DType.FP32, s.weightShape());
             DeviceBuffer y = session.allocate(DType.FP32, s.outputShape())) {
            session.execute(Pass.FORWARD, s, ConvArgs.builder().x(x).w(w).y(y).build());
            assertEquals(Algorithms.choose(s, Pass.FORWARD, Algorithms.Mode.AUTO).label(), session.lastAlgorithm());
            assertTrue(session.lastAlgorithm().contains("adjoint"), session.lastAlgorithm());
        }
    }

    @Test
    void severalThreadsSharingTheSessionGetTheSameBitsAsOne() throws Exception {
        ConvSpec s = ConvSpec.convolution().batch(2).channels(4, 8).groups(2).input(9, 9).kernel(3).padding(1).build();
        Random rnd = new Random(7);
        double[] x = random(rnd, s.inputShape().elementCount(), -1, 1);
        double[] w = random(rnd, s.weightShape().elementCount(), -1, 1);
        double[] b = random(rnd, s.outChannels(), -1, 1);
        double[] dy = random(rnd, s.outputShape().elementCount(), -1, 1);
        double[][] alone = runAll(s, x, w, b, dy);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<double[][]>> fs = new ArrayList<>();
            for (int i = 0; i < 16; i++) fs.add(pool.submit(() -> runAll(s, x, w, b, dy)));
            for (Future<double[][]> f : fs) {
                double[][] got = f.get();
                for (int k = 0; k < alone.length; k++) assertArrayEquals(alone[k], got[k]);
            }
        } finally {
            pool.shutdown();
        }
    }

    /** Forward, data and weight gradients of one problem on fresh buffers. */
    private static double[][] runAll(ConvSpec s, double[] x, double[] w, double[] b, double[] dy) {
        try (DeviceBuffer xb = put(session, DType.FP32, s.inputShape(), x); DeviceBuffer wb = put(session, DType.FP32, s.weightShape(), w);
             DeviceBuffer bb = put(session, DType.FP32, s.biasShape(), b); DeviceBuffer dyb = put(session, DType.FP32, s.outputShape(), dy);
             DeviceBuffer y = session.allocate(DType.FP32, s.outputShape()); DeviceBuffer dx = session.allocate(DType.FP32, s.inputShape());
             DeviceBuffer dw = session.allocate(DType.FP32, s.weightShape())) {
            session.execute(Pass.FORWARD, s, ConvArgs.builder().x(xb).w(wb).b(bb).y(y).build());
            session.execute(Pass.BACKWARD_DATA, s, ConvArgs.builder().dy(dyb).w(wb).dx(dx).build());
            session.execute(Pass.BACKWARD_WEIGHT, s, ConvArgs.builder().x(xb).dy(dyb).dw(dw).build());
            return new double[][] {get(session, y), get(session, dx), get(session, dw)};
        }
    }

    @Test
    void aNanOffsetGivesNanWhereItIsReadAndEveryPassStillRuns() {
        ConvSpec s = ConvSpec.deformable().channels(2, 2).input(5, 5).kernel(3).padding(1).mask(true).bias(false).build();
        Random rnd = new Random(11);
        double[] off = random(rnd, s.offsetShape().elementCount(), -0.5, 0.5);
        int oh = s.output(0), ow = s.output(1);
        off[2 * oh * ow + 1 * ow + 3] = Double.NaN; // dy of tap 1 at output (1, 3)
        try (DeviceBuffer x = put(session, DType.FP32, s.inputShape(), random(rnd, s.inputShape().elementCount(), -1, 1));
             DeviceBuffer w = put(session, DType.FP32, s.weightShape(), random(rnd, s.weightShape().elementCount(), -1, 1));
             DeviceBuffer o = put(session, DType.FP32, s.offsetShape(), off);
             DeviceBuffer m = put(session, DType.FP32, s.maskShape(), random(rnd, s.maskShape().elementCount(), 0, 1));
             DeviceBuffer dy = put(session, DType.FP32, s.outputShape(), random(rnd, s.outputShape().elementCount(), -1, 1));
             DeviceBuffer y = session.allocate(DType.FP32, s.outputShape()); DeviceBuffer dx = session.allocate(DType.FP32, s.inputShape());
             DeviceBuffer dw = session.allocate(DType.FP32, s.weightShape()); DeviceBuffer doff = session.allocate(DType.FP32, s.offsetShape());
             DeviceBuffer dm = session.allocate(DType.FP32, s.maskShape())) {
            session.execute(Pass.FORWARD, s, ConvArgs.builder().x(x).w(w).offset(o).mask(m).y(y).build());
            double[] out = get(session, y);
            for (int i = 0; i < out.length; i++) {
                boolean reads = i % (oh * ow) == 1 * ow + 3;
                assertEquals(reads, Double.isNaN(out[i]), "y[" + i + "] = " + out[i]);
            }
            session.execute(Pass.BACKWARD_DATA, s, ConvArgs.builder().dy(dy).w(w).offset(o).mask(m).dx(dx).build());
            session.execute(Pass.BACKWARD_WEIGHT, s, ConvArgs.builder().x(x).dy(dy).offset(o).mask(m).dw(dw).build());
            session.execute(Pass.BACKWARD_OFFSET_MASK, s, ConvArgs.builder().x(x).w(w).dy(dy).offset(o).mask(m).dOffset(doff).dMask(dm).build());
            assertTrue(Double.isNaN(get(session, doff)[2 * oh * ow + 1 * ow + 3]), "the NaN offset's own gradient is NaN");
            for (double v : get(session, dx)) assertTrue(Double.isFinite(v), "a NaN sample scatters nowhere");
        }
    }

    @Test
    void deformablePassesGiveTheSameBitsEveryRun() {
        ConvSpec s = ConvSpec.deformable().batch(2).channels(4, 4).groups(2).offsetGroups(2).mask(true).input(6, 6).kernel(3)
                .padding(1).build();
        Random rnd = new Random(5);
        double[][] in = {random(rnd, s.inputShape().elementCount(), -1, 1), random(rnd, s.weightShape().elementCount(), -1, 1),
                offsets(rnd, s.offsetShape().elementCount(), 2), random(rnd, s.maskShape().elementCount(), 0, 1),
                random(rnd, s.outputShape().elementCount(), -1, 1), random(rnd, s.outChannels(), -1, 1)};
        double[][] first = deformableRun(session, s, in);
        double[][] second = deformableRun(session, s, in);
        for (int i = 0; i < first.length; i++) assertArrayEquals(first[i], second[i], "output " + i);
    }

    /** Every pass of a deformable problem: y, dx, dw, db, d offset, d mask. */
    private static double[][] deformableRun(ConvBackend session, ConvSpec s, double[][] in) {
        DType f = DType.FP32;
        try (DeviceBuffer x = put(session, f, s.inputShape(), in[0]); DeviceBuffer w = put(session, f, s.weightShape(), in[1]);
             DeviceBuffer o = put(session, f, s.offsetShape(), in[2]); DeviceBuffer m = put(session, f, s.maskShape(), in[3]);
             DeviceBuffer dy = put(session, f, s.outputShape(), in[4]); DeviceBuffer b = put(session, f, s.biasShape(), in[5]);
             DeviceBuffer y = session.allocate(f, s.outputShape()); DeviceBuffer dx = session.allocate(f, s.inputShape());
             DeviceBuffer dw = session.allocate(f, s.weightShape()); DeviceBuffer db = session.allocate(f, s.biasShape());
             DeviceBuffer doff = session.allocate(f, s.offsetShape()); DeviceBuffer dm = session.allocate(f, s.maskShape())) {
            session.execute(Pass.FORWARD, s, ConvArgs.builder().x(x).w(w).b(b).offset(o).mask(m).y(y).build());
            session.execute(Pass.BACKWARD_DATA, s, ConvArgs.builder().dy(dy).w(w).offset(o).mask(m).dx(dx).build());
            session.execute(Pass.BACKWARD_WEIGHT, s, ConvArgs.builder().x(x).dy(dy).offset(o).mask(m).dw(dw).build());
            session.execute(Pass.BACKWARD_BIAS, s, ConvArgs.builder().dy(dy).db(db).build());
            session.execute(Pass.BACKWARD_OFFSET_MASK, s, ConvArgs.builder().x(x).w(w).dy(dy).offset(o).mask(m).dOffset(doff).dMask(dm).build());
            return new double[][] {get(session, y), get(session, dx), get(session, dw), get(session, db), get(session, doff), get(session, dm)};
        }
    }

    @Test
    void rowAndPlaneScattersOfTheDeformableDataGradientGiveTheSameBits() {
        ConvSpec s = ConvSpec.deformable().batch(2).channels(4, 4).offsetGroups(2).mask(true).input(7, 6).kernel(3)
                .stride(2).padding(1).build();
        Random rnd = new Random(9);
        double[][] in = {random(rnd, s.inputShape().elementCount(), -1, 1), random(rnd, s.weightShape().elementCount(), -1, 1),
                offsets(rnd, s.offsetShape().elementCount(), 3), random(rnd, s.maskShape().elementCount(), 0, 1),
                random(rnd, s.outputShape().elementCount(), -1, 1), random(rnd, s.outChannels(), -1, 1)};
        String saved = System.getProperty(Algorithms.SCATTER_PROPERTY);
        try {
            System.setProperty(Algorithms.SCATTER_PROPERTY, "rows");
            double[] rows;
            try (ConvBackend r = new OpenClBackendProvider().open(0)) {
                rows = deformableRun(r, s, in)[1];
                assertTrue(r.lastAlgorithm().contains("row-scatter") || !r.lastAlgorithm().contains("scatter"), r.lastAlgorithm());
            }
            System.setProperty(Algorithms.SCATTER_PROPERTY, "plane");
            try (ConvBackend p = new OpenClBackendProvider().open(0)) {
                assertArrayEquals(deformableRun(p, s, in)[1], rows);
            }
        } finally {
            if (saved == null) System.clearProperty(Algorithms.SCATTER_PROPERTY);
            else System.setProperty(Algorithms.SCATTER_PROPERTY, saved);
        }
    }

    @Test
    void aClosedSessionRefusesWork() {
        ConvBackend other = new OpenClBackendProvider().open(0);
        other.close();
        other.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> other.allocate(DType.FP32, Shape.of(1)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
