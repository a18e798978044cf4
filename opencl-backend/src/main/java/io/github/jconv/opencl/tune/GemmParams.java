package io.github.jconv.opencl.tune;

import java.util.ArrayList;
import java.util.List;

/**
 * One parameter set of gemm.cl: a TSM x TSN tile of C per work-group, TSK deep per local-memory step,
 * WPTM x WPTN results per work-item (so the work-group is TSM/WPTM x TSN/WPTN), loads VW wide and
 * local tiles double-buffered when DB. Written and parsed as "TSM,TSN,TSK,WPTM,WPTN,VW,DB".
 */
public record GemmParams(int tsm, int tsn, int tsk, int wptm, int wptn, int vw, boolean db) {
    /** Throws IllegalArgumentException naming the rule a value breaks, with a set that works. */
    public GemmParams {
        String text = tsm + "," + tsn + "," + tsk + "," + wptm + "," + wptn + "," + vw + "," + (db ? 1 : 0);
        if (Math.min(Math.min(tsm, tsn), Math.min(tsk, Math.min(wptm, wptn))) < 1) {
            throw new IllegalArgumentException("GEMM parameters " + text + ": every size must be >= 1; e.g. 64,64,16,4,4,4,1");
        }
        if (tsm % wptm != 0 || tsn % wptn != 0) {
            throw new IllegalArgumentException("GEMM parameters " + text + ": WPTM must divide TSM and WPTN divide TSN; e.g. 64,64,16,4,4,4,1");
        }
        if (vw != 1 && vw != 2 && vw != 4 && vw != 8) {
            throw new IllegalArgumentException("GEMM parameters " + text + ": VW must be 1, 2, 4 or 8; e.g. 64,64,16,4,4,4,1");
        }
        if (tsm % vw != 0 || tsn % vw != 0 || tsk % vw != 0) {
            throw new IllegalArgumentException("GEMM parameters " + text + ": VW must divide TSM, TSN and TSK; e.g. 64,64,16,4,4,4,1");
        }
    }

    /** Parses "TSM,TSN,TSK,WPTM,WPTN[,VW[,DB]]" (VW defaults to 1, DB to 0); {@code what} names the source in errors. */
    public static GemmParams parse(String text, String what) {
        String[] parts = text == null ? new String[0] : text.trim().split("\\s*,\\s*");
        if (parts.length < 5 || parts.length > 7) {
            throw new IllegalArgumentException(what + " = " + text + ": five to seven integers TSM,TSN,TSK,WPTM,WPTN[,VW[,DB]]; "
                    + "e.g. 64,64,16,4,4,4,1");
        }
        int[] v = {0, 0, 0, 0, 0, 1, 0};
        try {
            for (int i = 0; i < parts.length; i++) v[i] = Integer.parseInt(parts[i]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " = " + text + ": not integers; e.g. 64,64,16,4,4,4,1");
        }
        if (v[6] != 0 && v[6] != 1) throw new IllegalArgumentException(what + " = " + text + ": DB must be 0 or 1; e.g. 64,64,16,4,4,4,1");
        try {
            return new GemmParams(v[0], v[1], v[2], v[3], v[4], v[5], v[6] == 1);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " = " + text + ": " + e.getMessage(), e);
        }
    }

    /** Work-items per work-group. */
    public long threads() {
        return (long) (tsm / wptm) * (tsn / wptn);
    }

    /** Local memory the kernel declares, for elements of {@code elementBytes}. */
    public long localBytes(int elementBytes) {
        return (db ? 2L : 1L) * tsk * (tsm + tsn) * elementBytes;
    }

    /** Whether the kernel's work-group and local memory fit these device limits. */
    public boolean fits(long maxWorkGroupSize, long maxItemSize0, long maxItemSize1, long localMemBytes, int elementBytes) {
        return threads() <= maxWorkGroupSize && tsm / wptm <= maxItemSize0 && tsn / wptn <= maxItemSize1
                && localBytes(elementBytes) <= localMemBytes;
    }

    /** The build options that select this set in gemm.cl. */
    public String defines() {
        return "-DTSM=" + tsm + " -DTSN=" + tsn + " -DTSK=" + tsk + " -DWPTM=" + wptm + " -DWPTN=" + wptn + " -DVW=" + vw
                + " -DDB=" + (db ? 1 : 0);
    }

    /** "TSM,TSN,TSK,WPTM,WPTN,VW,DB", the form {@link #parse} reads. */
    @Override
    public String toString() {
        return tsm + "," + tsn + "," + tsk + "," + wptm + "," + wptn + "," + vw + "," + (db ? 1 : 0);
    }

    /**
     * The tuner's search space, in a fixed shuffled order (so a time-bounded search is reproducible and samples
     * the whole space): square and
     * oblong tiles of 16..128, 8..32 deep, 1..8 results per work-item side, loads 1 or 4 wide, with and
     * without double buffering; only sets with 16..1024 work-items.
     */
    public static List<GemmParams> searchSpace() {
        List<GemmParams> out = new ArrayList<>();
        int[] tiles = {64, 128, 32, 16};
        int[] depths = {16, 32, 8};
        int[] wpts = {4, 8, 2, 1};
        for (int tsm : tiles) for (int tsn : tiles) {
            if (Math.max(tsm, tsn) > 2 * Math.min(tsm, tsn)) continue;
            for (int tsk : depths) for (int wptm : wpts) for (int wptn : wpts) for (int vw : new int[] {4, 1}) for (int db = 1; db >= 0; db--) {
                if (tsm % wptm != 0 || tsn % wptn != 0 || tsm % vw != 0 || tsn % vw != 0 || tsk % vw != 0) continue;
                if (wptm != wptn && wptm * 2 != wptn && wptn * 2 != wptm) continue;
                long threads = (long) (tsm / wptm) * (tsn / wptn);
                if (threads < 16 || threads > 1024) continue;
                out.add(new GemmParams(tsm, tsn, tsk, wptm, wptn, vw, db == 1));
            }
        }
        // A fixed pseudo-random order (java.util.Random is specified, so every JVM gives the same): a search that the
        // budget stops early has still sampled every corner of the space, as CLBlast's random search does.
        java.util.Collections.shuffle(out, new java.util.Random(SEARCH_SEED));
        return List.copyOf(out);
    }

    /** The seed of {@link #searchSpace()}'s order. */
    static final long SEARCH_SEED = 16;
}
