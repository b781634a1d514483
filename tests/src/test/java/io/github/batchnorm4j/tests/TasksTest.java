package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.batchnorm4j.parallel.Tasks;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The caller and the pool's helpers share the tasks; the caller returns only when all have run. */
class TasksTest {
    private static final ForkJoinPool POOL = new ForkJoinPool(3);
    private static final Tasks TASKS = new Tasks(POOL);
    private static final long PARALLEL = Tasks.SEQUENTIAL_BELOW;

    @AfterAll
    static void shutDown() {
        POOL.shutdown();
    }

    @RepeatedTest(20)
    void everyTaskRunsExactlyOnceBeforeForEachReturns() {
        int count = 257;
        AtomicIntegerArray runs = new AtomicIntegerArray(count);
        TASKS.forEach(count, PARALLEL, i -> {
            Thread.onSpinWait();
            runs.incrementAndGet(i);
        });
        for (int i = 0; i < count; i++) {
            assertEquals(1, runs.get(i), "runs of task " + i);
        }
    }

    @RepeatedTest(20)
    void aFailureReachesTheCallerAfterEveryOtherTaskHasFinished() {
        int count = 64;
        AtomicInteger finished = new AtomicInteger();
        IllegalStateException failure = new IllegalStateException("task 5");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () ->
                TASKS.forEach(count, PARALLEL, i -> {
                    if (i == 5) {
                        throw failure;
                    }
                    long until = System.nanoTime() + 20_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    finished.incrementAndGet();
                }));
        assertSame(failure, thrown);
        assertEquals(count - 1, finished.get(), "tasks finished when the failure reached the caller");
    }

    @Test
    void smallJobsRunOnTheCallingThread() {
        Thread caller = Thread.currentThread();
        AtomicInteger elsewhere = new AtomicInteger();
        TASKS.forEach(64, PARALLEL - 1, i -> {
            if (Thread.currentThread() != caller) {
                elsewhere.incrementAndGet();
            }
        });
        assertEquals(0, elsewhere.get());
        assertEquals(4, TASKS.threads());
    }
}
