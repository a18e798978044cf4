package io.github.jconv.opencl;

import io.github.jconv.EngineOptions;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The OpenCL backend (JOCL 2.0.6): any OpenCL 1.2+ device, PoCL on CPUs included. Device 0 of the
 * probe is the fastest GPU, else the fastest CPU; {@code -Djconv.opencl.device} (index or name
 * substring) and {@code -Djconv.opencl.type} (gpu, cpu, accelerator) narrow the choice.
 */
public final class OpenClBackendProvider implements ConvBackendProvider {
    static final String NAME = "opencl";
    static final String FIX = "install an OpenCL driver and the ICD loader, e.g. apt-get install -y --no-install-recommends "
            + "pocl-opencl-icd ocl-icd-libopencl1 (CPU), or your GPU vendor's OpenCL driver";

    private final Supplier<List<ClDevices.Found>> discovery;
    private volatile Offer offer;

    /** What a successful probe found: the devices in offered order. */
    private record Offer(List<ClDevices.Found> devices, ProbeResult result) {
    }

    public OpenClBackendProvider() {
        this(ClDevices::discover);
    }

    OpenClBackendProvider(Supplier<List<ClDevices.Found>> discovery) {
        this.discovery = discovery;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 200;
    }

    @Override
    public ProbeResult probe() {
        Offer o = offer;
        if (o != null) return o.result();
        try {
            List<ClDevices.Found> found = discovery.get();
            if (found.isEmpty()) {
                return ProbeResult.unavailable(NAME, "no OpenCL platform or device found (the ICD loader found no driver)", FIX);
            }
            List<DeviceChoice.Facts> facts = new ArrayList<>();
            for (ClDevices.Found f : found) facts.add(f.facts());
            List<DeviceChoice.Facts> order = DeviceChoice.order(facts,
                    EngineOptions.system(DeviceChoice.DEVICE_PROPERTY), EngineOptions.system(DeviceChoice.TYPE_PROPERTY));
            List<ClDevices.Found> devices = new ArrayList<>();
            List<DeviceInfo> infos = new ArrayList<>();
            for (DeviceChoice.Facts f : order) {
                ClDevices.Found d = found.get(f.enumerationIndex());
                devices.add(d);
                infos.add(new DeviceInfo(infos.size(), f.name(), f.type(), d.globalMemBytes(), f.computeUnits(), d.properties()));
            }
            Offer made = new Offer(List.copyOf(devices), ProbeResult.available(NAME, infos));
            offer = made;
            return made.result();
        } catch (IllegalArgumentException e) {
            return ProbeResult.unavailable(NAME, e.getMessage(), "unset or correct -D" + DeviceChoice.DEVICE_PROPERTY
                    + " / -D" + DeviceChoice.TYPE_PROPERTY);
        } catch (LinkageError e) {
            return ProbeResult.unavailable(NAME, "the OpenCL library could not be loaded (libOpenCL.so.1 missing?): " + e, FIX);
        } catch (org.jocl.CLException e) {
            if (String.valueOf(e.getMessage()).contains("CL_PLATFORM_NOT_FOUND_KHR")) {
                return ProbeResult.unavailable(NAME, "no OpenCL platform registered (CL_PLATFORM_NOT_FOUND_KHR: the ICD loader "
                        + "found no driver in /etc/OpenCL/vendors or $OCL_ICD_VENDORS)", FIX);
            }
            return ProbeResult.unavailable(NAME, "OpenCL reported " + e.getMessage() + " while listing platforms", FIX);
        } catch (RuntimeException e) {
            return ProbeResult.unavailable(NAME, "OpenCL discovery failed: " + e, FIX);
        }
    }

    /** Opens with the settings of the system now. */
    @Override
    public ConvBackend open(int deviceIndex) {
        return open(deviceIndex, EngineOptions.fromSystem());
    }

    /** Opens with {@code options}' settings ({@link OpenClOptions}); the device list is the probe's. */
    @Override
    public ConvBackend open(int deviceIndex, EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        OpenClOptions typed = OpenClOptions.of(options); // a bad setting is refused before anything is made
        ProbeResult r = probe();
        if (!r.available()) {
            throw new IllegalStateException("OpenCL backend unavailable: " + r.reason() + "; fix: " + r.fix());
        }
        List<ClDevices.Found> devices = offer.devices();
        if (deviceIndex < 0 || deviceIndex >= devices.size()) {
            throw new IllegalArgumentException("deviceIndex = " + deviceIndex + ": the OpenCL backend offers "
                    + devices.size() + " device(s); use 0.." + (devices.size() - 1));
        }
        try {
            return new OpenClSession(devices.get(deviceIndex), r.devices().get(deviceIndex), typed, options);
        } catch (org.jocl.CLException e) {
            throw new IllegalStateException("OpenCL could not open a session on device " + deviceIndex + " ("
                    + r.devices().get(deviceIndex).name() + "): " + e.getMessage() + "; fix: " + FIX, e);
        }
    }
}
