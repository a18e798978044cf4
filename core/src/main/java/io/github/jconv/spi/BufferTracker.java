package io.github.jconv.spi;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts a backend's live buffers and bytes, and frees what the program forgot: a buffer that
 * becomes unreachable unclosed is freed by a {@link Cleaner} and logged as a leak, with the stack
 * where it was made when {@code -Djconv.trackAllocations=true}.
 */
public final class BufferTracker {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("io.github.jconv.leaks");
    private static final boolean TRACE = Boolean.getBoolean("jconv.trackAllocations");

    private final String backend;
    private final AtomicLong liveBuffers = new AtomicLong();
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong leaks = new AtomicLong();

    public BufferTracker(String backend) {
        this.backend = backend;
    }

    public long liveBuffers() {
        return liveBuffers.get();
    }

    public long liveBytes() {
        return liveBytes.get();
    }

    /** Buffers freed by the Cleaner because nobody closed them. */
    public long leaksReclaimed() {
        return leaks.get();
    }

    /**
     * Registers {@code owner}; {@code free} releases its native memory and must not refer to
     * {@code owner} (or the Cleaner could never run).
     */
    public Registration register(Object owner, long bytes, Runnable free) {
        Throwable site = TRACE ? new Throwable("allocated here") : null;
        State st = new State(this, bytes, free, site);
        liveBuffers.incrementAndGet();
        liveBytes.addAndGet(bytes);
        return new Registration(st, CLEANER.register(owner, st));
    }

    /** A live registration; {@link #release()} is idempotent. */
    public static final class Registration {
        private final State state;
        private final Cleaner.Cleanable cleanable;

        private Registration(State state, Cleaner.Cleanable cleanable) {
            this.state = state;
            this.cleanable = cleanable;
        }

        /** Frees now (explicit close). */
        public void release() {
            state.explicit.set(true);
            cleanable.clean();
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
                if (!explicit.get()) {
                    tracker.leaks.incrementAndGet();
                    if (site != null) {
                        LOG.log(System.Logger.Level.WARNING, "jconv " + tracker.backend + ": a buffer of " + bytes
                                + " bytes was never closed; freed by the cleaner", site);
                    } else {
                        LOG.log(System.Logger.Level.WARNING, "jconv " + tracker.backend + ": a buffer of " + bytes
                                + " bytes was never closed; freed by the cleaner (run with -Djconv.trackAllocations=true to see where it was made)");
                    }
                }
            }
        }
    }
}
