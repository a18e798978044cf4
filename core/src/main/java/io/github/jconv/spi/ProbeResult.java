package io.github.jconv.spi;

import java.util.List;

/** What {@link ConvBackendProvider#probe()} found: the devices, or why there are none and how to fix it. */
public record ProbeResult(String backend, boolean available, List<DeviceInfo> devices, String reason, String fix) {
    public ProbeResult {
        devices = List.copyOf(devices);
    }

    public static ProbeResult available(String backend, List<DeviceInfo> devices) {
        return new ProbeResult(backend, true, devices, "", "");
    }

    public static ProbeResult unavailable(String backend, String reason, String fix) {
        return new ProbeResult(backend, false, List.of(), reason, fix);
    }
}
