package io.github.jconv.spi;

import java.util.Map;

/**
 * What a provider found about one device. {@code type} is its kind: "GPU", "CPU" or
 * "ACCELERATOR" (any case; backend selection ranks a CPU kind below the pure-Java backend).
 * {@code properties} carries the rest in words (driver, runtime and library versions, compute
 * capability, FP16/FP64 support...).
 */
public record DeviceInfo(int index, String name, String type, long memoryBytes, int computeUnits,
                         Map<String, String> properties) {
    public DeviceInfo {
        properties = Map.copyOf(properties);
    }
}
