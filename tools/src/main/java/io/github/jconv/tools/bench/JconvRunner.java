package io.github.jconv.tools.bench;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.conformance.Problem;
import io.github.jconv.conformance.Repro;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Times problems on one engine: warm-ups, then single calls (median), or for asynchronous devices
 * R back-to-back calls between two synchronisations divided by R, as docs/bench-problems.md asks.
 */
final class JconvRunner {
    /** How calls are timed. */
    enum Timing { SINGLE, BATCHED }

    /** One round's timing of one case. */
    record RoundTiming(double medianMs, double minMs, int samples, int warmupCalls, boolean steady) {
        RoundTiming(double medianMs, double minMs, int samples) {
            this(medianMs, minMs, samples, 0, true);
        }
    }

    /** What one round of one problem gave: timings per pass, or why a pass did not run. */
    record ProblemRound(Map<BenchPass, RoundTiming> timings, Map<BenchPass, String> failures, String algorithm,
                        long peakScratchBytes) {
    }

    /** The backend's scratch high-water mark, where it reports one. */
    interface ScratchMeter {
        ScratchMeter NONE = new ScratchMeter() {
            @Override
            public void reset() {
            }

            @Override
            public long peakBytes() {
                return -1;
            }
        };

        void reset();

        /** Bytes, or -1 when the backend does not report scratch. */
        long peakBytes();
    }

    private static final int BATCHES = 3;
    private static final int MAX_WARMUP_BATCHES = 400;
    private static final double MAX_WARMUP_SECONDS = 10;

    private final ConvEngine engine;
    private final int warmup;
    private final int reps;
    private final double maxCaseSeconds;
    private final Timing timing;
    private final ScratchMeter scratch;
    private final double minWindowMs;
    private final DType dtype;
    /** The pass being executed, so that a failure names it in its repro; null before the first. */
    private Pass running;

    JconvRunner(ConvEngine engine, int warmup, int reps, double maxCaseSeconds, Timing timing, ScratchMeter scratch) {
        this(engine, warmup, reps, maxCaseSeconds, timing, scratch, 0, DType.FP32);
    }

    JconvRunner(ConvEngine engine, int warmup, int reps, double maxCaseSeconds, Timing timing, ScratchMeter scratch,
                double minWindowMs, DType dtype) {
        if (warmup < 0) throw new IllegalArgumentException("warmup = " + warmup + ": must be >= 0; e.g. 3");
        if (reps < 1) throw new IllegalArgumentException("reps = " + reps + ": must be >= 1; e.g. 10");
        this.engine = engine;
        this.warmup = warmup;
        this.reps = reps;
        this.maxCaseSeconds = maxCaseSeconds;
        this.timing = timing;
        this.scratch = scratch;
        this.minWindowMs = minWindowMs;
        this.dtype = dtype;
    }

    /** Repetitions of a pass; forward+backward uses a third as many, at least 3, like the peer script. */
    static int repsFor(BenchPass pass, int reps) {
        return pass == BenchPass.FWD ? reps : Math.max(3, reps / 3);
    }

    static int warmupFor(BenchPass pass, int warmup) {
        return pass == BenchPass.FWD ? warmup : Math.max(0, warmup - 1);
    }

    ProblemRound run(BenchProblem problem, List<BenchPass> passes, long seed) {
        ConvSpec spec = problem.spec();
        Map<BenchPass, RoundTiming> timings = new EnumMap<>(BenchPass.class);
        Map<BenchPass, String> failures = new EnumMap<>(BenchPass.class);
        String algorithm = "";
        scratch.reset();
        running = null;
        try (Buffers b = new Buffers(engine, spec, passes.contains(BenchPass.FWD_BWD), seed, dtype)) {
            for (BenchPass pass : passes) {
                Runnable call = pass == BenchPass.FWD ? () -> forward(spec, b) : () -> forwardBackward(spec, b);
                try {
                    timings.put(pass, time(call, warmupFor(pass, warmup), repsFor(pass, reps)));
                    if (pass == BenchPass.FWD) {
                        forward(spec, b);
                        algorithm = engine.lastAlgorithm();
                    }
                } catch (UnsupportedOperationException e) {
                    failures.put(pass, "unsupported: " + e.getMessage() + " -- repro: " + repro(spec));
                }
            }
        } catch (UnsupportedOperationException | IllegalArgumentException | IllegalStateException | OutOfMemoryError e) {
            String why = e.getClass().getSimpleName() + ": " + e.getMessage() + " -- repro: " + repro(spec);
            for (BenchPass pass : passes) failures.putIfAbsent(pass, why);
        }
        return new ProblemRound(timings, failures, algorithm == null ? "" : algorithm, scratch.peakBytes());
    }

