package io.github.jconv.tools.bench;

import java.util.Locale;

/** What one timed call covers; forward+backward counts three forwards' FLOPs (docs/bench-problems.md). */
enum BenchPass {
    FWD("fwd", 1),
    FWD_BWD("fwd+bwd", 3);

    private final String label;
    private final int flopMultiplier;

    BenchPass(String label, int flopMultiplier) {
        this.label = label;
        this.flopMultiplier = flopMultiplier;
    }

    /** The label used in tables and CSV, and by the peer script. */
    String label() {
        return label;
    }

    long flops(long forwardFlops) {
        return forwardFlops * flopMultiplier;
    }

    static BenchPass fromLabel(String s) {
        String t = s == null ? "" : s.strip().toLowerCase(Locale.ROOT);
        for (BenchPass p : values()) {
            if (p.label.equals(t)) return p;
        }
        if (t.equals("fwdbwd") || t.equals("fwd_bwd")) return FWD_BWD;
        throw new IllegalArgumentException("pass = \"" + s + "\": must be fwd or fwd+bwd");
    }
}
