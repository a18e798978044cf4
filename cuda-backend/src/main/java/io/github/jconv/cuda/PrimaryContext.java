package io.github.jconv.cuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

import java.util.HashMap;
import java.util.Map;

/**
 * The primary context of each device, retained once per open session and released when the last
 * session on that device closes. The primary context is also what the CUDA runtime (and so cuDNN)
 * uses, which is why JCuda allocations and cuDNN calls can share device addresses.
 */
final class PrimaryContext {
    private static final Map<Integer, PrimaryContext> OPEN = new HashMap<>();

    final int ordinal;
    final CUdevice device;
    final CUcontext context;
    private int users;

    private PrimaryContext(int ordinal, CUdevice device, CUcontext context) {
        this.ordinal = ordinal;
        this.device = device;
        this.context = context;
    }

    static synchronized PrimaryContext acquire(int ordinal) {
        PrimaryContext p = OPEN.get(ordinal);
        if (p == null) {
            CUdevice d = new CUdevice();
            CudaErrors.checkDriver(JCudaDriver.cuDeviceGet(d, ordinal), "cuDeviceGet(" + ordinal + ")", "");
            CUcontext c = new CUcontext();
            CudaErrors.checkDriver(JCudaDriver.cuDevicePrimaryCtxRetain(c, d), "cuDevicePrimaryCtxRetain(" + ordinal + ")", "");
            p = new PrimaryContext(ordinal, d, c);
            OPEN.put(ordinal, p);
        }
        p.users++;
        return p;
    }

    /** Makes this context current on the calling thread (every entry point calls it: threads differ). */
    void makeCurrent() {
        CudaErrors.checkDriver(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(device " + ordinal + ")", "");
    }

    void release() {
        synchronized (PrimaryContext.class) {
            if (--users > 0) return;
            OPEN.remove(ordinal);
        }
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
