package io.github.jconv.opencl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Which OpenCL devices jconv offers, and in which order: a pure function of the devices found and
 * the two selection properties, so it is tested without hardware.
 *
 * <ul>
 *   <li>{@code jconv.opencl.type}: gpu, cpu, accelerator or all (default all);</li>
 *   <li>{@code jconv.opencl.device}: an index into the enumeration order (platforms in order, then
 *       their devices, as {@code clinfo -l} lists them) or a case-insensitive substring of the device
 *       or platform name.</li>
 * </ul>
 * The remaining devices are ordered GPUs first, then by a speed estimate (compute units × clock), so
 * device 0 is the fastest GPU, else the fastest CPU.
 */
final class DeviceChoice {
    static final String DEVICE_PROPERTY = "jconv.opencl.device";
    static final String TYPE_PROPERTY = "jconv.opencl.type";

    /** What the choice needs to know about one device. */
    record Facts(int enumerationIndex, String platform, String name, String type, int computeUnits, int clockMhz) {
        long speed() {
            return (long) computeUnits * Math.max(1, clockMhz);
        }
    }

    private DeviceChoice() {
    }

    /**
     * The offered devices, best first. Throws {@link IllegalArgumentException} naming the property,
     * its value and what would match when the properties exclude every device.
     */
    static List<Facts> order(List<Facts> found, String deviceProperty, String typeProperty) {
        List<Facts> out = new ArrayList<>(found);
        if (typeProperty != null && !typeProperty.isBlank() && !typeProperty.equalsIgnoreCase("all")) {
            String want = typeProperty.trim().toUpperCase(Locale.ROOT);
            if (!List.of("GPU", "CPU", "ACCELERATOR").contains(want)) {
                throw new IllegalArgumentException(TYPE_PROPERTY + " = " + typeProperty
                        + ": must be gpu, cpu, accelerator or all; e.g. -D" + TYPE_PROPERTY + "=gpu");
            }
            out.removeIf(f -> !f.type().equals(want));
            if (out.isEmpty()) {
                throw new IllegalArgumentException(TYPE_PROPERTY + " = " + typeProperty + ": no device of that type; found "
                        + describe(found) + "; e.g. -D" + TYPE_PROPERTY + "=" + (found.isEmpty() ? "all" : found.get(0).type().toLowerCase(Locale.ROOT)));
            }
        }
        if (deviceProperty != null && !deviceProperty.isBlank()) {
            String d = deviceProperty.trim();
            List<Facts> kept = new ArrayList<>();
            if (d.chars().allMatch(Character::isDigit)) {
                int idx = Integer.parseInt(d);
                for (Facts f : out) if (f.enumerationIndex() == idx) kept.add(f);
            } else {
                String needle = d.toLowerCase(Locale.ROOT);
                for (Facts f : out) {
                    if (f.name().toLowerCase(Locale.ROOT).contains(needle) || f.platform().toLowerCase(Locale.ROOT).contains(needle)) {
                        kept.add(f);
                    }
                }
            }
            if (kept.isEmpty()) {
                throw new IllegalArgumentException(DEVICE_PROPERTY + " = " + deviceProperty
                        + ": matches no device (an enumeration index or a name substring); found " + describe(out)
                        + "; e.g. -D" + DEVICE_PROPERTY + "=" + (out.isEmpty() ? "0" : String.valueOf(out.get(0).enumerationIndex())));
            }
            out = kept;
        }
        out.sort(Comparator.comparing((Facts f) -> !f.type().equals("GPU"))
                .thenComparing(Comparator.comparingLong(Facts::speed).reversed())
                .thenComparingInt(Facts::enumerationIndex));
        return out;
    }

    static String describe(List<Facts> fs) {
        if (fs.isEmpty()) return "no devices";
        StringBuilder sb = new StringBuilder();
        for (Facts f : fs) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(f.enumerationIndex()).append(": ").append(f.name()).append(" (").append(f.type().toLowerCase(Locale.ROOT))
                    .append(", ").append(f.platform()).append(')');
        }
        return sb.toString();
    }
}
