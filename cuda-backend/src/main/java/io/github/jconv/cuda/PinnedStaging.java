package io.github.jconv.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A session's page-locked host staging area for uploads and downloads: two slots (cuMemAllocHost),
 * grown on demand up to the cap, kept between calls and freed on close. Transfers larger than a slot
 * go in pieces ({@link StagingPlan}), alternating slots so the host fills or drains one while the
 * stream copies the other.
 *
 * <p>Upload: the host copies a piece of the Java array into a slot, the stream copies the slot to the
 * device (cuMemcpyHtoDAsync) and an event is recorded behind it; before a slot is written again the
 * host waits on that event. So an upload may return while its last pieces are still being copied,
 * which is safe: the Java array was already copied out, and the slot is not touched again before its
 * event completes. Download: cuMemcpyDtoHAsync into a slot, wait on the slot's event, copy to the Java
 * array; the next piece is already queued into the other slot. The call returns after the stream has
 * caught up (a download returns data, so it waits).
 *
 * <p>Not thread-safe: the session serializes its calls. Every copy is on the session's stream, so it
 * is ordered after the kernels queued before it and before those queued after it.
 */
final class PinnedStaging implements AutoCloseable {
    /** Bytes per slot at most (two slots): large enough to reach full PCIe bandwidth, small enough to pin cheaply. */
    static final long DEFAULT_CAP_BYTES = 8L << 20;

    /** Writes {@code count} elements of the source, from element {@code offset} of the transfer, to {@code into} (position 0, native order). */
    interface Fill {
        void fill(ByteBuffer into, long offset, int count);
    }

    /** Reads {@code count} elements at the start of {@code from} into the destination, at element {@code offset} of the transfer. */
    interface Drain {
        void drain(ByteBuffer from, long offset, int count);
    }

    private static final class Slot {
        Pointer host;
        ByteBuffer view;
        long bytes;
        CUevent done;
    }

    private final CUstream stream;
    private final long capBytes;
    private final Slot[] slots = {new Slot(), new Slot()};
    private long allocations;

    PinnedStaging(CUstream stream, long capBytes) {
        StagingPlan.elementsPerChunk(4, capBytes); // validates the cap
        this.stream = stream;
        this.capBytes = capBytes;
    }

    long capBytes() {
        return capBytes;
    }

    /** Page-locked bytes held now (both slots). */
    long heldBytes() {
        return slots[0].bytes + slots[1].bytes;
    }

    /** cuMemAllocHost calls so far (tests: the area is reused, not reallocated per call). */
    long allocations() {
        return allocations;
    }

    void upload(CUdeviceptr dst, long dstByte, long elements, int elementBytes, Fill source, String problem) {
        List<StagingPlan.Chunk> plan = StagingPlan.chunks(elements, elementBytes, capBytes);
        long need = StagingPlan.slotBytes(elements, elementBytes, capBytes);
        for (int i = 0; i < plan.size(); i++) {
            StagingPlan.Chunk c = plan.get(i);
            Slot s = slots[i & 1];
            waitFor(s, problem);            // its previous copy to the device has read it
            ensure(s, need, problem);
            s.view.clear();
            source.fill(s.view, c.offset(), c.count());
            long bytes = (long) c.count() * elementBytes;
            CudaErrors.checkDriver(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(dstByte + c.offset() * elementBytes), s.host, bytes, stream),
                    "cuMemcpyHtoDAsync(" + bytes + ")", problem);
            CudaErrors.checkDriver(JCudaDriver.cuEventRecord(s.done, stream), "cuEventRecord", problem);
        }
    }

    void download(CUdeviceptr src, long srcByte, long elements, int elementBytes, Drain target, String problem) {
        List<StagingPlan.Chunk> plan = StagingPlan.chunks(elements, elementBytes, capBytes);
        long need = StagingPlan.slotBytes(elements, elementBytes, capBytes);
        if (!plan.isEmpty()) enqueueDown(slots[0], plan.get(0), src, srcByte, elementBytes, need, problem);
        for (int i = 0; i < plan.size(); i++) {
            // the other slot was drained by the host in the previous round: queue the next piece into it now
            if (i + 1 < plan.size()) enqueueDown(slots[(i + 1) & 1], plan.get(i + 1), src, srcByte, elementBytes, need, problem);
            Slot s = slots[i & 1];
            waitFor(s, problem);
            s.view.clear();
            target.drain(s.view, plan.get(i).offset(), plan.get(i).count());
        }
        // a download returns data: whatever else the stream holds finishes (and reports its errors) first
        CudaErrors.checkDriver(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", problem);
    }

    private void enqueueDown(Slot s, StagingPlan.Chunk c, CUdeviceptr src, long srcByte, int elementBytes, long need, String problem) {
        waitFor(s, problem); // an upload's piece may still be reading this slot on the stream; growing frees it
        ensure(s, need, problem);
        long bytes = (long) c.count() * elementBytes;
        CudaErrors.checkDriver(JCudaDriver.cuMemcpyDtoHAsync(s.host, src.withByteOffset(srcByte + c.offset() * elementBytes), bytes, stream),
                "cuMemcpyDtoHAsync(" + bytes + ")", problem);
        CudaErrors.checkDriver(JCudaDriver.cuEventRecord(s.done, stream), "cuEventRecord", problem);
    }

    private static void waitFor(Slot s, String problem) {
        if (s.done != null) CudaErrors.checkDriver(JCudaDriver.cuEventSynchronize(s.done), "cuEventSynchronize", problem);
    }

    /** The slot holds at least {@code need} bytes; the caller has waited on its event. */
    private void ensure(Slot s, long need, String problem) {
        if (s.done == null) {
            CUevent e = new CUevent();
            CudaErrors.checkDriver(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate", problem);
            s.done = e;
        }
        if (s.bytes >= need) return;
        long size = Math.max(need, Math.min(capBytes, 2 * s.bytes)); // double, up to the cap: few regrowths
        if (s.host != null) {
            JCudaDriver.cuMemFreeHost(s.host);
            s.host = null;
            s.view = null;
            s.bytes = 0;
        }
        Pointer p = new Pointer();
        CudaErrors.checkDriver(JCudaDriver.cuMemAllocHost(p, size), "cuMemAllocHost(" + size + ")", problem);
        allocations++;
        ByteBuffer view = p.getByteBuffer(0, size); // JCuda maps cuMemAllocHost memory as a direct buffer
        if (view == null) {
            JCudaDriver.cuMemFreeHost(p);
            throw new IllegalStateException("JCuda gave no host view of " + size + " page-locked bytes (cuMemAllocHost); "
                    + "use the JCuda version jconv is built with (" + problem + ")");
        }
        s.host = p;
        s.view = view.order(ByteOrder.nativeOrder());
        s.bytes = size;
    }

    /** Frees the slots; the caller has synchronized the stream. */
    @Override
    public void close() {
        for (Slot s : slots) {
            if (s.host != null) JCudaDriver.cuMemFreeHost(s.host);
            if (s.done != null) JCudaDriver.cuEventDestroy(s.done);
            s.host = null;
            s.view = null;
            s.bytes = 0;
            s.done = null;
        }
    }
}
