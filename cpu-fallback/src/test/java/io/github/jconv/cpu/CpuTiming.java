package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Development timing harness (not a test): median times of forward and forward+backward of the
 * benchmark problems. Run: java -cp ... io.github.jconv.cpu.CpuTiming [reps] [problem names...]
 */
public final class CpuTiming {
    static final String[][] PROBLEMS = {
            {"P1", "mb8ic64ih56oc64kh3ph1"},
            {"P2", "mb8ic128ih28oc128kh3ph1"},
            {"P3", "mb8ic256ih14oc256kh1"},
            {"P4", "g256mb8ic256ih28oc256kh3ph1"},
            {"P5", "mb8ic64ih56oc64kh3ph2dh2"},
            {"P6", "tr1mb8ic64ih28oc32kh4sh2ph1"},
            {"P7", "mb2ic32id16ih56iw56oc32kd3kh3kw3pd1ph1pw1"},
            {"P8", "g8mb8ic128ih28oc128kh3ph1"},
            {"D1", "dg1msk1mb8ic128ih28oc128kh3ph1"},
    };

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        List<String> only = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : List.of();
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(), 0)) {
            CpuBackend cpu = (CpuBackend) e.backend();
            cpuClock = cpu.threads() == 1;
            System.out.printf("threads %d, vector %s, clock %s%n", cpu.threads(), VectorSupport.available(), cpuClock ? "thread CPU time" : "wall");
            System.out.printf("%-4s %10s %8s %12s %8s %10s%n", "name", "fwd ms", "GF/s", "fwd+bwd ms", "GF/s", "scratch MB");
            for (String[] p : PROBLEMS) {
                if (!only.isEmpty() && !only.contains(p[0])) continue;
                ConvSpec spec = ConvSpec.parse(p[1]);
                Map<Role, DeviceBuffer> bufs = new EnumMap<>(Role.class);
                SplittableRandom r = new SplittableRandom(1);
                for (Role role : Role.values()) {
                    if (spec.type() != ConvType.DEFORMABLE && (role == Role.OFFSET || role == Role.MASK || role == Role.DOFFSET || role == Role.DMASK)) continue;
                    float[] a = new float[(int) role.shapeFor(spec).elementCount()];
                    for (int i = 0; i < a.length; i++) a[i] = role == Role.OFFSET ? (float) (2 * r.nextGaussian()) : (float) r.nextDouble();
                    bufs.put(role, e.upload(a, role.shapeFor(spec)));
                }
                ConvArgs.Builder b = ConvArgs.builder();
                bufs.forEach(b::put);
                ConvArgs all = b.build();
                List<Pass> bwd = new ArrayList<>(List.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT));
                if (spec.type() == ConvType.DEFORMABLE) bwd.add(Pass.BACKWARD_OFFSET_MASK);
                cpu.resetPeakScratch();
                double f = time(reps, () -> e.execute(Pass.FORWARD, spec, all));
                StringBuilder per = new StringBuilder();
                double fb = f;
                for (Pass q : bwd) {
                    double t = time(reps, () -> e.execute(q, spec, all));
                    fb += t;
                    per.append(String.format("  %s %.2f", q.name().substring(9).toLowerCase(java.util.Locale.ROOT), t * 1e3));
                }
                // the backward as training makes it: every gradient in one call (the deformable ones share work)
                java.util.EnumSet<Pass> set = java.util.EnumSet.copyOf(bwd);
                double together = time(reps, () -> e.executeAll(set, spec, all));
                per.append(String.format("  all-in-one-call %.2f", together * 1e3));
                double gf = spec.forwardFlops() / 1e9;
                System.out.printf("%-4s %10.2f %8.1f %12.2f %8.1f %10.1f%s%n", p[0], f * 1e3, gf / f, fb * 1e3, 3 * gf / fb,
                        cpu.peakScratchBytes() / 1e6, per);
                bufs.values().forEach(DeviceBuffer::close);
            }
        }
    }

    /** With one thread, CPU time of this thread (immune to other processes on a shared machine); else wall time. */
    static boolean cpuClock;

    static long now() {
        return cpuClock ? java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() : System.nanoTime();
    }

    static double time(int reps, Runnable r) {
        for (int i = 0; i < 3; i++) r.run();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long s = now();
            r.run();
            t[i] = (now() - s) / 1e9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
