package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.internal.parallel.Tasks;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The caller and the pool's helpers share the tasks; the caller returns only when all have run.
 * Helpers of the library's own pool wait for the next call; a pool the caller passes in is never
 * kept waiting.
 */
class TasksTest {
    private static final ForkJoinPool PASSED_POOL = new ForkJoinPool(3);
    private static final ForkJoinPool OWN_POOL = new ForkJoinPool(3);
    private static final Tasks PASSED = new Tasks(PASSED_POOL, false);
    private static final Tasks OWN = new Tasks(OWN_POOL, true);
    private static final long LARGE = Tasks.SEQUENTIAL_BELOW;
    /** Forks on the own pool when a helper is at hand, never on a passed pool. */
    private static final long MID_SIZE = Tasks.SEQUENTIAL_WITH_HELPERS_BELOW;

    @AfterAll
    static void shutDown() {
        PASSED_POOL.shutdown();
        OWN_POOL.shutdown();
    }

    static Stream<Tasks> bothPools() {
        return Stream.of(PASSED, OWN);
    }

    @ParameterizedTest
    @MethodSource("bothPools")
    void everyTaskRunsExactlyOnceBeforeForEachReturns(Tasks tasks) {
        for (int call = 0; call < 20; call++) {
            assertEveryTaskRunsOnce(tasks, 257, call % 2 == 0 ? LARGE : MID_SIZE);
        }
    }

    @RepeatedTest(5)
    void callersSharingOnePoolEachGetAllTheirTasksRun() throws Exception {
        CompletableFuture<?>[] callers = new CompletableFuture<?>[3];
        for (int k = 0; k < callers.length; k++) {
            callers[k] = CompletableFuture.runAsync(() -> {
                for (int call = 0; call < 50; call++) {
                    assertEveryTaskRunsOnce(OWN, 64, call % 3 == 0 ? LARGE : MID_SIZE);
                }
            });
        }
        CompletableFuture.allOf(callers).get(60, TimeUnit.SECONDS);
    }

    private static void assertEveryTaskRunsOnce(Tasks tasks, int count, long floats) {
        AtomicIntegerArray runs = new AtomicIntegerArray(count);
        tasks.forEach(count, floats, i -> {
            Thread.onSpinWait();
            runs.incrementAndGet(i);
        });
        for (int i = 0; i < count; i++) {
            assertEquals(1, runs.get(i), "runs of task " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("bothPools")
    void aFailureReachesTheCallerAfterEveryOtherTaskHasFinished(Tasks tasks) {
        for (int call = 0; call < 20; call++) {
            int count = 64;
            AtomicInteger finished = new AtomicInteger();
            IllegalStateException failure = new IllegalStateException("task 5");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () ->
                    tasks.forEach(count, LARGE, i -> {
                        if (i == 5) {
                            throw failure;
                        }
                        spin(20_000);
                        finished.incrementAndGet();
                    }));
            assertSame(failure, thrown);
            assertEquals(count - 1, finished.get(), "tasks finished when the failure reached the caller");
        }
    }

    @Test
    void smallJobsRunOnTheCallingThread() {
        assertEquals(4, PASSED.threads());
        assertEquals(4, OWN.threads());
        OWN.forEach(64, LARGE, i -> spin(2_000));
        assertEquals(0, tasksElsewhere(OWN, MID_SIZE - 1), "own pool, just below the line, helpers at hand");
        PASSED.forEach(64, LARGE, i -> spin(2_000));
        assertEquals(0, tasksElsewhere(PASSED, LARGE - 1), "passed pool, just below the line");
        assertFalse(PASSED.mayFork(LARGE - 1));
        assertTrue(PASSED.mayFork(LARGE));
        assertFalse(OWN.mayFork(MID_SIZE - 1));
        assertTrue(OWN.mayFork(MID_SIZE));
        assertFalse(new Tasks(null, true).mayFork(LARGE));
    }

    @Test
    void helpersOfTheOwnPoolTakePartInTheCallsThatFollowClosely() {
        // up to five rounds: on a shared 2-core machine another tenant can keep the helpers off
        // the cores for a whole round of 20 calls (seen once); with the mechanism broken, no
        // round is ever helped
        int helped = 0;
        for (int round = 0; round < 5 && helped == 0; round++) {
            OWN.forEach(64, LARGE, i -> spin(2_000));
            for (int call = 0; call < 20; call++) {
                if (tasksElsewhere(OWN, MID_SIZE) > 0) {
                    helped++;
                }
            }
        }
        assertTrue(helped > 0, "calls of " + MID_SIZE + " floats that helpers took part in, of 20 in each of 5 rounds");
    }

    @Test
    void aMidSizeCallAfterAPauseRunsOnTheCallingThread() throws InterruptedException {
        OWN.forEach(64, LARGE, i -> spin(2_000));
        Thread.sleep(300);
        assertEquals(0, tasksElsewhere(OWN, MID_SIZE), "tasks run by helpers 300 ms after the last call");
    }

    /** How many of 16 tasks of 20 us each ran on a thread other than the caller's. */
    private static int tasksElsewhere(Tasks tasks, long floats) {
        Thread caller = Thread.currentThread();
        AtomicInteger elsewhere = new AtomicInteger();
        IntConsumer task = i -> {
            spin(20_000);
            if (Thread.currentThread() != caller) {
                elsewhere.incrementAndGet();
            }
        };
        tasks.forEach(16, floats, task);
        return elsewhere.get();
    }

    private static void spin(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }
}
