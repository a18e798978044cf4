package io.github.jconv.opencl.tune;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The built-in parameter sets for devices never tuned, by vendor and device type and problem class, and
 * the small safe sets every device falls back to when a larger one does not fit its limits.
 * The GPU entries follow what tuned OpenCL GEMMs use on such devices (large register tiles on NVIDIA and
 * AMD, smaller ones elsewhere); the CPU entries were chosen by timing on PoCL. A device's own tuning
 * (see {@link TuningDatabase}) replaces them.
 */
public final class GemmDefaults {
    /** Sets small enough for any OpenCL device, tried after the preferred one, in order. */
    public static final List<GemmParams> FALLBACKS = List.of(
            new GemmParams(64, 64, 16, 4, 4, 1, false),
            new GemmParams(32, 32, 16, 4, 4, 1, false),
            new GemmParams(16, 16, 8, 2, 2, 1, false),
            new GemmParams(4, 4, 4, 1, 1, 1, false));

    private GemmDefaults() {
    }

    /** The preferred set for a device of {@code vendor} and {@code type} ("GPU", "CPU", ...) on class {@code c}. */
    public static GemmParams preferred(String vendor, String type, GemmClass c) {
        String v = vendor == null ? "" : vendor.toLowerCase(Locale.ROOT);
        boolean gpu = "GPU".equalsIgnoreCase(type);
        if (!gpu) {
            return switch (c) {
                // PoCL, `jconv tune --problems P1,P3`: 64x64 tiles with 4x8 per work-item (128 work-items) ran the
                // P1 GEMMs about 2x faster than 4x4 (256 work-items); CPUs favour fewer, fatter work-items
                case WIDE -> new GemmParams(64, 64, 16, 4, 8, 4, false);
                case NARROW -> new GemmParams(32, 64, 16, 2, 8, 4, false);
                case DEEP -> new GemmParams(64, 64, 16, 4, 8, 4, false);
            };
        }
        if (v.contains("nvidia") || v.contains("advanced micro") || v.contains("amd")) {
            // 64-row tiles: the common convolution GEMMs have 64 (P1, P5) or 128 (P2) rows, which a 128-row tile
            // would half idle; 4 x 8 results per work-item, 256 work-items, 24 KiB of local memory
            return switch (c) {
                case WIDE -> new GemmParams(64, 128, 16, 4, 8, 4, true);
                case NARROW -> new GemmParams(32, 128, 16, 2, 8, 4, true);
                case DEEP -> new GemmParams(64, 64, 32, 4, 4, 4, true);
            };
        }
        return switch (c) {
            case WIDE -> new GemmParams(64, 64, 16, 4, 4, 4, true);
            case NARROW -> new GemmParams(32, 64, 16, 2, 4, 4, true);
            case DEEP -> new GemmParams(64, 64, 16, 4, 4, 4, true);
        };
    }

    /** {@code first} (if not null), then the preferred set, then {@link #FALLBACKS}, without repeats. */
    public static List<GemmParams> chain(GemmParams first, String vendor, String type, GemmClass c) {
        List<GemmParams> out = new ArrayList<>();
        if (first != null) out.add(first);
        GemmParams p = preferred(vendor, type, c);
        if (!out.contains(p)) out.add(p);
        for (GemmParams f : FALLBACKS) if (!out.contains(f)) out.add(f);
        return List.copyOf(out);
    }
}
