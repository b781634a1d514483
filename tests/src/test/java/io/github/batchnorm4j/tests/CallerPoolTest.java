package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parallelism;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A caller's pool that refuses tasks (shut down, or saturated after accepting some) costs speed,
 * never a half-written call: every call completes with the calling thread's bits, and no task of
 * it runs after it returns. An interrupted caller completes its call and keeps its interrupt.
 */
class CallerPoolTest {
    /** Over a million floats, so that a caller's pool is asked for helpers. */
    static final List<Geometry> SHAPES = List.of(Geometry.nchw(8, 64, 48, 48), Geometry.nhwc(8, 48, 48, 64));

    /** Accepts its first {@code accepts} tasks, each started late, and refuses every one after. */
    static final class RefusingPool extends ForkJoinPool {
        final int accepts;
        final AtomicInteger offered = new AtomicInteger();
        /** Accepted tasks not yet finished. */
        final AtomicInteger unfinished = new AtomicInteger();

        RefusingPool(int accepts) {
            super(3);
            this.accepts = accepts;
        }

        @Override
        public void execute(Runnable task) {
            if (offered.incrementAndGet() > accepts) {
                throw new RejectedExecutionException("refused by the test");
            }
            unfinished.incrementAndGet();
            super.execute(() -> {
                try {
                    Thread.sleep(50);
                    task.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    unfinished.decrementAndGet();
                }
            });
        }

        void awaitAcceptedTasks() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (unfinished.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(unfinished.get() == 0, "an accepted task is still running after 10 s");
        }
    }

    enum Refusal {
        SHUT_DOWN, REFUSES_ALL, ACCEPTS_ONE_THEN_REFUSES;

        RefusingPool pool() {
            RefusingPool pool = new RefusingPool(this == ACCEPTS_ONE_THEN_REFUSES ? 1 : 0);
            if (this == SHUT_DOWN) {
                pool.shutdown();
            }
            return pool;
        }
    }

    /** Each operation's outputs, run by {@code bn} on one fixed input. */
    enum Operation {
        TRAINING, INFERENCE, BACKWARD;

        List<float[]> run(BatchNorm bn, Geometry g) {
            int channels = g.channels();
            float[] x = Data.gaussian(1, g.size(), 0.5, 2);
            float[] y = new float[Math.toIntExact(g.size())];
            Parameters p = Parameters.affine(Data.uniform(2, channels, 0.5, 2), Data.uniform(3, channels, -1, 1));
            RunningStatistics running = RunningStatistics.of(Data.uniform(4, channels, -1, 1),
                    Data.uniform(5, channels, 0.5, 2), RunningUpdate.pytorch(0.1));
            BatchStatistics saved = BatchStatistics.allocate(channels);
            switch (this) {
                case TRAINING -> {
                    bn.forwardTraining(g, x, y, p, saved, running);
                    return List.of(y, saved.mean(), saved.invStd(), running.mean(), running.variance());
                }
                case INFERENCE -> {
                    bn.forwardInference(g, x, y, p, running);
                    return List.of(y);
                }
                default -> {
                    float[] dx = new float[Math.toIntExact(g.size())];
                    ParameterGradients gradients = ParameterGradients.allocate(channels);
                    bn.backward(g, x, null, Data.gaussian(6, g.size(), 0, 1), dx, p,
                            BatchStatistics.of(Data.uniform(7, channels, 0, 1), Data.uniform(8, channels, 0.4, 0.6)),
                            gradients);
                    return List.of(dx, gradients.dgamma(), gradients.dbeta());
                }
            }
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Variant v : Variant.values()) {
            for (Geometry g : SHAPES) {
                for (Operation op : Operation.values()) {
                    cases.add(Arguments.of(v, g, op));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void aRefusingPoolCostsSpeedNotCorrectness(Variant variant, Geometry g, Operation op) throws InterruptedException {
        List<float[]> expected = op.run(Variants.batchNorm(variant, 1), g);
        for (Refusal refusal : Refusal.values()) {
            RefusingPool pool = refusal.pool();
            try {
                BatchNorm bn = BatchNorm.builder().variant(variant).parallelism(Parallelism.pool(pool)).build();
                List<float[]> got = op.run(bn, g);
                List<float[]> atReturn = got.stream().map(float[]::clone).toList();
                pool.awaitAcceptedTasks();
                for (int k = 0; k < expected.size(); k++) {
                    assertArrayEquals(expected.get(k), atReturn.get(k), refusal + ": output " + k + " differs from 1 thread's");
                    assertArrayEquals(atReturn.get(k), got.get(k), refusal + ": output " + k + " changed after the call returned");
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void anInterruptedCallerCompletesItsCallAndKeepsTheInterrupt(Variant variant, Geometry g, Operation op) {
        List<float[]> expected = op.run(Variants.batchNorm(variant, 1), g);
        Thread.currentThread().interrupt();
        List<float[]> got = op.run(Variants.batchNorm(variant, 2), g);
        assertTrue(Thread.interrupted(), "the interrupt was lost");
        for (int k = 0; k < expected.size(); k++) {
            assertArrayEquals(expected.get(k), got.get(k), "output " + k + " differs from 1 thread's");
        }
    }
}
