package io.github.jconv.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads JCuda's driver binding once and remembers why it failed. JCuda's class initializer loads
 * its JNI library, which needs libcuda.so.1: without a driver the first touch throws
 * UnsatisfiedLinkError and every later one NoClassDefFoundError, so the first LinkageError is kept
 * and reported from then on.
 */
final class CudaDriver {
    /** The outcome of loading and initializing the driver API. */
    record Status(boolean ok, String reason, String fix, int driverVersion) {
    }

    private static Status status;

    private CudaDriver() {
    }

    static synchronized Status status() {
        if (status == null) status = load();
        return status;
    }

    private static Status load() {
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc != 0) {
                CudaStatus.Entry e = CudaStatus.lookup(CudaStatus.Library.DRIVER, rc);
                return new Status(false, "cuInit failed: " + e.name() + " (" + rc + ")",
                        rc == 100 ? "no NVIDIA GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES"
                                : "check the NVIDIA driver installation (nvidia-smi), driver 580+ for CUDA 13", 0);
            }
            int[] v = new int[1];
            JCudaDriver.cuDriverGetVersion(v);
            return new Status(true, "", "", v[0]);
        } catch (LinkageError e) {
            return new Status(false, describe(e), "install the NVIDIA driver (580 or newer for CUDA 13) so that libcuda.so.1 "
                    + "is on the library path, or choose another backend that probe lists as available, e.g. -Djconv.backend=cpu", 0);
        }
    }

    /**
     * "no libcuda.so.1" and the loader's own line about it when that is the cause (JCuda's message
     * nests whole stack traces: only the line that names the missing library is kept), else the
     * error's first line.
     */
    static String describe(LinkageError e) {
        String msg = String.valueOf(e.getMessage());
        for (String line : msg.split("\\R")) {
            int at = line.indexOf("libcuda.so");
            if (at < 0) continue;
            String s = line.strip();
            int colon = s.indexOf("Error: ");
            if (colon >= 0) s = s.substring(colon + 7);
            int slash = s.lastIndexOf('/', s.indexOf("libcuda.so"));
            if (slash >= 0) s = s.substring(slash + 1);
            return "no libcuda.so.1 (" + e.getClass().getSimpleName() + ": " + s + ")";
        }
        String first = msg.lines().findFirst().orElse("").strip();
        if (e instanceof NoClassDefFoundError) {
            return "no libcuda.so.1 (JCuda's driver binding failed to load earlier in this JVM: " + first + ")";
        }
        return "JCuda's driver binding did not load (" + e.getClass().getSimpleName() + ": " + first + ")";
    }

    /** One GPU as the driver describes it. */
    record Device(int index, String name, long memory, int ccMajor, int ccMinor, int sms) {
        Map<String, String> properties(int driverVersion) {
            Map<String, String> p = new LinkedHashMap<>();
            p.put("compute capability", ccMajor + "." + ccMinor);
            p.put("multiprocessors", Integer.toString(sms));
            p.put("CUDA driver API", (driverVersion / 1000) + "." + (driverVersion % 1000 / 10));
            p.put("dtypes", "FP32, FP64, FP16 and BF16 (FP32 accumulation)");
            return p;
        }
    }

    /** The devices; call only when {@link #status()} is ok. */
    static List<Device> devices() {
        int[] count = new int[1];
        CudaErrors.checkDriver(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount", "");
        List<Device> out = new ArrayList<>();
        for (int i = 0; i < count[0]; i++) {
            CUdevice d = new CUdevice();
            CudaErrors.checkDriver(JCudaDriver.cuDeviceGet(d, i), "cuDeviceGet", "");
            byte[] name = new byte[256];
            CudaErrors.checkDriver(JCudaDriver.cuDeviceGetName(name, name.length, d), "cuDeviceGetName", "");
            int len = 0;
            while (len < name.length && name[len] != 0) len++;
            long[] mem = new long[1];
            CudaErrors.checkDriver(JCudaDriver.cuDeviceTotalMem(mem, d), "cuDeviceTotalMem", "");
            out.add(new Device(i, new String(name, 0, len, StandardCharsets.UTF_8), mem[0],
                    attribute(d, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                    attribute(d, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                    attribute(d, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)));
        }
        return out;
    }

    static int attribute(CUdevice d, int attr) {
        int[] v = new int[1];
        CudaErrors.checkDriver(JCudaDriver.cuDeviceGetAttribute(v, attr, d), "cuDeviceGetAttribute(" + attr + ")", "");
        return v[0];
    }
}
