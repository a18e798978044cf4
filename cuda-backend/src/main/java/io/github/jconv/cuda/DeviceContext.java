package io.github.jconv.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * One session's view of a device on the driver API: its primary context, one stream, memory,
 * events, modules loaded from the PTX resources, and kernel launches. Every call maps its status
 * through {@link CudaErrors} with the problem it serves.
 */
final class DeviceContext implements AutoCloseable {
    final PrimaryContext primary;
    final CUstream stream;
    /** Page-locked staging for uploads and downloads, reused by the session's calls. */
    private PinnedStaging staging;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, CUdeviceptr> scratch = new HashMap<>();
    private final Map<String, Long> scratchBytes = new HashMap<>();

    DeviceContext(int ordinal) {
        this.primary = PrimaryContext.acquire(ordinal);
        try {
            primary.makeCurrent();
            stream = new CUstream();
            // a blocking stream: it orders itself with the legacy default stream the synchronous copies use
            CudaErrors.checkDriver(JCudaDriver.cuStreamCreate(stream, 0), "cuStreamCreate", "");
            staging = new PinnedStaging(stream, PinnedStaging.DEFAULT_CAP_BYTES);
        } catch (RuntimeException e) {
            primary.release();
            throw e;
        }
    }

    int ordinal() {
        return primary.ordinal;
    }

    void makeCurrent() {
        primary.makeCurrent();
    }

    /** The stream's handle as a raw address, for cudnnSetStream. */
    long streamAddress() {
        return DeviceAddress.of(stream);
    }

    /** Free and total device memory in bytes. */
    long[] memInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        CudaErrors.checkDriver(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo", "");
        return new long[]{free[0], total[0]};
    }

    /** Device memory; out of memory reports the request and what is free, and leaves the session usable. */
    CUdeviceptr alloc(long bytes, String problem) {
        CUdeviceptr p = new CUdeviceptr();
        int rc = JCudaDriver.cuMemAlloc(p, Math.max(bytes, 1));
        if (rc != 0) {
            throw CudaErrors.map(CudaStatus.Library.DRIVER, rc, "cuMemAlloc(" + bytes + ")", problem, bytes, () -> memInfo()[0]);
        }
        return p;
    }

    /**
     * Session-owned scratch memory by purpose ("workspace", "staging", "column"), grown on demand
     * and kept: cuMemFree synchronizes the device, so freeing per call would serialize everything.
     * Calls are serialized and share one stream, so reuse across calls is ordered.
     */
    CUdeviceptr scratch(String slot, long bytes, String problem) {
        Long have = scratchBytes.get(slot);
        if (have != null && have >= bytes) return scratch.get(slot);
        if (have != null) {
            free(scratch.remove(slot));
            scratchBytes.remove(slot);
        }
        CUdeviceptr p = alloc(bytes, problem);
        scratch.put(slot, p);
        scratchBytes.put(slot, bytes);
        return p;
    }

    /** Bytes of scratch held now (tests and reports). */
    long scratchBytes() {
        long n = 0;
        for (long b : scratchBytes.values()) n += b;
        return n;
    }

    void free(CUdeviceptr p) {
        JCudaDriver.cuMemFree(p);
    }

    /**
     * Host to device through the page-locked staging area, on the session's stream: ordered after the
     * work queued before it; may return before the last piece reached the device (see {@link PinnedStaging}).
     */
    void upload(CUdeviceptr dst, long dstByte, long elements, int elementBytes, PinnedStaging.Fill source) {
        staging.upload(dst, dstByte, elements, elementBytes, source, "");
    }

    /** Replaces the staging area by one with another cap (tests: small caps make many pieces); the stream is drained first. */
    void restage(long capBytes) {
        StagingPlan.elementsPerChunk(4, capBytes); // validates before anything is freed
        primary.makeCurrent();
        synchronize("");
        staging.close();
        staging = new PinnedStaging(stream, capBytes);
    }

    PinnedStaging staging() {
        return staging;
    }

