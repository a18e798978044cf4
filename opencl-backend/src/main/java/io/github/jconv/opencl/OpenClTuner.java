package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.opencl.tune.GemmDefaults;
import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.opencl.tune.TunerSearch;
import io.github.jconv.opencl.tune.TuningDatabase;
import io.github.jconv.spi.ConvBackend;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Tunes the OpenCL GEMM on the device at hand: for each problem class, times the built-in default and
 * then the search space ({@link GemmParams#searchSpace()}, those that fit the device) on a GEMM of that
 * class, within a time budget, checks every candidate against a reference product before timing it, and
 * stores the fastest in the device's {@link TuningDatabase} (beside the program cache), which every later
 * session on that device and driver reads when it opens.
 */
public final class OpenClTuner {
    /** Rounds per candidate (the median round counts), the time a round aims at, and its most runs. */
    private static final int ROUNDS = 3;
    private static final long ROUND_NANOS = 20_000_000L;
    private static final int MAX_RUNS = 50;

    /** What the tuner chose for one class: the winner, the default it replaces, and how many it tried. */
    public record Choice(String dtype, GemmClass gemmClass, int[] shape, GemmParams best, double bestNanos,
                         GemmParams defaults, double defaultNanos, int tried, int failed, int skipped, String database) {
        /** One line: class, shape, winner and its time against the default's. */
        public String describe() {
            double gflops = 2.0 * shape[0] * shape[1] * shape[2] / bestNanos;
            return String.format(java.util.Locale.ROOT, "%s %-6s M=%d N=%d K=%d: %s (%.3f ms, %.1f GFLOP/s; default %s %.3f ms, "
                            + "%.2fx) after %d candidates (%d failed, %d left out by the budget)", dtype, gemmClass.key(), shape[0], shape[1],
                    shape[2], best, bestNanos / 1e6, gflops, defaults, defaultNanos / 1e6, defaultNanos / bestNanos, tried, failed, skipped);
        }
    }

    private OpenClTuner() {
    }

    /**
     * Tunes OpenCL device {@code deviceIndex} for {@code dtype} on the classes of {@code shapes} ({M, N, K}
     * each; the first shape of a class stands for it; empty: every class at its representative shape), spending
     * about {@code budget} in all, and stores the winners. {@code log} gets one line per class.
     */
    public static List<Choice> tune(int deviceIndex, DType dtype, List<int[]> shapes, Duration budget, Consumer<String> log) {
        return tune(deviceIndex, dtype, shapes, List.of(), budget, log);
    }

    /**
     * As {@link #tune(int, DType, List, Duration, Consumer)}, then, when {@code convs} has forwards that the
     * implicit GEMM runs, times those forwards with and without it (with the new GEMM winners) and stores
     * whether it is faster in all, which sessions on this device then follow.
     */
    public static List<Choice> tune(int deviceIndex, DType dtype, List<int[]> shapes, List<ConvSpec> convs, Duration budget,
                                    Consumer<String> log) {
        List<Choice> out = tuneGemm(deviceIndex, dtype, shapes, budget, log);
        if (!convs.isEmpty() && !out.isEmpty()) tuneImplicit(deviceIndex, dtype, convs, log);
        return out;
    }

    private static List<Choice> tuneGemm(int deviceIndex, DType dtype, List<int[]> shapes, Duration budget, Consumer<String> log) {
        if (dtype != DType.FP32 && dtype != DType.FP64) {
            throw new IllegalArgumentException("dtype = " + dtype + ": the OpenCL GEMM tunes FP32 or FP64; e.g. DType.FP32");
        }
        if (budget == null || budget.isNegative() || budget.isZero()) {
            throw new IllegalArgumentException("budget = " + budget + ": must be positive; e.g. Duration.ofSeconds(60)");
        }
        Map<GemmClass, int[]> work = new LinkedHashMap<>();
        for (int[] sh : shapes) {
            if (sh == null || sh.length != 3 || Math.min(sh[0], Math.min(sh[1], sh[2])) < 1) {
                throw new IllegalArgumentException("shape = " + Arrays.toString(sh) + ": three positive sizes M, N, K; e.g. {256, 4096, 576}");
            }
            work.putIfAbsent(GemmClass.of(sh[0], sh[1], sh[2]), sh.clone());
        }
        try (ConvBackend b = new OpenClBackendProvider().open(deviceIndex)) {
            OpenClSession s = (OpenClSession) b;
            boolean gpu = "GPU".equalsIgnoreCase(s.device().type());
            if (work.isEmpty()) for (GemmClass c : GemmClass.values()) work.put(c, c.representative(gpu));
            TuningDatabase db = TuningDatabase.load(s.cacheDir(), s.identity());
            String dkey = dtype.name().toLowerCase(java.util.Locale.ROOT);
            long perClass = budget.toNanos() / work.size();
            List<Choice> out = new ArrayList<>();
            for (Map.Entry<GemmClass, int[]> e : work.entrySet()) {
                GemmClass c = e.getKey();
                int[] sh = e.getValue();
                GemmParams def = GemmDefaults.preferred(String.valueOf(s.device().properties().get("vendor")), s.device().type(), c);
                List<GemmParams> candidates = new ArrayList<>();
                candidates.add(def);
                for (GemmParams p : GemmParams.searchSpace()) if (!p.equals(def)) candidates.add(p);
                try (GemmBench bench = new GemmBench(s, dtype, sh[0], sh[1], sh[2])) {
                    TunerSearch.Result<GemmParams> r = TunerSearch.search(candidates, bench::time, perClass, System::nanoTime);
                    int failed = (int) r.trials().stream().filter(t -> !t.ok()).count();
                    if (r.best() == null) {
                        log.accept(dkey + " " + c.key() + ": no candidate ran; first failure: " + r.trials().get(0).failure());
                        continue;
                    }
                    double defNanos = r.trials().get(0).ok() ? r.trials().get(0).nanos() : Double.NaN;
                    db.put(dkey, c, r.best(), r.bestNanos());
                    db.save();
                    Choice ch = new Choice(dkey, c, sh, r.best(), r.bestNanos(), def, defNanos, r.trials().size(), failed, r.skipped(),
                            db.file().toString());
                    out.add(ch);
                    log.accept(ch.describe());
                }
            }
            return List.copyOf(out);
        }
    }

    /** Times the forward of each of {@code convs} with and without the implicit GEMM, and stores the faster choice. */
    private static void tuneImplicit(int deviceIndex, DType dt, List<ConvSpec> convs, Consumer<String> log) {
        try (ConvBackend b = new OpenClBackendProvider().open(deviceIndex)) {
            OpenClSession s = (OpenClSession) b;
            double explicitTotal = 0, implicitTotal = 0;
            StringBuilder detail = new StringBuilder();
            for (ConvSpec spec : convs) {
                if (spec.type() == ConvType.DEFORMABLE) continue;
                List<io.github.jconv.DeviceBuffer> bufs = new ArrayList<>();
                try {
                    io.github.jconv.DeviceBuffer x = s.allocate(dt, spec.inputShape());
                    bufs.add(x);
                    io.github.jconv.DeviceBuffer w = s.allocate(dt, spec.weightShape());
                    bufs.add(w);
                    io.github.jconv.DeviceBuffer y = s.allocate(dt, spec.outputShape());
                    bufs.add(y);
                    io.github.jconv.ConvArgs args;
                    if (spec.bias()) {
                        io.github.jconv.DeviceBuffer bias = s.allocate(dt, spec.biasShape());
                        bufs.add(bias);
                        args = io.github.jconv.ConvArgs.of(Role.X, x, Role.W, w, Role.B, bias, Role.Y, y);
                    } else {
                        args = io.github.jconv.ConvArgs.of(Role.X, x, Role.W, w, Role.Y, y);
                    }
                    s.implicitGemm(true);
                    double on = timeForward(s, spec, args);
                    if (!s.lastAlgorithm().contains("implicit-gemm")) continue;
                    s.implicitGemm(false);
                    double off = timeForward(s, spec, args);
                    implicitTotal += on;
                    explicitTotal += off;
                    detail.append(String.format(java.util.Locale.ROOT, "; %s %.3f vs %.3f ms", spec, on / 1e6, off / 1e6));
                } finally {
                    for (io.github.jconv.DeviceBuffer buf : bufs) buf.close();
                }
            }
            if (explicitTotal == 0) {
                log.accept("implicit GEMM forward: none of the problems runs it; nothing stored");
                return;
            }
            boolean implicit = implicitTotal < explicitTotal;
            TuningDatabase db = TuningDatabase.load(s.cacheDir(), s.identity());
            db.putFlag(ClSettings.IMPLICIT_GEMM_KEY, implicit);
            db.save();
            log.accept(String.format(java.util.Locale.ROOT, "implicit GEMM forward: %s (%.3f ms in all, against %.3f ms with im2col)%s",
                    implicit ? "on" : "off", implicitTotal / 1e6, explicitTotal / 1e6, detail));
        }
    }

    /** Median of three rounds of forwards, after one warm-up, in nanoseconds per forward. */
    private static double timeForward(OpenClSession s, ConvSpec spec, io.github.jconv.ConvArgs args) {
        long w0 = System.nanoTime();
        s.execute(Pass.FORWARD, spec, args);
        s.synchronize();
        int runs = (int) Math.max(1, Math.min(MAX_RUNS, ROUND_NANOS / Math.max(1, System.nanoTime() - w0)));
        double[] rounds = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < runs; i++) s.execute(Pass.FORWARD, spec, args);
            s.synchronize();
            rounds[r] = (System.nanoTime() - t0) / (double) runs;
        }
        Arrays.sort(rounds);
        return rounds[ROUNDS / 2];
    }

    /** One GEMM shape on the device with random operands, and a small odd-sized product to check each candidate. */
    private static final class GemmBench implements AutoCloseable {
        private static final int CM = 67, CN = 131, CK = 45;
        private final OpenClSession s;
        private final DType dt;
        private final int m, n, k;
        private final List<io.github.jconv.DeviceBuffer> buffers = new ArrayList<>();
        private final ClBuffer a, b, c, ca, cb, cc;
        private final double[] want;

        GemmBench(OpenClSession s, DType dt, int m, int n, int k) {
            this.s = s;
            this.dt = dt;
            this.m = m;
            this.n = n;
            this.k = k;
            Random rnd = new Random(16);
            a = filled((long) m * k, rnd);
            b = filled((long) k * n, rnd);
            c = buffer((long) m * n);
            double[] x = random(CM * CK, rnd);
            double[] y = random(CK * CN, rnd);
            ca = buffer(x.length);
            s.upload(ca, 0, x, 0, x.length);
            cb = buffer(y.length);
            s.upload(cb, 0, y, 0, y.length);
            cc = buffer(CM * CN);
            want = new double[CM * CN];
            for (int i = 0; i < CM; i++) {
                for (int j = 0; j < CN; j++) {
                    double sum = 0;
                    for (int q = 0; q < CK; q++) sum += x[i * CK + q] * y[q * CN + j];
                    want[i * CN + j] = sum;
                }
            }
        }

        private ClBuffer buffer(long elements) {
            ClBuffer buf = (ClBuffer) s.allocate(dt, Shape.of(Math.toIntExact(elements)));
            buffers.add(buf);
            return buf;
        }

        private ClBuffer filled(long elements, Random rnd) {
            ClBuffer buf = buffer(elements);
            double[] v = random(Math.toIntExact(elements), rnd);
            s.upload(buf, 0, v, 0, v.length);
            return buf;
        }

        private static double[] random(int n, Random rnd) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = rnd.nextInt(17) / 8.0 - 1;
            return v;
        }

        /** Median nanoseconds per GEMM with {@code p}; throws when p does not fit or computes a wrong product. */
        double time(GemmParams p) {
            if (!s.runGemm(p, dt, CM, CN, CK, ca, cb, cc, 1)) {
                throw new UnsupportedOperationException(p + " does not fit " + s.device().name());
            }
            double[] got = new double[CM * CN];
            s.download(cc, 0, got, 0, got.length);
            for (int i = 0; i < got.length; i++) {
                // operands are multiples of 1/8 in [-1, 1]: every partial sum is exact in FP32 (45 terms of 1/64 steps)
                if (got[i] != want[i]) {
                    throw new IllegalStateException(p + " computes element " + i + " as " + got[i] + ", not " + want[i]);
                }
            }
            long w0 = System.nanoTime();
            s.runGemm(p, dt, m, n, k, a, b, c, 1);
            s.synchronize();
            // enough runs per round for about 20 ms (launch noise on fast devices), one when a run is slower (CPUs)
            int runs = (int) Math.max(1, Math.min(MAX_RUNS, ROUND_NANOS / Math.max(1, System.nanoTime() - w0)));
            double[] rounds = new double[ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                long t0 = System.nanoTime();
                s.runGemm(p, dt, m, n, k, a, b, c, runs);
                s.synchronize();
                rounds[r] = (System.nanoTime() - t0) / (double) runs;
            }
            Arrays.sort(rounds);
            return rounds[ROUNDS / 2];
        }

        @Override
        public void close() {
            for (io.github.jconv.DeviceBuffer buf : buffers) buf.close();
        }
    }
}
