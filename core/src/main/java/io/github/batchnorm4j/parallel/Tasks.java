package io.github.batchnorm4j.parallel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
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
     * costs more than it saves. On the 2-core machine of jmh/RESULTS.md a hand-off costs about
     * 40 us: the copy baseline on 2 threads is 4x slower than on 1 for 131 072 floats (0.26
     * MiB read and written) and 1.5x faster for 1.6 M floats.
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
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                task.accept(i);
            }
        };
        int helpers = Math.min(pool.getParallelism(), count - 1);
        ForkJoinTask<?>[] submitted = new ForkJoinTask<?>[helpers];
        for (int h = 0; h < helpers; h++) {
            submitted[h] = pool.submit(worker);
        }
        worker.run();
        for (ForkJoinTask<?> helper : submitted) {
            helper.join();
        }
    }
}
