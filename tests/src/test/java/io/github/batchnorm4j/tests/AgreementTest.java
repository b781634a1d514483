package io.github.batchnorm4j.tests;

import static io.github.batchnorm4j.tests.Tolerance.assertRelativeClose;
import static io.github.batchnorm4j.tests.Tolerance.assertSumsClose;
import static io.github.batchnorm4j.tests.Tolerance.assertTensorClose;
import static io.github.batchnorm4j.tests.Tolerance.assertTermsClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.internal.kernel.Plan;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every variant, at every thread count, against the double-precision reference, for all four
 * operations, over shapes that hit every loop tail (C around the 16-lane width, inner around
 * vector and block sizes), both layouts, ReLU on and off, scale and center off. The reference
 * runs once per case; each variant's results at 2, 3, 7 and 16 threads must also equal its
 * 1-thread results bit for bit (determinism). These shapes and thread counts reach every path
 * of every variant's plan ({@link #theShapesReachEveryPath}).
 */
class AgreementTest {

    /** Every tail: C around the 16-lane vector, inner and outer around vector and block sizes. */
    static List<Geometry> tailShapes() {
        List<Geometry> result = new ArrayList<>();
        for (int c : new int[] {1, 3, 15, 16, 17, 64, 257}) {
            for (int inner : new int[] {1, 2, 7, 33, 196, 259}) {
                for (int outer : new int[] {1, 2, 5, 33}) {
                    if (outer == 1 && inner == 1) {
                        continue;
                    }
                    result.add(new Geometry(outer, c, inner));
                    if (inner > 1) {
                        result.add(new Geometry(outer * inner, c, 1));
                    }
                }
            }
        }
        return result;
    }

    static Stream<Case> withAndWithoutRelu() {
        return Case.withAndWithoutRelu(tailShapes());
    }

    /**
     * NCHW tensors over the 1 MiB that fused keeps in cache: statistics plane by plane (a block
     * per plane, per piece of a plane, many pieces; planes of 784 floats, shorter than a block,
     * summed one at a time in memory order), and short planes written through the row loops with
     * their channels' values spread over each image.
     */
    static Stream<Case> largePlanes() {
        return Case.withAndWithoutRelu(List.of(new Geometry(3, 40, 3136), new Geometry(4, 17, 4099),
                new Geometry(2, 5, 40000), new Geometry(4096, 17, 7), new Geometry(3000, 5, 20),
                new Geometry(6, 67, 784)));
    }

    static Stream<Case> affineOff() {
        return Case.affineOff(Case.geometries(new int[] {1, 17, 64}, new int[] {1, 7, 196}, new int[] {2, 33}));
    }

    @ParameterizedTest
    @MethodSource({"withAndWithoutRelu", "largePlanes", "affineOff"})
    void everyVariantAndThreadCountMatchesTheReference(Case c) {
        Geometry g = c.geometry();
        Expected want = new Expected(c);
        for (Variant variant : Variant.values()) {
            Results first = null;
            for (int threads : Variants.THREADS) {
                Results got = new Results(c.with(variant, threads), want.yForBackward, want.savedForBackward);
                String where = variant + " at " + threads + " threads, " + c;
                if (threads <= 7) {
                    want.check(got, where);
                }
                if (first == null) {
                    first = got;
                } else {
                    first.assertBitwiseEqual(got, where);
                }
            }
        }
    }

    /**
     * Every row of each plan table ({@link Plan}) is taken by some shape and thread count that
     * {@link #everyVariantAndThreadCountMatchesTheReference} checks against the reference, so
     * every path runs against it. A path added to the tables without a shape here fails.
     */
    @Test
    void theShapesReachEveryPath() {
        List<Geometry> shapes = Stream.of(withAndWithoutRelu(), largePlanes(), affineOff())
                .flatMap(s -> s).map(Case::geometry).distinct().toList();
        for (Variant variant : new Variant[] {Variant.VECTORIZED, Variant.FUSED}) {
            Set<String> reduced = variant == Variant.FUSED
                    ? Set.of("ROWS ROW_CHUNKS ROW_CHUNKS", "PLANAR CHANNEL_GROUPS CHANNEL_GROUPS",
                            "PLANAR PLANES PLANE_RANGES", "PLANAR BLOCKS PLANE_RANGES", "PLANAR BLOCKS IMAGE_ROWS")
                    : Set.of("ROWS ROW_CHUNKS ROW_CHUNKS", "PLANAR BLOCKS BLOCKS");
            Set<String> inference = Set.of("ROWS NONE ROW_CHUNKS", "PLANAR NONE IMAGE_ROWS", "PLANAR NONE PLANE_RANGES");
            assertEquals(List.of(new TreeSet<>(reduced), new TreeSet<>(reduced), new TreeSet<>(inference)),
                    paths(variant, shapes, Variants.THREADS), variant + " paths: training forward, backward, inference");
        }
    }

