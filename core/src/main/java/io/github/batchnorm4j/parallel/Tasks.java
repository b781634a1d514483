package io.github.batchnorm4j.parallel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Runs numbered tasks on a fork-join pool, or on the calling thread when there is no pool or
 * the work is too small to pay for waking threads. Which thread runs a task never changes what
 * it computes: each task writes only its own outputs.
 */
public final class Tasks {
    /**
     * Below this many floats touched, the calling thread does it all: waking a pooled thread
     * costs more than it saves. Measured with ThresholdBenchmark in the jmh module.
     */
    public static final long SEQUENTIAL_BELOW = 1 << 15;

    private final ForkJoinPool pool;

    /** @param pool where to fork, or null for the calling thread only */
    public Tasks(ForkJoinPool pool) {
        this.pool = pool;
    }

    /** How many threads may run tasks at once. */
    public int threads() {
        return pool == null ? 1 : pool.getParallelism();
    }

    /**
     * Runs {@code task.accept(i)} for every i in [0, count), in parallel when worth it.
     *
     * @param floats how many floats the whole job touches, to decide whether to fork
     */
    public void forEach(int count, long floats, IntConsumer task) {
        if (pool == null || count < 2 || floats < SEQUENTIAL_BELOW) {
            for (int i = 0; i < count; i++) {
                task.accept(i);
            }
        } else {
            pool.invoke(new Range(task, 0, count));
        }
    }

    private static final class Range extends RecursiveAction {
        private final IntConsumer task;
        private final int from;
        private final int to;

        Range(IntConsumer task, int from, int to) {
            this.task = task;
            this.from = from;
            this.to = to;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                task.accept(from);
            } else {
                int middle = (from + to) >>> 1;
                invokeAll(new Range(task, from, middle), new Range(task, middle, to));
            }
        }
    }
}
