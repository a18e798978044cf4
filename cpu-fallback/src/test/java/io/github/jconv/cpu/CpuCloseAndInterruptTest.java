package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Closing a session while calls run, interrupting a calling thread, and the worker-count limit. */
class CpuCloseAndInterruptTest {
    private static final ConvSpec SPEC = ConvSpec.parse("mb4ic32ih8oc48kh3ph1");

    /** Starts a daemon thread: a hang in the code under test must not keep the JVM alive. */
    private static Thread start(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void joinOrFail(List<Thread> threads, long millis, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
            if (t.isAlive()) {
                StringBuilder sb = new StringBuilder();
                for (StackTraceElement e : t.getStackTrace()) sb.append("\n    at ").append(e);
                fail(what + ": thread " + t.getName() + " still runs after " + millis + " ms (a hang):" + sb);
            }
        }
    }

    /**
     * 18.3: four threads loop backward-weight calls on a session while the main thread
     * closes it (8 workers, every third trial 2). Every call must either complete or throw IllegalStateException (session closed);
     * no thread may hang and no other exception (e.g. a raw RejectedExecutionException) may escape.
     * Before the fix, close shut the pool down under a running call: its futures were never run, so
     * the call waited forever holding the session lock, or the next submit threw
     * RejectedExecutionException.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closingWhileCallsRunNeitherHangsNorThrowsAnythingButIllegalState() throws Exception {
        PassRunner runner = new PassRunner(SPEC, 7, 1);
        int trials = 12;
        Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        AtomicInteger closedErrors = new AtomicInteger(), completed = new AtomicInteger();
        for (int trial = 0; trial < trials; trial++) {
            ConvEngine e = ConvEngine.open(new CpuBackendProvider(trial % 3 == 2 ? 2 : 8), 0); // the issue saw hangs with 8 and with 2
            DeviceBuffer x = e.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(Role.X)), SPEC.inputShape());
            DeviceBuffer dy = e.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(Role.DY)), SPEC.outputShape());
            List<Thread> callers = new ArrayList<>();
            AtomicInteger started = new AtomicInteger();
            for (int c = 0; c < 4; c++) {
                callers.add(start("caller-" + c, () -> {
                    started.incrementAndGet();
                    while (true) {
                        try {
                            DeviceBuffer dw = e.backwardWeight(SPEC, x, dy);
                            dw.close();
                            completed.incrementAndGet();
                        } catch (IllegalStateException closed) {
                            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
                            closedErrors.incrementAndGet();
                            return;
                        } catch (Throwable t) {
                            unexpected.add(t);
                            return;
                        }
                    }
                }));
            }
            while (started.get() < 4) Thread.onSpinWait();
            Thread.sleep(3 + trial % 5);
            Thread closer = start("closer", e::close);
            joinOrFail(List.of(closer), 10_000, "close");
            joinOrFail(callers, 10_000, "a call after close");
            x.close();
            dy.close();
        }
        assertTrue(unexpected.isEmpty(), "only IllegalStateException may escape, got: " + unexpected);
        assertEquals(4 * trials, closedErrors.get(), "every caller ends with IllegalStateException once the session is closed");
        assertTrue(completed.get() > 0, "calls ran before close");
    }

    /** After close, a call fails with IllegalStateException naming the closed session (and close twice is harmless). */
    @Test
    void aCallAfterCloseThrowsIllegalState() {
        ConvEngine e = ConvEngine.open(new CpuBackendProvider(4), 0);
        PassRunner runner = new PassRunner(SPEC, 7, 1);
        DeviceBuffer x = e.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(Role.X)), SPEC.inputShape());
        DeviceBuffer dy = e.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(Role.DY)), SPEC.outputShape());
        e.backwardWeight(SPEC, x, dy).close();
        e.close();
        e.close();
        IllegalStateException ex = assertThrows(IllegalStateException.class, () -> e.backwardWeight(SPEC, x, dy));
        assertTrue(ex.getMessage().contains("closed"), ex.getMessage());
        x.close();
        dy.close();
    }

    /**
     * 18.8: thread A loops backward-weight and is interrupted every 0.5 ms; thread B runs the same
     * call on the same session. Chosen behaviour: an interrupt never cancels a call; the call
     * completes with the full result and returns with the interrupt flag still set. So both threads
     * must get, every time, the bits of an undisturbed run (the CPU backend is deterministic:
     * ThreadDeterminismTest), and that run must match the independent FP64 oracle. Before the fix
     * an interrupted A gave up the session lock while its workers still wrote the shared partial
     * sums, and B got wrong gradients.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void interruptingOneCallerNeitherCorruptsAnotherNorCancelsItsOwnCall() throws Exception {
        PassRunner runner = new PassRunner(SPEC, 11, 1);
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(8), 0);
             DeviceBuffer x = e.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(Role.X)), SPEC.inputShape());
             DeviceBuffer dy = e.upload(DType.FP32, PassRunner.toFloat(runner.inputs.get(Role.DY)), SPEC.outputShape())) {
            float[] good = download(e, e.backwardWeight(SPEC, x, dy));
            double[] oracle = runner.oracle(Pass.BACKWARD_WEIGHT).get(Role.DW);
            for (int i = 0; i < good.length; i++) {
                // 288 products of values in [-1, 1] per element: FP32 summation error stays far below 1e-3
                assertEquals(oracle[i], good[i], 1e-3, "undisturbed dw[" + i + "] vs the FP64 oracle");
            }
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong wrongA = new AtomicLong(), wrongB = new AtomicLong(), callsA = new AtomicLong(), callsB = new AtomicLong();
            AtomicLong flagKept = new AtomicLong(), failedA = new AtomicLong();
            Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
            Thread a = start("A", () -> {
                try {
                    while (!stop.get()) {
                        float[] dw;
                        try {
                            dw = download(e, e.backwardWeight(SPEC, x, dy));
                        } catch (IllegalStateException interrupted) { // the old behaviour; counted, the loop goes on
                            Thread.interrupted();
                            failedA.incrementAndGet();
                            continue;
                        }
                        if (Thread.interrupted()) flagKept.incrementAndGet();
                        if (!java.util.Arrays.equals(good, dw)) wrongA.incrementAndGet();
                        callsA.incrementAndGet();
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            Thread b = start("B", () -> {
                try {
                    while (!stop.get()) {
                        float[] dw = download(e, e.backwardWeight(SPEC, x, dy));
                        if (!java.util.Arrays.equals(good, dw)) wrongB.incrementAndGet();
                        callsB.incrementAndGet();
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            while (System.nanoTime() < end && a.isAlive()) {
                a.interrupt();
                LockSupport.parkNanos(500_000);
            }
            stop.set(true);
            joinOrFail(List.of(a, b), 10_000, "interrupt stress");
            assertTrue(errors.isEmpty(), "no call may fail: " + errors);
            assertEquals(0, wrongB.get(), "B's results disturbed by A's interrupts, of " + callsB.get());
            assertEquals(0, failedA.get(), "A's calls cancelled by its interrupts, of " + callsA.get());
            assertEquals(0, wrongA.get(), "A's own results, of " + callsA.get());
            assertTrue(callsA.get() > 10 && callsB.get() > 10, "both threads ran: " + callsA + ", " + callsB);
            assertTrue(flagKept.get() > 0, "an interrupt during a call is still visible after it");
        }
    }

    private static float[] download(ConvEngine e, DeviceBuffer b) {
        try (b) {
            return e.downloadFloats(b);
        }
    }

    /**
     * 18.15: an absurd worker count is refused at open with an IllegalArgumentException that names
     * the property, its value, the rule and a value that works, before anything is allocated
     * (before the fix: OutOfMemoryError allocating 2^31 − 1 scratch slots).
     */
    @Test
    void aWorkerCountOverTheLimitIsRefusedByNameBeforeAnythingIsMade() {
        System.setProperty(CpuBackendProvider.THREADS_PROPERTY, "2147483647");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuBackendProvider().open(0).close());
            String m = e.getMessage();
            assertTrue(m.contains("jconv.cpu.threads = 2147483647"), m);
            assertTrue(m.contains("from 1 to " + CpuBackendProvider.MAX_THREADS), m);
            assertTrue(m.contains("e.g. -Djconv.cpu.threads="), m);
            System.setProperty(CpuBackendProvider.THREADS_PROPERTY, Integer.toString(CpuBackendProvider.MAX_THREADS + 1));
            assertThrows(IllegalArgumentException.class, () -> new CpuBackendProvider().open(0).close());
            System.setProperty(CpuBackendProvider.THREADS_PROPERTY, Integer.toString(CpuBackendProvider.MAX_THREADS));
            try (ConvBackend b = new CpuBackendProvider().open(0)) {
                assertEquals(CpuBackendProvider.MAX_THREADS, ((CpuBackend) b).threads());
            }
        } finally {
            System.clearProperty(CpuBackendProvider.THREADS_PROPERTY);
        }
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> new CpuBackendProvider(Integer.MAX_VALUE));
        assertTrue(c.getMessage().contains("threads = 2147483647") && c.getMessage().contains("from 1 to 1024"), c.getMessage());
        assertFalse(c.getMessage().contains("e.g. threads = 0"), c.getMessage());
    }

    /** The worker count limit itself works: a pool of MAX_THREADS runs a call with the right result. */
    @Test
    void theLargestWorkerCountRunsACallCorrectly() {
        PassRunner runner = new PassRunner(SPEC, 5, 1);
        try (ConvEngine e = ConvEngine.open(new CpuBackendProvider(CpuBackendProvider.MAX_THREADS), 0);
             ConvEngine one = ConvEngine.open(new CpuBackendProvider(1), 0)) {
            assertArrayEquals(runner.run(one, Pass.BACKWARD_WEIGHT, DType.FP32).get(Role.DW),
                    runner.run(e, Pass.BACKWARD_WEIGHT, DType.FP32).get(Role.DW));
        }
    }

    /** lastAlgorithm is per session and per thread: another session's call on this thread does not change it. */
    @Test
    void lastAlgorithmIsPerSession() {
        try (ConvEngine a = ConvEngine.open(new CpuBackendProvider(1), 0);
             ConvEngine b = ConvEngine.open(new CpuBackendProvider(1), 0)) {
            ConvSpec spec = ConvSpec.parse("g4mb1ic4ih6oc4kh3ph1");
            PassRunner r = new PassRunner(spec, 1, 1);
            r.run(a, Pass.FORWARD, DType.FP32);
            r.run(b, Pass.BACKWARD_BIAS, DType.FP32);
            assertEquals("direct-depthwise", a.lastAlgorithm());
            assertEquals("channel-sum", b.lastAlgorithm());
        }
    }

    /**
     * A worker pool whose executor no longer takes tasks (shut down, or no memory for a thread)
     * still runs every task once, on the calling thread and the workers already started; before,
     * the submit's RejectedExecutionException escaped and left started workers running.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aPoolThatRejectsTasksStillRunsEveryTaskOnce() {
        WorkerPool pool = new WorkerPool(4);
        pool.close();
        int[] runs = new int[1000];
        pool.forEach(runs.length, (i, s) -> runs[i]++);
        for (int i = 0; i < runs.length; i++) assertEquals(1, runs[i], "task " + i);
    }
}