    /** The paths the plans of {@code variant} take on these shapes and thread counts: training forward, backward, inference. */
    static List<Set<String>> paths(Variant variant, List<Geometry> shapes, int[] threadCounts) {
        Set<String> training = new TreeSet<>();
        Set<String> backward = new TreeSet<>();
        Set<String> inference = new TreeSet<>();
        for (int threads : threadCounts) {
            Tasks tasks = threads == 1 ? new Tasks(null, false) : new Tasks(new ForkJoinPool(threads - 1), true);
            for (Geometry g : shapes) {
                training.add(path(Plan.training(variant, g, tasks)));
                backward.add(path(Plan.backward(variant, g, tasks)));
                inference.add(path(Plan.inference(g)));
            }
        }
        return List.of(training, backward, inference);
    }

    private static String path(Plan plan) {
        return Stream.of(plan.layout(), plan.reduce(), plan.write()).map(Enum::name).collect(Collectors.joining(" "));
    }

    /** What the reference says every operation must give for one case. */
    private static final class Expected {
        final Case c;
        final Geometry g;
        final double[] x;
        final double tol;
        final Reference.Stats stats;
        final double[] y;
        final double[] inferenceY;
        final float[] runningMean = Data.uniform(5, 1024, -1, 1);
        final float[] runningVar = Data.uniform(6, 1024, 0.5, 2);
        final float[] dy;
        final float[] yForBackward;
        final io.github.batchnorm4j.BatchStatistics savedForBackward;
        final Reference.Gradients gradients;
        final Reference.Gradients frozenGradients;

        Expected(Case c) {
            this.c = c;
            this.g = c.geometry();
            Run naive = new Run(c, 42);
            this.x = naive.input();
            this.tol = Tolerance.forReduction(g.reductionSize());
            this.stats = Reference.statistics(x, g.outer(), g.channels(), g.inner());
            double eps = naive.parameters.epsilon();
            double[] gamma = c.referenceGamma(naive.gamma);
            double[] beta = c.referenceBeta(naive.beta);
            this.y = Reference.normalize(x, g.outer(), g.channels(), g.inner(), stats.mean(),
                    stats.variance(), gamma, beta, eps, c.relu());
            double[] rm = Data.toDouble(Arrays.copyOf(runningMean, g.channels()));
            double[] rv = Data.toDouble(Arrays.copyOf(runningVar, g.channels()));
            this.inferenceY = Reference.normalize(x, g.outer(), g.channels(), g.inner(), rm, rv, gamma, beta, eps, c.relu());
            // Backward reads y only for ReLU's mask; every variant gets the same y so one
            // reference serves them all.
            naive.forwardTraining();
            // Likewise the saved statistics: backward's inputs, which the reference takes as given.
            this.yForBackward = naive.y.clone();
            this.savedForBackward = naive.saved;
            this.dy = Data.gaussian(45, g.size(), 0.1, 1.0);
            boolean[] mask = naive.reluMask();
            this.gradients = Reference.backward(x, Data.toDouble(dy), mask, g.outer(), g.channels(),
                    g.inner(), Data.toDouble(naive.saved.mean()), Data.toDouble(naive.saved.invStd()), gamma, true);
            this.frozenGradients = Reference.backward(x, Data.toDouble(dy), mask, g.outer(), g.channels(),
                    g.inner(), rm, Reference.invStd(rv, eps), gamma, false);
        }

