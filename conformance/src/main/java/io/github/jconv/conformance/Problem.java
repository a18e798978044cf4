package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One catalogue entry: the problem, an optional name, how its deformable offsets are drawn, whether
 * only the forward pass runs (large benchmark shapes), and where it came from (file:line).
 */
public record Problem(ConvSpec spec, String name, Offsets offsets, boolean forwardOnly, String source) {
    public Problem {
        if (spec == null) throw new IllegalArgumentException("spec = null: give the problem, e.g. ConvSpec.parse(\"mb1ic3ih8oc4kh3\")");
        if (offsets == null) offsets = Offsets.NORMAL;
        if (name == null) name = "";
        if (source == null) source = "";
        if (offsets != Offsets.NORMAL && spec.type() != ConvType.DEFORMABLE) {
            throw new IllegalArgumentException("offsets = " + offsets + ": only a deformable problem (dg marker) has offsets; "
                    + "drop the option or use a dg problem" + (source.isEmpty() ? "" : ", at " + source));
        }
    }

    /** A problem from its line, all passes, normal offsets. */
    public static Problem of(String line) {
        return new Problem(ConvSpec.parse(line), "", Offsets.NORMAL, false, "");
    }

    /** The problem line (repeatable with ConvSpec.parse). */
    public String line() {
        return spec.toString();
    }

    /** The seed of the problem's data: fixed by the line and the offsets, so a failure repeats. */
    public long seed() {
        return (long) line().hashCode() * 31 + offsets.ordinal();
    }

    /** "line (name, offsets=far, forward only)" for test names and messages. */
    public String label() {
        List<String> extra = new ArrayList<>();
        if (!name.isEmpty()) extra.add(name);
        if (offsets != Offsets.NORMAL) extra.add("offsets=" + offsets.name().toLowerCase(Locale.ROOT));
        if (forwardOnly) extra.add("forward only");
        return extra.isEmpty() ? line() : line() + " (" + String.join(", ", extra) + ")";
    }
}
