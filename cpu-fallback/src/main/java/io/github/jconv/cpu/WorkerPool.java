package io.github.jconv.cpu;

import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fixed set of worker threads that run numbered, independent tasks. Each task writes its own
 * part of the output in a fixed order, so which worker runs it never changes the result.
 */
final class WorkerPool implements AutoCloseable {
    /** One task: {@code index} in [0, count), with the running worker's scratch. */
    interface Body {
        void run(int index, Scratch scratch);
    }

    private final int threads;
    private final ExecutorService executor;
    private final Scratch[] scratch;
    private final Scratch shared;
    private final AtomicLong held = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();

    WorkerPool(int threads) {
        this.threads = threads;
        this.scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) scratch[i] = new Scratch(held, peak);
        shared = new Scratch(held, peak);
        if (threads > 1) {
            AtomicInteger n = new AtomicInteger();
            ThreadFactory tf = r -> {
                Thread t = new Thread(r, "jconv-cpu-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            };
            executor = Executors.newFixedThreadPool(threads - 1, tf);
        } else {
            executor = null;
        }
    }

    int threads() {
        return threads;
    }

    long peakScratchBytes() {
        return peak.get();
    }

    /** Scratch for buffers that every task of one call shares (e.g. per-chunk partial sums). */
    Scratch shared() {
        return shared;
    }

    void resetPeakScratch() {
        shared.clear();
        for (Scratch s : scratch) s.clear();
        held.set(0);
        peak.set(0);
    }

    /**
     * Runs tasks 0..count-1 on the workers and the calling thread; rethrows the first failure. It
     * returns only once no worker runs a task of this call any more, so the caller may reuse the
     * scratch and outputs at once. An interrupt does not stop it: the call completes and the
     * calling thread's interrupt flag is set again before it returns. A worker that cannot be
     * started (pool shut down, no memory for a thread) leaves its share to the others.
     */
    void forEach(int count, Body body) {
        if (count <= 0) return;
        int workers = Math.min(threads, count);
        if (workers == 1) {
            for (int i = 0; i < count; i++) body.run(i, scratch[0]);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Future<?>[] futures = new Future<?>[workers - 1];
        int submitted = 0;
        for (int w = 1; w < workers; w++) {
            Scratch s = scratch[w];
            try {
                futures[w - 1] = executor.submit(() -> drain(count, body, s, next, failure));
            } catch (RejectedExecutionException | OutOfMemoryError e) {
                break; // the tasks are claimed from a shared counter: the caller and the started workers do them all
            }
            submitted++;
        }
        drain(count, body, scratch[0], next, failure);
        boolean interrupted = false;
        for (int i = 0; i < submitted; i++) {
            while (true) {
                try {
                    futures[i].get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // keep waiting: the worker still writes this call's memory
                } catch (ExecutionException e) {
                    failure.compareAndSet(null, e.getCause());
                    break;
                } catch (CancellationException e) {
                    failure.compareAndSet(null, new IllegalStateException("a CPU worker task was cancelled", e));
                    break;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error er) throw er;
        if (t != null) throw new IllegalStateException(t);
    }

    private static void drain(int count, Body body, Scratch s, AtomicInteger next, AtomicReference<Throwable> failure) {
        try {
            for (int i = next.getAndIncrement(); i < count && failure.get() == null; i = next.getAndIncrement()) {
                body.run(i, s);
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        }
    }

    @Override
    public void close() {
        // shutdown, not shutdownNow: a queued task still runs, so nobody waits for a future that never completes
        if (executor != null) executor.shutdown();
    }
}
