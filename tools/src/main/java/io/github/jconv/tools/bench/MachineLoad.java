package io.github.jconv.tools.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How many cores other processes kept busy while one side was timed: all busy CPU time from
 * /proc/stat minus this JVM's and its waited-for children's (the peer's) from /proc/self/stat,
 * over the wall time. Linux only; elsewhere the value is NaN.
 */
final class MachineLoad {
    /** Jiffies at one moment: busy over all CPUs, total over all CPUs, and this process with its children. */
    record Snapshot(long busyAll, long totalAll, long own) {
    }

    private MachineLoad() {
    }

    static Snapshot now() {
        try {
            return parse(Files.readString(Path.of("/proc/stat")), Files.readString(Path.of("/proc/self/stat")));
        } catch (IOException | RuntimeException e) { // not Linux, or /proc unreadable: no load figure
            return null;
        }
    }

    static Snapshot parse(String procStat, String selfStat) {
        String cpu = procStat.lines().filter(l -> l.startsWith("cpu ")).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("/proc/stat has no aggregate cpu line"));
        String[] f = cpu.trim().split("\\s+");
        long total = 0;
        for (int i = 1; i <= Math.min(8, f.length - 1); i++) total += Long.parseLong(f[i]);
        long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
        // the command name may hold spaces or parentheses; the fields after the last ')' are fixed
        String[] s = selfStat.substring(selfStat.lastIndexOf(')') + 2).trim().split("\\s+");
        long own = Long.parseLong(s[11]) + Long.parseLong(s[12]) + Long.parseLong(s[13]) + Long.parseLong(s[14]);
        return new Snapshot(total - idle, total, own);
    }

    /** Average cores busy with other work between the snapshots; NaN without figures. */
    static double otherCores(Snapshot a, Snapshot b, int cpus) {
        if (a == null || b == null || cpus < 1) return Double.NaN;
        double wall = (double) (b.totalAll() - a.totalAll()) / cpus;
        if (wall <= 0) return Double.NaN;
        return Math.max(0, ((b.busyAll() - a.busyAll()) - (b.own() - a.own())) / wall);
    }
}