    private void forward(ConvSpec spec, Buffers b) {
        execute(Pass.FORWARD, spec, b.forward);
    }

    private void forwardBackward(ConvSpec spec, Buffers b) {
        execute(Pass.FORWARD, spec, b.forward);
        // one call for every gradient, as a training step's backward makes it (a backend may share work between them)
        running = b.backwardPasses.iterator().next();
        try {
            engine.executeAll(b.backwardPasses, spec, b.allGradients);
        } catch (RuntimeException | Error e) {
            // a repro names one pass: find the one that fails alone (its own failure is then the report)
            for (Pass p : b.backwardPasses) execute(p, spec, p == Pass.BACKWARD_DATA ? b.backwardData
                    : p == Pass.BACKWARD_WEIGHT ? b.backwardWeight : b.backwardOffsetMask);
            running = b.backwardPasses.iterator().next();
            throw e; // each pass alone ran: the failure is the call's own
        }
    }

    private void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        running = pass;
        engine.execute(pass, spec, args);
    }

    /**
     * The failing case in the conformance kit's one repro form: the pass that was running (FORWARD when the
     * buffers could not even be made), the dtype, the problem line.
     */
    private String repro(ConvSpec spec) {
        return new Repro(running != null ? running : Pass.FORWARD, dtype, new Problem(spec, "", null, false, "")).toString();
    }

    /**
     * Warm-up until the time per call is steady ({@link Warmup}: at least {@code warm} calls, then batches
     * until the last ones agree, capped at half the case's budget), then timed calls: at least {@code n}
     * and enough to fill {@code minWindowMs}, within the case's time budget (--max-case-seconds, counted
     * from the first warm-up): once it is spent no further call starts, except that at least one call is
     * timed. Batched timing divides each batch's time by the calls it actually made; it synchronises after
     * 1, 2, 4, ... calls to read the budget, which an asynchronous backend would otherwise outrun.
     */
    /** The JIT's total compilation time so far (ms), or 0 where the JVM does not report it (warm-up then ignores the JIT). */
    private static long compileMs() {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    private RoundTiming time(Runnable call, int warm, int n) {
        ConvBackend backend = engine.backend();
        long start = System.nanoTime();
        long deadline = start + (long) (maxCaseSeconds * 1e9);
        Warmup w = new Warmup(warm, MAX_WARMUP_BATCHES, Math.min(MAX_WARMUP_SECONDS, maxCaseSeconds / 2));
        backend.synchronize();
        while (w.more((System.nanoTime() - start) / 1e9) && System.nanoTime() < deadline) {
            int calls = w.nextBatchCalls();
            long jit0 = compileMs();
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) call.run();
            backend.synchronize();
            w.add(calls, (System.nanoTime() - t0) / 1e6 / calls, compileMs() - jit0);
        }
        double budgetMs = Math.max(0, (deadline - System.nanoTime()) / 1e6);
        int calls = Warmup.timedCalls(w.perCallMs(), n, minWindowMs, budgetMs);
        List<Double> samples = new ArrayList<>();
        if (timing == Timing.BATCHED) {
            int perBatch = Math.max(n, (calls + BATCHES - 1) / BATCHES);
            for (int k = 0; k < BATCHES; k++) {
                backend.synchronize();
                long t0 = System.nanoTime();
                int c = 0;
                do {
                    call.run();
                    c++;
                    // an asynchronous backend only queues calls: wait for them at 1, 2, 4, ... calls before the
                    // clock is held against the budget, so that a batch overshoots it by at most its own length
                    if (Integer.bitCount(c) == 1) backend.synchronize();
                } while (c < perBatch && System.nanoTime() <= deadline);
                backend.synchronize();
                samples.add((System.nanoTime() - t0) / 1e6 / c);
                if (System.nanoTime() > deadline) break;
            }
        } else {
            for (int i = 0; i < calls; i++) {
                backend.synchronize();
                long t0 = System.nanoTime();
                call.run();
                backend.synchronize();
                samples.add((System.nanoTime() - t0) / 1e6);
                // a slow case keeps at least one sample but stops once its time budget is spent
                if (System.nanoTime() > deadline) break;
            }
        }
        return new RoundTiming(Stats.median(samples), Stats.min(samples), samples.size(), w.calls(), w.steady());
    }

    /** Every buffer the passes need, filled with seeded random data (D1: offsets N(0, 2²), mask U[0, 1)). */
    static final class Buffers implements AutoCloseable {
        private final List<DeviceBuffer> all = new ArrayList<>();
        private final DType dtype;
        final ConvArgs forward;
        final ConvArgs backwardData;
        final ConvArgs backwardWeight;
        final ConvArgs backwardOffsetMask;
        /** The buffers of every backward pass together, and those passes, for {@link ConvEngine#executeAll}. */
        final ConvArgs allGradients;
        final java.util.Set<Pass> backwardPasses;

        Buffers(ConvEngine engine, ConvSpec spec, boolean backward, long seed) {
            this(engine, spec, backward, seed, DType.FP32);
        }

        Buffers(ConvEngine engine, ConvSpec spec, boolean backward, long seed, DType dtype) {
            this.dtype = dtype;
            Random rnd = new Random(seed);
            try {
                boolean deform = spec.type() == ConvType.DEFORMABLE;
                DeviceBuffer x = gaussian(engine, spec.inputShape(), rnd, 1);
                DeviceBuffer w = gaussian(engine, spec.weightShape(), rnd, 1);
                DeviceBuffer bias = spec.bias() ? gaussian(engine, spec.biasShape(), rnd, 1) : null;
                DeviceBuffer offset = deform ? gaussian(engine, spec.offsetShape(), rnd, 2) : null;
                DeviceBuffer mask = deform && spec.modulated() ? uniform(engine, spec.maskShape(), rnd) : null;
                DeviceBuffer y = keep(engine.allocate(dtype, spec.outputShape()));
                forward = ConvArgs.builder().x(x).w(w).b(bias).offset(offset).mask(mask).y(y).build();
                if (!backward) {
                    backwardData = backwardWeight = backwardOffsetMask = allGradients = null;
                    backwardPasses = java.util.Set.of();
                    return;
                }
                DeviceBuffer dy = gaussian(engine, spec.outputShape(), rnd, 1);
                DeviceBuffer dx = keep(engine.allocate(dtype, spec.inputShape()));
                DeviceBuffer dw = keep(engine.allocate(dtype, spec.weightShape()));
                backwardData = ConvArgs.builder().dy(dy).w(w).offset(offset).mask(mask).dx(dx).build();
                backwardWeight = ConvArgs.builder().x(x).dy(dy).offset(offset).mask(mask).dw(dw).build();
                if (deform) {
                    DeviceBuffer doff = keep(engine.allocate(dtype, spec.offsetShape()));
                    DeviceBuffer dmask = spec.modulated() ? keep(engine.allocate(dtype, spec.maskShape())) : null;
                    backwardOffsetMask = ConvArgs.builder().x(x).w(w).dy(dy).offset(offset).mask(mask)
                            .put(Role.DOFFSET, doff).put(Role.DMASK, dmask).build();
                    allGradients = ConvArgs.builder().x(x).w(w).dy(dy).offset(offset).mask(mask).dx(dx).dw(dw)
                            .put(Role.DOFFSET, doff).put(Role.DMASK, dmask).build();
                    backwardPasses = java.util.EnumSet.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_OFFSET_MASK);
                } else {
                    backwardOffsetMask = null;
                    allGradients = ConvArgs.builder().x(x).w(w).dy(dy).dx(dx).dw(dw).build();
                    backwardPasses = java.util.EnumSet.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT);
                }
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private DeviceBuffer keep(DeviceBuffer b) {
            all.add(b);
            return b;
        }

        private DeviceBuffer gaussian(ConvEngine engine, Shape shape, Random rnd, double sigma) {
            float[] v = new float[Math.toIntExact(shape.elementCount())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * sigma);
            return keep(engine.upload(dtype, v, shape));
        }

        private DeviceBuffer uniform(ConvEngine engine, Shape shape, Random rnd) {
            float[] v = new float[Math.toIntExact(shape.elementCount())];
            for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat();
            return keep(engine.upload(dtype, v, shape));
        }

        @Override
        public void close() {
            for (DeviceBuffer b : all) b.close();
            all.clear();
        }
    }
}
