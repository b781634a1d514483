package io.github.batchnorm4j.internal.parallel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Runs numbered tasks on the calling thread and a fork-join pool's threads together. Tasks are
 * handed out from one shared range, the caller taking them from the front and helpers from the
 * back: the caller starts at once and helpers join as they arrive, so a helper that arrives late
 * finds the work done instead of delaying it. Which thread runs a task
 * never changes what it computes: each task writes only its own outputs.
 *
 * <p>A helper of the library's own pool stays a while after a call, spinning, and takes part in
 * the next call at once; a call that follows closely on another can then fork even when it is
 * small. OpenMP runtimes do the same (libgomp's GOMP_SPINCOUNT, Intel's KMP_BLOCKTIME), for the
 * same reason: waking a parked thread costs tens of microseconds. Threads of a pool the caller
 * passes in are never kept.
 */
public final class Tasks {
    /**
     * Below this many floats touched, the calling thread does it all unless a helper is already
     * waiting: waking a parked one costs more than it saves (tens of microseconds).
     */
    public static final long SEQUENTIAL_BELOW = 1 << 20;

    /**
     * Below this many floats touched, the calling thread does it all even when a helper waits:
     * handing over costs about a microsecond, a few percent of a call this size.
     */
    public static final long SEQUENTIAL_WITH_HELPERS_BELOW = 1 << 16;

    /** How long a helper of the library's own pool waits, spinning, for the next call. */
    static final long HELPER_WAIT_NANOS = 200_000;

    private final ForkJoinPool pool;
    private final boolean keepsHelpers;
    /** The running call's job, for helpers that wait; null between calls. */
    private final AtomicReference<Job> posted = new AtomicReference<>();
    /**
     * Helpers started and not yet gone: working on a call or waiting for the next. Counted from
     * before they start, so a call that comes while one is between tasks and waiting finds it.
     */
    private final AtomicInteger present = new AtomicInteger();
    /** When the last call that could have forked returned ({@link System#nanoTime()}). */
    private volatile long lastCallEnd = System.nanoTime() - 2 * HELPER_WAIT_NANOS;

    /**
     * @param pool the helpers' pool, or null for the calling thread only
     * @param ownPool whether the pool is the library's own, whose helpers may wait for the next
     *     call (never true for a pool the caller passes in: its threads are not ours to keep)
     */
    public Tasks(ForkJoinPool pool, boolean ownPool) {
        this.pool = pool;
        this.keepsHelpers = pool != null && ownPool;
    }

    /**
     * The end of task k when {@code total} items are cut into tasks of {@code per}:
     * {@code min(total, (k + 1) * per)}, in long, since the product may pass 2^31 when the
     * total is near it.
     */
    public static int end(int k, int per, int total) {
        return (int) Math.min(total, (long) (k + 1) * per);
    }

    /** How many threads may run tasks at once: the caller and the pool's. */
    public int threads() {
        return pool == null ? 1 : pool.getParallelism() + 1;
    }

    /**
     * Whether a job of this many floats may run on more than the calling thread (it may still
     * run on it alone, when no helper is at hand).
     */
    public boolean mayFork(long floats) {
        return pool != null && floats >= SEQUENTIAL_WITH_HELPERS_BELOW && (keepsHelpers || floats >= SEQUENTIAL_BELOW);
    }

    /**
     * Runs {@code task.accept(i)} for every i in [0, count), in parallel when worth it; returns
     * when all are done, rethrowing the first failure.
     *
     * @param floats how many floats the whole job touches, to decide whether to fork
     */
    public void forEach(int count, long floats, IntConsumer task) {
        if (count < 2 || !mayFork(floats)) {
            runAll(count, task);
            return;
        }
        boolean large = floats >= SEQUENTIAL_BELOW;
        if (!large && present.get() == 0) {
            // no helper is at hand: this call runs alone, and when it follows closely on another
            // call, helpers are woken to wait for the next one
            if (System.nanoTime() - lastCallEnd < HELPER_WAIT_NANOS) {
                wake(pool.getParallelism(), null);
            }
            try {
                runAll(count, task);
            } finally {
                lastCallEnd = System.nanoTime();
            }
            return;
        }
        Job job = new Job(count, task);
        try {
            if (keepsHelpers) {
                posted.set(job);
            }
            int helpers = Math.min(pool.getParallelism(), count - 1);
            wake(large ? helpers - (keepsHelpers ? present.get() : 0) : 0, job);
            job.work();
            job.awaitDone();
        } finally {
            if (keepsHelpers) {
                posted.compareAndSet(job, null);
                lastCallEnd = System.nanoTime();
            }
        }
    }