    /** Device to host through the staging area; returns once the data is in the Java array and the stream is idle. */
    void download(CUdeviceptr src, long srcByte, long elements, int elementBytes, PinnedStaging.Drain target) {
        staging.download(src, srcByte, elements, elementBytes, target, "");
    }

    void zero(CUdeviceptr p, long bytes, String problem) {
        CudaErrors.checkDriver(JCudaDriver.cuMemsetD8Async(p, (byte) 0, bytes, stream), "cuMemsetD8Async", problem);
    }

    void synchronize(String problem) {
        CudaErrors.checkDriver(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", problem);
    }

    /** A kernel of a PTX resource under io/github/jconv/cuda/ptx/, loaded once per session. */
    CUfunction function(String ptxResource, String kernel) {
        CUfunction known = functions.get(ptxResource + "#" + kernel);
        if (known != null) return known;
        CUmodule m = modules.get(ptxResource);
        if (m == null) {
            byte[] ptx = readResource("ptx/" + ptxResource);
            byte[] z = java.util.Arrays.copyOf(ptx, ptx.length + 1); // the driver wants a NUL-terminated image
            m = new CUmodule();
            CudaErrors.checkDriver(JCudaDriver.cuModuleLoadData(m, z), "cuModuleLoadData(" + ptxResource + ")", "");
            modules.put(ptxResource, m);
        }
        CUfunction f = new CUfunction();
        CudaErrors.checkDriver(JCudaDriver.cuModuleGetFunction(f, m, kernel), "cuModuleGetFunction(" + kernel + ")", "");
        functions.put(ptxResource + "#" + kernel, f);
        return f;
    }

    /** A 1D launch on the session's stream. */
    void launch(CUfunction f, String kernel, long blocks, int threads, Pointer params, String problem) {
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalStateException(kernel + ": " + blocks + " blocks exceed the grid limit; this problem is too large for one launch");
        }
        int rc = JCudaDriver.cuLaunchKernel(f, (int) Math.max(blocks, 1), 1, 1, threads, 1, 1, 0, stream, params, null);
        CudaErrors.checkDriver(rc, "cuLaunchKernel(" + kernel + ")", problem);
    }

    /** Milliseconds the stream spends on {@code work} (benchmark mode). */
    float time(Runnable work, String problem) {
        CUevent a = new CUevent();
        CUevent b = new CUevent();
        CudaErrors.checkDriver(JCudaDriver.cuEventCreate(a, 0), "cuEventCreate", problem);
        CudaErrors.checkDriver(JCudaDriver.cuEventCreate(b, 0), "cuEventCreate", problem);
        try {
            CudaErrors.checkDriver(JCudaDriver.cuEventRecord(a, stream), "cuEventRecord", problem);
            work.run();
            CudaErrors.checkDriver(JCudaDriver.cuEventRecord(b, stream), "cuEventRecord", problem);
            CudaErrors.checkDriver(JCudaDriver.cuEventSynchronize(b), "cuEventSynchronize", problem);
            float[] ms = new float[1];
            CudaErrors.checkDriver(JCudaDriver.cuEventElapsedTime(ms, a, b), "cuEventElapsedTime", problem);
            return ms[0];
        } finally {
            JCudaDriver.cuEventDestroy(a);
            JCudaDriver.cuEventDestroy(b);
        }
    }

    static byte[] readResource(String name) {
        try (InputStream in = DeviceContext.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource io/github/jconv/cuda/" + name
                        + " is missing from the jconv-cuda jar; rebuild it (cuda-backend/src/main/cuda/build-ptx.sh)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + name + ": " + e, e);
        }
    }

    @Override
    public void close() {
        try {
            primary.makeCurrent();
            JCudaDriver.cuStreamSynchronize(stream);
            staging.close();
            for (CUdeviceptr p : scratch.values()) JCudaDriver.cuMemFree(p);
            scratch.clear();
            scratchBytes.clear();
            functions.clear();
            for (CUmodule m : modules.values()) JCudaDriver.cuModuleUnload(m);
            modules.clear();
            JCudaDriver.cuStreamDestroy(stream);
        } finally {
            primary.release();
        }
    }
}
