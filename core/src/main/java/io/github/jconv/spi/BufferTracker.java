package io.github.jconv.spi;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts a backend's live buffers and bytes, and frees what the program forgot: a buffer that
 * becomes unreachable unclosed is freed by a cleaner thread (a phantom reference per buffer) and
 * reported as a leak; {@link #reclaimUnreachable} lets an allocation that the device refused free
 * such buffers at once and retry. Leaks are
 * reported as one summary line per interval ({@code -Djconv.leakReportSeconds}, default 10): the
 * first leak at once, the later ones of an interval counted and summed in one line at its end. With
 * {@code -Djconv.trackAllocations=true} every leak is logged with the stack where it was made.
 */
public final class BufferTracker {
    private static final ReferenceQueue<Object> QUEUE = new ReferenceQueue<>();
    /** Keeps each registration's reference reachable until it is cleaned. */
    private static final Set<Ref> REFS = ConcurrentHashMap.newKeySet();
    private static final Thread CLEANER = cleaner();
    private static final System.Logger LOG = System.getLogger("io.github.jconv.leaks");
    static final String TRACE_PROPERTY = "jconv.trackAllocations";
    static final String REPORT_PROPERTY = "jconv.leakReportSeconds";
    private static final ScheduledExecutorService REPORTER = reporter();

    private final String backend;
    private final long reportNanos;
    private final boolean trace;
    private final AtomicLong liveBuffers = new AtomicLong();
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong leaks = new AtomicLong();
    private final Object reportLock = new Object();
    private final System.Logger log;
    // guarded by reportLock
    private long pendingLeaks;
    private long pendingBytes;
    private long lastReport = Long.MIN_VALUE;
    private boolean flushScheduled;
    private long reports;

    /** Settings ({@code jconv.leakReportSeconds}, {@code jconv.trackAllocations}) from the system now. */
    public BufferTracker(String backend) {
        this(backend, io.github.jconv.EngineOptions.fromSystem());
    }

    /** Settings from {@code options}: the session's. */
    public BufferTracker(String backend, io.github.jconv.EngineOptions options) {
        this(backend, LOG, Math.max(0, options.number(REPORT_PROPERTY, 10)) * 1_000_000_000L, options.flag(TRACE_PROPERTY, false));
    }

    /** {@code log} and {@code reportNanos}: the leak summary's destination and interval (tests). */
    BufferTracker(String backend, System.Logger log, long reportNanos) {
        this(backend, log, reportNanos, io.github.jconv.EngineOptions.fromSystem().flag(TRACE_PROPERTY, false));
    }

    private BufferTracker(String backend, System.Logger log, long reportNanos, boolean trace) {
        this.backend = backend;
        this.log = log;
        this.reportNanos = reportNanos;
        this.trace = trace;
    }

    private static Thread cleaner() {
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    ((Ref) QUEUE.remove()).clean();
                } catch (InterruptedException e) {
                    // a daemon that lives as long as the JVM: keep draining
                } catch (Throwable e) {
                    LOG.log(System.Logger.Level.ERROR, "jconv: freeing an unclosed buffer failed", e);
                }
            }
        }, "jconv-buffer-cleaner");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Trackers with leaks counted but not yet reported; the JVM's exit reports them. */
    private static final Set<BufferTracker> PENDING = ConcurrentHashMap.newKeySet();

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                for (BufferTracker t : PENDING) t.flush();
            }, "jconv-leak-report-at-exit"));
        } catch (IllegalStateException | SecurityException e) {
            // already shutting down, or not allowed: the interval reports still run
        }
    }

    private static ScheduledExecutorService reporter() {
        ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "jconv-leak-report");
            t.setDaemon(true);
            return t;
        });
        s.setRemoveOnCancelPolicy(true);
        return s;
    }

    public long liveBuffers() {
        return liveBuffers.get();
    }

    public long liveBytes() {
        return liveBytes.get();
    }

    /** Buffers freed by the cleaner because nobody closed them. */
    public long leaksReclaimed() {
        return leaks.get();
    }

    /** Leak report lines logged so far (tests). */
    long leakReports() {
        synchronized (reportLock) {
            return reports;
        }
    }

    /**
     * Lets the garbage collector find buffers dropped without close, and waits (at most
     * {@code maxWaitMillis}) until those it found are freed. Returns the bytes freed
     * meanwhile. A backend calls it once when the device refuses an allocation, then retries.
     */
    public long reclaimUnreachable(long maxWaitMillis) {
        long before = liveBytes.get();
        long deadline = System.nanoTime() + maxWaitMillis * 1_000_000L;
        System.gc();
        // Free here what the collection found (the cleaner thread drains the same queue; each buffer is
        // freed once), until nothing more arrives for 100 ms or the deadline passes.
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) break;
            Ref r;
            try {
                r = (Ref) QUEUE.remove(Math.min(100, left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (r == null) break;
            r.clean();
        }
        return Math.max(0, before - liveBytes.get());
    }

    /**
     * Registers {@code owner}; {@code free} releases its native memory and must not refer to
     * {@code owner} (or it could never become unreachable).
     */
    public Registration register(Object owner, long bytes, Runnable free) {
        Throwable site = trace ? new Throwable("allocated here") : null;
        State st = new State(this, bytes, free, site);
        liveBuffers.incrementAndGet();
        liveBytes.addAndGet(bytes);
        Ref r = new Ref(owner, st);
        REFS.add(r);
        return new Registration(st, r);
    }

    private void leaked(long bytes, Throwable site) {
        leaks.incrementAndGet();
        if (site != null) {
            log.log(System.Logger.Level.WARNING, "jconv " + backend + ": a buffer of " + bytes
                    + " bytes was never closed; freed by the cleaner", site);
            return;
        }
        boolean now = false;
        boolean schedule = false;
        long count = 0;
        long sum = 0;
        synchronized (reportLock) {
            long t = System.nanoTime();
            pendingLeaks++;
            pendingBytes += bytes;
            if (lastReport == Long.MIN_VALUE || t - lastReport >= reportNanos) {
                now = true;
                count = pendingLeaks;
                sum = pendingBytes;
                pendingLeaks = 0;
                pendingBytes = 0;
                lastReport = t;
                reports++;
            } else if (!flushScheduled) {
                flushScheduled = true;
                schedule = true;
                PENDING.add(this);
            }
        }
        if (now) report(count, sum);
        if (schedule) {
            long delay = Math.max(1, reportNanos - (System.nanoTime() - lastReportSnapshot()));
            REPORTER.schedule(this::flush, delay, TimeUnit.NANOSECONDS);
        }
    }

    private long lastReportSnapshot() {
        synchronized (reportLock) {
            return lastReport;
        }
    }

    /** Logs the leaks counted since the last line, if any. */
    void flush() {
        long count;
        long sum;
        synchronized (reportLock) {
            flushScheduled = false;
            PENDING.remove(this);
            count = pendingLeaks;
            sum = pendingBytes;
            if (count == 0) return;
            pendingLeaks = 0;
            pendingBytes = 0;
            lastReport = System.nanoTime();
            reports++;
        }
        report(count, sum);
    }

    private void report(long count, long bytes) {
        log.log(System.Logger.Level.WARNING, "jconv " + backend + ": " + count + (count == 1 ? " buffer" : " buffers") + " of "
                + bytes + " bytes in all " + (count == 1 ? "was" : "were") + " never closed; freed by the cleaner ("
                + leaks.get() + " so far; close buffers or use try-with-resources; -Djconv.trackAllocations=true logs where each was made)");
    }

    /** A live registration; {@link #release()} is idempotent. */
    public static final class Registration {
        private final State state;
        private final Ref ref;

        private Registration(State state, Ref ref) {
            this.state = state;
            this.ref = ref;
        }

        /** Frees now (explicit close). */
        public void release() {
            state.explicit.set(true);
            ref.clean();
        }
    }

    /** Becomes enqueued when its buffer is unreachable; cleaning it frees the memory once. */
    private static final class Ref extends PhantomReference<Object> {
        private final State state;

        Ref(Object owner, State state) {
            super(owner, QUEUE);
            this.state = state;
        }

        void clean() {
            REFS.remove(this);
            clear();
            state.run();
        }
    }

    private static final class State implements Runnable {
        private final BufferTracker tracker;
        private final long bytes;
        private final Runnable free;
        private final Throwable site;
        private final AtomicBoolean done = new AtomicBoolean();
        private final AtomicBoolean explicit = new AtomicBoolean();

        State(BufferTracker tracker, long bytes, Runnable free, Throwable site) {
            this.tracker = tracker;
            this.bytes = bytes;
            this.free = free;
            this.site = site;
        }

        @Override
        public void run() {
            if (!done.compareAndSet(false, true)) return;
            try {
                free.run();
            } finally {
                tracker.liveBuffers.decrementAndGet();
                tracker.liveBytes.addAndGet(-bytes);
                if (!explicit.get()) tracker.leaked(bytes, site);
            }
        }
    }
}