    private static void runAll(int count, IntConsumer task) {
        for (int i = 0; i < count; i++) {
            task.accept(i);
        }
    }

    /**
     * Starts {@code helpers} pooled threads on {@code job} (null: only to wait for the next). A
     * pool that refuses one (shut down, or saturated) just helps less: the calling thread runs
     * whatever no helper takes, so a call never fails half-written because of the pool.
     */
    private void wake(int helpers, Job job) {
        for (int h = 0; h < helpers; h++) {
            try {
                if (keepsHelpers) {
                    present.incrementAndGet();
                    pool.execute(() -> help(job));
                } else {
                    pool.execute(job::work);
                }
            } catch (RejectedExecutionException refused) {
                if (keepsHelpers) {
                    present.decrementAndGet();
                }
                return;
            }
        }
    }

    /** A helper of the library's own pool: works on a job, then on each one posted while it waits. */
    private void help(Job first) {
        try {
            for (Job job = first; ; ) {
                if (job != null) {
                    job.work();
                }
                job = awaitNext(job);
                if (job == null) {
                    return;
                }
            }
        } finally {
            present.decrementAndGet();
        }
    }

    /** The next posted job other than {@code last}, or null when none comes in time. */
    private Job awaitNext(Job last) {
        long start = System.nanoTime();
        for (int spin = 1; ; spin++) {
            Job job = posted.get();
            if (job != null && job != last) {
                return job;
            }
            if ((spin & 63) == 0 && System.nanoTime() - start > HELPER_WAIT_NANOS) {
                return null;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * One call's tasks. The caller waits for the tasks, not for the helpers: a helper that has
     * not arrived by the time the caller has taken the last task is not waited for (it arrives,
     * finds nothing left and leaves).
     */
    private static final class Job {
        /** Spins of a caller waiting for a helper's last task before it parks. */
        private static final int SPINS = 1 << 14;

        private final int count;
        private final IntConsumer task;
        private final Thread caller = Thread.currentThread();
        /** The tasks not yet taken, [from, to): from in the low half, to in the high half. */
        private final AtomicLong left;
        private final AtomicInteger done = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int count, IntConsumer task) {
            this.count = count;
            this.task = task;
            this.left = new AtomicLong((long) count << 32);
        }

        /**
         * Runs tasks until none is left: the caller takes them from the front, helpers from the
         * back. Each thread then meets much the same tasks call after call, whose data its own
         * cache still holds (taking them from one counter, 2 threads ran (8,64,16,16) forward
         * 1.25x faster than 1).
         */
        void work() {
            boolean front = Thread.currentThread() == caller;
            for (int i = take(front); i >= 0; i = take(front)) {
                try {
                    task.accept(i);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    // the caller may be parked waiting: the last task wakes it (a caller that ran
                    // the last task itself is not waiting, and gets no stale permit)
                    if (done.incrementAndGet() == count && !front) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        /** The next task from the front or the back, or -1 when none is left. */
        private int take(boolean front) {
            while (true) {
                long range = left.get();
                int from = (int) range;
                int to = (int) (range >>> 32);
                if (from >= to) {
                    return -1;
                }
                if (front ? left.compareAndSet(range, range + 1) : left.compareAndSet(range, range - (1L << 32))) {
                    return front ? from : to - 1;
                }
            }
        }

        /** Returns once every task has run; rethrows the first failure. */
        void awaitDone() {
            for (int spin = 0; done.get() < count; spin++) {
                if (spin < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }
    }
}
