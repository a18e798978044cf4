package io.github.jconv.cuda;

import io.github.jconv.ConvEngine;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import jcuda.driver.CUcontext;
import jcuda.driver.JCudaDriver;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Averages buffers (weight gradients) across CUDA engines on different devices of one process with
 * NCCL, through JavaCPP's nccl presets in org.bytedeco:cuda: one communicator per engine
 * (ncclCommInitAll), and an in-place all-reduce with {@code ncclAvg} (the sum over the N engines
 * divided by N) on each engine's own stream, so it is ordered after that engine's backward and before
 * its next step. Rank {@code r} is {@code engines.get(r)}.
 *
 * <p>Two ways to call it: each engine's thread calls {@link #allReduceMean(int, DeviceBuffer...)} for
 * its own rank (every rank must make the same calls, in the same order, with the same element counts),
 * or one thread calls {@link #allReduceMeanAll(List)} for all ranks in one NCCL group. Both return
 * once the work is queued; read results through the engine (a download waits for the stream).
 *
 * <p>The JNI bridge comes from the org.bytedeco:cuda jar; the NCCL library itself (libnccl.so.2) does
 * not, and must be installed where the dynamic linker finds it ({@link #status()} says whether it loaded).
 */
public final class NcclAllReduce implements AutoCloseable {
    /** Whether NCCL loaded, and if not, why and what to install. */
    public record Status(boolean ok, String reason, String fix, int version) {
    }

    private static Status status;

    private final List<ConvEngine> engines;
    private final List<ncclComm> comms;
    private final List<CUstream_st> streams;
    private boolean closed;

    private NcclAllReduce(List<ConvEngine> engines, List<ncclComm> comms) {
        this.engines = engines;
        this.comms = comms;
        this.streams = new ArrayList<>();
        for (ConvEngine e : engines) {
            streams.add(new CUstream_st(DeviceAddress.javacpp(session(e).context().streamAddress())));
        }
    }

    /** Loads NCCL once and remembers why it failed. */
    public static synchronized Status status() {
        if (status == null) {
            try {
                org.bytedeco.javacpp.Loader.load(nccl.class);
                int[] v = new int[1];
                int rc = nccl.ncclGetVersion(v);
                status = rc == 0 ? new Status(true, "", "", v[0])
                        : new Status(false, "ncclGetVersion failed: " + error(rc), "reinstall NCCL 2 (libnccl.so.2)", 0);
            } catch (LinkageError | RuntimeException e) {
                status = new Status(false, "NCCL did not load: " + e, "install NCCL 2 for CUDA 13 (libnccl.so.2, e.g. the "
                        + "libnccl2 package or the nvidia-nccl-cu13 wheel's lib folder) and the CUDA 13 runtime (libcudart.so.13) "
                        + "where the dynamic linker finds them, e.g. LD_LIBRARY_PATH", 0);
            }
        }
        return status;
    }

    /**
     * One communicator per engine. Every engine must be a CUDA engine, each on a different device.
     * Arguments are checked before NCCL is loaded.
     */
    public static NcclAllReduce open(List<ConvEngine> engines) {
        if (engines == null || engines.isEmpty()) {
            throw new IllegalArgumentException("engines = " + engines + ": pass one CUDA engine per device, e.g. List.of(engineOnDevice0)");
        }
        for (int r = 0; r < engines.size(); r++) {
            if (engines.get(r) == null) throw new IllegalArgumentException("engines[" + r + "] = null: pass one CUDA engine per device");
        }
        List<ConvEngine> es = List.copyOf(engines);
        int[] devices = new int[es.size()];
        Set<Integer> seen = new HashSet<>();
        for (int r = 0; r < es.size(); r++) {
            CudaBackend b = session(es.get(r));
            devices[r] = b.context().ordinal();
            if (!seen.add(devices[r])) {
                throw new IllegalArgumentException("engines[" + r + "] is on device " + devices[r] + " like an earlier one: NCCL needs "
                        + "one engine per device; e.g. ConvEngine.open(new CudaBackendProvider(), " + r + ") for rank " + r);
            }
        }
        Status s = status();
        if (!s.ok()) throw new IllegalStateException("NCCL is unavailable: " + s.reason() + "; " + s.fix());
        PointerPointer<ncclComm> handles = new PointerPointer<>(es.size());
        try {
            check(nccl.ncclCommInitAll(handles, es.size(), devices), "ncclCommInitAll(" + es.size() + " devices)");
            List<ncclComm> comms = new ArrayList<>();
            for (int r = 0; r < es.size(); r++) comms.add(handles.get(ncclComm.class, r));
            return new NcclAllReduce(es, comms);
        } finally {
            handles.close();
        }
    }

    /** Number of engines (ranks). */
    public int size() {
        return engines.size();
    }

    /** Rank {@code rank}'s buffers become the mean over all ranks of the same buffers, in place, on that engine's stream. */
    public void allReduceMean(int rank, DeviceBuffer... buffers) {
        checkOpen();
        if (rank < 0 || rank >= engines.size()) {
            throw new IllegalArgumentException("rank = " + rank + ": must be in 0.." + (engines.size() - 1) + " (one per engine); e.g. 0");
        }
        if (buffers == null) throw new IllegalArgumentException("buffers = null: pass this rank's gradients, e.g. layer.gradWeight()");
        long[][] addr = {addresses(rank, buffers)};
        group(() -> enqueue(rank, buffers, addr[0]));
    }

    /** From one thread: {@code perRank.get(r)} are rank r's buffers; all become the mean over ranks, in one NCCL group. */
    public void allReduceMeanAll(List<DeviceBuffer[]> perRank) {
        checkOpen();
        if (perRank == null || perRank.size() != engines.size()) {
            throw new IllegalArgumentException("perRank has " + (perRank == null ? "null" : perRank.size() + " entries")
                    + ": pass one array of buffers per engine (" + engines.size() + ")");
        }
        long[][] addr = new long[perRank.size()][];
        for (int r = 0; r < perRank.size(); r++) addr[r] = addresses(r, perRank.get(r));
        int n = perRank.get(0).length;
        for (int r = 1; r < perRank.size(); r++) {
            for (int i = 0; i < n && i < perRank.get(r).length; i++) {
                if (perRank.get(r)[i].elementCount() != perRank.get(0)[i].elementCount() || perRank.get(r)[i].dtype() != perRank.get(0)[i].dtype()) {
                    throw new IllegalArgumentException("perRank[" + r + "][" + i + "] is " + perRank.get(r)[i].dtype() + " x "
                            + perRank.get(r)[i].elementCount() + " but perRank[0][" + i + "] is " + perRank.get(0)[i].dtype() + " x "
                            + perRank.get(0)[i].elementCount() + ": every rank passes the same buffers (the same layer's gradient)");
                }
            }
            if (perRank.get(r).length != n) {
                throw new IllegalArgumentException("perRank[" + r + "] has " + perRank.get(r).length + " buffers, perRank[0] " + n
                        + ": every rank passes the same number");
            }
        }
        group(() -> {
            for (int r = 0; r < perRank.size(); r++) enqueue(r, perRank.get(r), addr[r]);
        });
    }

    private long[] addresses(int rank, DeviceBuffer[] buffers) {
        ConvEngine e = engines.get(rank);
        long[] a = new long[buffers.length];
        for (int i = 0; i < buffers.length; i++) {
            DeviceBuffer b = buffers[i];
            if (b == null) throw new IllegalArgumentException("buffers[" + i + "] = null: pass a buffer of engine " + rank);
            if (b.elementCount() == 0) continue; // nothing on the device (batch 0): nothing to reduce
            if (!e.backend().owns(b)) {
                throw new IllegalArgumentException("buffers[" + i + "] does not belong to engine " + rank + " (" + e.device().name()
                        + "): pass that engine's own buffers, e.g. its layer's gradWeight()");
            }
            ncclType(b.dtype()); // checks the type
            a[i] = e.nativeAddress(b);
        }
        return a;
    }

    private void enqueue(int rank, DeviceBuffer[] buffers, long[] addr) {
        JCudaDriver.cuCtxSetCurrent((CUcontext) engines.get(rank).nativeContext());
        for (int i = 0; i < buffers.length; i++) {
            if (buffers[i].elementCount() == 0) continue;
            org.bytedeco.javacpp.Pointer p = DeviceAddress.javacpp(addr[i]);
            check(nccl.ncclAllReduce(p, p, buffers[i].elementCount(), ncclType(buffers[i].dtype()), nccl.ncclAvg, comms.get(rank),
                    streams.get(rank)), "ncclAllReduce(rank " + rank + ", buffer " + i + ", " + buffers[i].elementCount() + " elements)");
        }
    }

    private static void group(Runnable calls) {
        check(nccl.ncclGroupStart(), "ncclGroupStart");
        RuntimeException failed = null;
        try {
            calls.run();
        } catch (RuntimeException e) {
            failed = e;
        } finally {
            int rc = nccl.ncclGroupEnd();
            if (failed != null) throw failed;
            check(rc, "ncclGroupEnd");
        }
    }

    static int ncclType(DType t) {
        return switch (t) {
            case FP32 -> nccl.ncclFloat32;
            case FP64 -> nccl.ncclFloat64;
            case FP16 -> nccl.ncclFloat16;
            case BF16 -> nccl.ncclBfloat16;
        };
    }

    private static CudaBackend session(ConvEngine e) {
        if (e == null) throw new IllegalArgumentException("engine = null: pass one CUDA engine per device");
        if (!(e.backend() instanceof CudaBackend b)) {
            throw new IllegalArgumentException("engine on backend " + e.backendName() + ": NCCL needs CUDA engines; e.g. "
                    + "ConvEngine.open(new CudaBackendProvider(), 0)");
        }
        return b;
    }

    private static void check(int rc, String call) {
        if (rc != 0) throw new IllegalStateException(call + " failed: " + error(rc));
    }

    private static String error(int rc) {
        try {
            return "ncclResult " + rc + " (" + nccl.ncclGetErrorString(rc).getString() + ")";
        } catch (LinkageError | RuntimeException e) {
            return "ncclResult " + rc;
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("this NcclAllReduce is closed: open a new one");
    }

    /** Destroys the communicators (after the engines' queued all-reduces); the engines stay open. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (int r = 0; r < comms.size(); r++) {
            try {
                engines.get(r).synchronize();
            } catch (RuntimeException ignored) { // a closed or poisoned engine: destroy the communicator anyway
            }
            nccl.ncclCommDestroy(comms.get(r));
        }
    }
}