        void check(Results got, String where) {
            int m = Math.toIntExact(g.reductionSize());
            assertTensorClose(where + ": y", got.y, Run.Y_OFFSET, y, tol);
            double[] invStd = new double[g.channels()];
            double[] runningVar = new double[g.channels()];
            for (int ch = 0; ch < g.channels(); ch++) {
                double std = Math.sqrt(stats.variance()[ch]);
                invStd[ch] = stats.invStd(ch, got.run.parameters.epsilon());
                runningVar[ch] = 0.9 + 0.1 * stats.variance()[ch] * m / (m - 1);
                assertEquals(stats.mean()[ch], got.run.saved.mean()[ch],
                        tol * (Math.abs(stats.mean()[ch]) + std), where + ": mean[" + ch + "]");
                assertEquals(0.1 * stats.mean()[ch], got.runningMeanAfterTraining[ch],
                        tol * (0.1 * Math.abs(stats.mean()[ch]) + std), where + ": running mean[" + ch + "]");
            }
            assertRelativeClose(where + ": invStd", got.run.saved.invStd(), invStd, tol);
            assertRelativeClose(where + ": running variance", got.runningVarAfterTraining, runningVar, tol);
            assertTensorClose(where + ": inference y", got.inferenceY, Run.Y_OFFSET, inferenceY, Tolerance.forReduction(1));
            checkGradients(where, got.dx, got.gradients, gradients);
            checkGradients(where + " frozen", got.frozenDx, got.frozenGradients, frozenGradients);
        }

        private void checkGradients(String where, float[] dx, ParameterGradients got, Reference.Gradients want) {
            assertTermsClose(where + ": dx", dx, Run.DX_OFFSET, want.dx(), want.dxTerms(), tol);
            assertSumsClose(where + ": dbeta", got.dbeta(), want.dbeta(), want.dbetaAbs(), tol);
            assertSumsClose(where + ": dgamma", got.dgamma(), want.dgamma(), want.dgammaAbs(), tol);
        }
    }

    /** All four operations of one variant at one thread count. */
    private static final class Results {
        final Run run;
        final float[] y;
        final float[] runningMeanAfterTraining;
        final float[] runningVarAfterTraining;
        final float[] inferenceY;
        final ParameterGradients gradients;
        final float[] dx;
        final ParameterGradients frozenGradients;
        final float[] frozenDx;

        Results(Case c, float[] yForBackward, io.github.batchnorm4j.BatchStatistics savedForBackward) {
            Geometry g = c.geometry();
            run = new Run(c, 42);
            run.forwardTraining();
            y = run.y.clone();
            runningMeanAfterTraining = run.running.mean().clone();
            runningVarAfterTraining = run.running.variance().clone();

            float[] rm = Data.uniform(5, 1024, -1, 1);
            float[] rv = Data.uniform(6, 1024, 0.5, 2);
            System.arraycopy(rm, 0, run.running.mean(), 0, g.channels());
            System.arraycopy(rv, 0, run.running.variance(), 0, g.channels());
            Arrays.fill(run.y, Float.NaN);
            run.forwardInference();
            inferenceY = run.y.clone();

            System.arraycopy(yForBackward, 0, run.y, 0, run.y.length);
            System.arraycopy(savedForBackward.mean(), 0, run.saved.mean(), 0, g.channels());
            System.arraycopy(savedForBackward.invStd(), 0, run.saved.invStd(), 0, g.channels());
            float[] dy = Data.gaussian(45, g.size(), 0.1, 1.0);
            gradients = ParameterGradients.allocate(g.channels());
            dx = run.backward(dy, gradients, false);
            frozenGradients = ParameterGradients.allocate(g.channels());
            frozenDx = run.backward(dy, frozenGradients, true);
        }

        void assertBitwiseEqual(Results other, String where) {
            assertArrayEquals(y, other.y, where + ": y differs from 1 thread");
            assertArrayEquals(run.saved.mean(), other.run.saved.mean(), where + ": mean differs from 1 thread");
            assertArrayEquals(run.saved.invStd(), other.run.saved.invStd(), where + ": invStd differs from 1 thread");
            assertArrayEquals(runningVarAfterTraining, other.runningVarAfterTraining, where + ": running variance differs");
            assertArrayEquals(inferenceY, other.inferenceY, where + ": inference y differs from 1 thread");
            assertArrayEquals(dx, other.dx, where + ": dx differs from 1 thread");
            assertArrayEquals(gradients.dgamma(), other.gradients.dgamma(), where + ": dgamma differs from 1 thread");
            assertArrayEquals(gradients.dbeta(), other.gradients.dbeta(), where + ": dbeta differs from 1 thread");
            assertArrayEquals(frozenDx, other.frozenDx, where + ": frozen dx differs from 1 thread");
            assertArrayEquals(frozenGradients.dgamma(), other.frozenGradients.dgamma(), where + ": frozen dgamma differs");
        }
    }
}
