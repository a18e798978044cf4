package io.github.jconv.cuda;

import io.github.jconv.EngineOptions;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The CUDA backend's entry point: NVIDIA GPUs through JCuda's driver API and cuDNN 9. Loading this
 * class loads no native library; {@link #probe()} loads them inside its guard and never throws.
 */
public final class CudaBackendProvider implements ConvBackendProvider {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 300;
    }

    @Override
    public ProbeResult probe() {
        try {
            return probeDevices().probe;
        } catch (Throwable t) { // a probe never throws, whatever the natives do
            return ProbeResult.unavailable(name(), "probe failed: " + t, "report this as a bug of jconv-cuda with the message");
        }
    }

    private record Found(ProbeResult probe, List<CudaDriver.Device> devices) {
    }

    private Found probeDevices() {
        CudaDriver.Status s = CudaDriver.status();
        if (!s.ok()) return new Found(ProbeResult.unavailable(name(), s.reason(), s.fix()), List.of());
        List<CudaDriver.Device> devices = CudaDriver.devices();
        if (devices.isEmpty()) {
            return new Found(ProbeResult.unavailable(name(), "the CUDA driver sees no device",
                    "check nvidia-smi and CUDA_VISIBLE_DEVICES"), List.of());
        }
        Cudnn.Status c = Cudnn.status();
        if (!c.ok()) return new Found(ProbeResult.unavailable(name(), c.reason(), c.fix()), List.of());
        List<DeviceInfo> infos = new ArrayList<>();
        for (CudaDriver.Device d : devices) {
            Map<String, String> p = d.properties(s.driverVersion());
            p.put("cuDNN", Cudnn.versionString(c.version()));
            infos.add(new DeviceInfo(d.index(), d.name(), "gpu", d.memory(), d.sms(), p));
        }
        return new Found(ProbeResult.available(name(), infos), devices);
    }

    @Override
    public ConvBackend open(int deviceIndex) {
        return open(deviceIndex, EngineOptions.fromSystem());
    }

    /** A session with {@code options}' settings ({@link CudaOptions#of}). */
    @Override
    public ConvBackend open(int deviceIndex, EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        return open(deviceIndex, CudaOptions.of(options), options);
    }

    /** A session with explicit options (tests, and callers that do not use system properties). */
    public ConvBackend open(int deviceIndex, CudaOptions options) {
        return open(deviceIndex, options, EngineOptions.fromSystem());
    }

    private ConvBackend open(int deviceIndex, CudaOptions options, EngineOptions engineOptions) {
        if (options == null) throw new IllegalArgumentException("options = null: pass CudaOptions.defaults()");
        Found f = probeDevices();
        if (!f.probe.available()) {
            throw new IllegalStateException("backend cuda is unavailable: " + f.probe.reason() + " (fix: " + f.probe.fix() + ")");
        }
        if (deviceIndex < 0 || deviceIndex >= f.devices.size()) {
            throw new IllegalArgumentException("deviceIndex = " + deviceIndex + ": backend cuda has " + f.devices.size()
                    + " device(s); use 0.." + (f.devices.size() - 1));
        }
        return new CudaBackend(f.probe.devices().get(deviceIndex), f.devices.get(deviceIndex), options, engineOptions);
    }
}
