package io.github.jconv.opencl;

import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.jocl.CL.*;

/** Finds every OpenCL device and reads the facts jconv needs. Loads JOCL's native library. */
final class ClDevices {
    /** One device with its platform and the facts read from it. */
    record Found(cl_platform_id platform, cl_device_id device, DeviceChoice.Facts facts, long globalMemBytes,
                 long maxAllocBytes, long localMemBytes, long maxWorkGroupSize, long maxItemSize0, boolean fp64,
                 String platformVersion, String driverVersion, String deviceVersion, String vendor) {
        Map<String, String> properties() {
            Map<String, String> p = new LinkedHashMap<>();
            p.put("platform", facts.platform());
            p.put("platformVersion", platformVersion);
            p.put("deviceVersion", deviceVersion);
            p.put("driverVersion", driverVersion);
            p.put("vendor", vendor);
            p.put("enumerationIndex", String.valueOf(facts.enumerationIndex()));
            p.put("clockMhz", String.valueOf(facts.clockMhz()));
            p.put("maxAllocBytes", String.valueOf(maxAllocBytes));
            p.put("localMemBytes", String.valueOf(localMemBytes));
            p.put("maxWorkGroupSize", String.valueOf(maxWorkGroupSize));
            p.put("fp64", String.valueOf(fp64));
            p.put("fp16", "false");
            return p;
        }

        /** What the program cache key needs to tell one compiler and device from another. */
        String identity() {
            return facts.platform() + "|" + platformVersion + "|" + facts.name() + "|" + vendor + "|" + deviceVersion + "|" + driverVersion;
        }
    }

    private ClDevices() {
    }

    /** Every device of every platform, in enumeration order. Throws CLException / LinkageError (UnsatisfiedLinkError without libOpenCL). */
    static List<Found> discover() {
        // Before the first JOCL class: JOCL prints a missing library on stdout, this throws instead.
        OpenClLibrary.ensureLoaded();
        CL.setExceptionsEnabled(true);
        int[] n = new int[1];
        clGetPlatformIDs(0, null, n);
        cl_platform_id[] platforms = new cl_platform_id[n[0]];
        if (n[0] > 0) clGetPlatformIDs(n[0], platforms, null);
        List<Found> out = new ArrayList<>();
        int index = 0;
        for (cl_platform_id p : platforms) {
            int[] nd = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, nd);
            } catch (org.jocl.CLException e) {
                // A platform with no devices reports CL_DEVICE_NOT_FOUND; it simply offers none.
                continue;
            }
            cl_device_id[] devs = new cl_device_id[nd[0]];
            clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd[0], devs, null);
            String platformName = platformString(p, CL_PLATFORM_NAME);
            String platformVersion = platformString(p, CL_PLATFORM_VERSION);
            for (cl_device_id d : devs) {
                long type = deviceLong(d, CL_DEVICE_TYPE, Sizeof.cl_ulong);
                String typeName = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU"
                        : (type & CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                        : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "ACCELERATOR" : "OTHER";
                int cus = (int) deviceLong(d, CL_DEVICE_MAX_COMPUTE_UNITS, Sizeof.cl_uint);
                int clock = (int) deviceLong(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, Sizeof.cl_uint);
                String extensions = deviceString(d, CL_DEVICE_EXTENSIONS);
                long[] items = new long[3];
                clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES, (long) Sizeof.size_t * 3, Pointer.to(items), null);
                boolean fp64 = extensions.contains("cl_khr_fp64")
                        || deviceLong(d, CL_DEVICE_DOUBLE_FP_CONFIG, Sizeof.cl_ulong) != 0;
                out.add(new Found(p, d,
                        new DeviceChoice.Facts(index++, platformName, deviceString(d, CL_DEVICE_NAME).trim(), typeName, cus, clock),
                        deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE, Sizeof.cl_ulong),
                        deviceLong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, Sizeof.cl_ulong),
                        deviceLong(d, CL_DEVICE_LOCAL_MEM_SIZE, Sizeof.cl_ulong),
                        deviceLong(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, Sizeof.size_t),
                        items[0], fp64, platformVersion, deviceString(d, CL_DRIVER_VERSION),
                        deviceString(d, CL_DEVICE_VERSION), deviceString(d, CL_DEVICE_VENDOR)));
            }
        }
        return out;
    }

    static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    static long deviceLong(cl_device_id d, int param, int bytes) {
        if (bytes == Sizeof.cl_uint) {
            int[] v = new int[1];
            clGetDeviceInfo(d, param, bytes, Pointer.to(v), null);
            return Integer.toUnsignedLong(v[0]);
        }
        long[] v = new long[1];
        clGetDeviceInfo(d, param, bytes, Pointer.to(v), null);
        return v[0];
    }

    static String cString(byte[] b) {
        int len = 0;
        while (len < b.length && b[len] != 0) len++;
        return new String(b, 0, len, StandardCharsets.UTF_8);
    }
}
