package io.github.batchnorm4j.parallel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Runs numbered tasks on the calling thread and a fork-join pool's threads together. Tasks are
 * handed out from a shared counter: the caller starts at once and helpers join as they wake, so
 * a helper that wakes late finds the work done instead of delaying it. Which thread runs a task
 * never changes what it computes: each task writes only its own outputs.
 */
public final class Tasks {
    /**
     * Below this many floats touched, the calling thread does it all: waking a pooled thread
     * costs more than it saves. On the 2-core machine of jmh/RESULTS.md a parked helper starts
     * 30-40 us after it is woken (3-8 us when it parked just before). Measured with 2 threads
     * against 1, fused, below this line: (8,32,24,24) forward NCHW 1.7x slower (295 K floats
     * touched), (8,64,16,16) 1.0-1.7x faster depending on the operation.
     */
    public static final long SEQUENTIAL_BELOW = 1 << 20;

    private final ForkJoinPool pool;

    /** @param pool the helpers' pool, or null for the calling thread only */
    public Tasks(ForkJoinPool pool) {
        this.pool = pool;
    }

    /** How many threads may run tasks at once: the caller and the pool's. */
    public int threads() {
        return pool == null ? 1 : pool.getParallelism() + 1;
    }

    /**
     * Runs {@code task.accept(i)} for every i in [0, count), in parallel when worth it; returns
     * when all are done, rethrowing the first failure.
     *
     * @param floats how many floats the whole job touches, to decide whether to fork
     */
    public void forEach(int count, long floats, IntConsumer task) {
        if (pool == null || count < 2 || floats < SEQUENTIAL_BELOW) {
            for (int i = 0; i < count; i++) {
                task.accept(i);
            }
            return;
        }
        Job job = new Job(count, task);
        int helpers = Math.min(pool.getParallelism(), count - 1);
        for (int h = 0; h < helpers; h++) {
            pool.execute(job::work);
        }
        job.work();
        job.awaitDone();
    }

    /**
     * One call's tasks. The caller waits for the tasks, not for the helpers: a helper that has
     * not woken by the time the caller has taken the last task is not waited for (it wakes, finds
     * nothing left and goes back to sleep).
     */
    private static final class Job {
        /** Spins of a caller waiting for a helper's last task before it parks. */
        private static final int SPINS = 1 << 14;

        private final int count;
        private final IntConsumer task;
        private final Thread caller = Thread.currentThread();
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int count, IntConsumer task) {
            this.count = count;
            this.task = task;
        }

        void work() {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                try {
                    task.accept(i);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    // the caller may be parked waiting: the last task wakes it (a caller that ran
                    // the last task itself is not waiting, and gets no stale permit)
                    if (done.incrementAndGet() == count && Thread.currentThread() != caller) {
                        LockSupport.unpark(caller);
                    }
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
