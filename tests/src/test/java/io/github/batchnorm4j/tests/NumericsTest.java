package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Statistics that survive a large mean; a constant channel normalizes to exactly beta. */
class NumericsTest {

    /**
     * In cache and over it (fused NCHW reduces a 1 MiB tensor by channel groups, a larger one
     * block by block where a block is a plane, plane by plane where planes are shorter).
     */
    static Stream<Arguments> largeShapes() {
        return everyVariant(Geometry.nchw(16, 4, 56, 56), Geometry.nchw(16, 8, 56, 56), Geometry.nchw(32, 16, 14, 14),
                Geometry.nchw(16, 24, 28, 28),
                Geometry.nhwc(16, 56, 56, 4), Geometry.matrix(4099, 3));
    }

    static Stream<Arguments> shapes() {
        return everyVariant(Geometry.nchw(3, 5, 7, 7), Geometry.nhwc(3, 7, 7, 17), Geometry.matrix(33, 64));
    }

    /** Every path of fused forward: whole channels in cache, blocks, planes, short planes, rows. */
    static Stream<Arguments> everyForwardPath() {
        return everyVariant(Geometry.nchw(3, 5, 7, 7), Geometry.nchw(16, 8, 56, 56), Geometry.nchw(16, 24, 28, 28),
                Geometry.nchw(32, 48, 14, 14), Geometry.nchw(4096, 17, 1, 7), Geometry.nhwc(3, 7, 7, 17),
                Geometry.nhwc(16, 56, 56, 4), Geometry.matrix(4099, 3), Geometry.matrix(33, 64));
    }

    private static Stream<Arguments> everyVariant(Geometry... geometries) {
        List<Arguments> result = new ArrayList<>();
        Variants.all().forEach(v -> {
            for (Geometry g : geometries) {
                result.add(Arguments.of(v, g));
            }
        });
        return result.stream();
    }

    @ParameterizedTest
    @MethodSource("largeShapes")
    void varianceOfLargeMeanDataWithinOneThousandth(Variant variant, Geometry g) {
        float[] x = Data.gaussian(99, g.size(), 1e4, 1.0);
        RunningStatistics running = assertVariance(variant, g, x, 1e-3);
        Reference.Stats stats = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
        for (int c = 0; c < g.channels(); c++) {
            assertEquals(stats.mean()[c], running.mean()[c], 1e-3, "mean of channel " + c);
        }
    }

    /**
     * Trains on x with weight 1 on the new batch and biased variance, so the running variance is
     * the batch variance itself, and checks it against the reference within a relative tolerance.
     */
    private static RunningStatistics assertVariance(Variant variant, Geometry g, float[] x, double relative) {
        RunningStatistics running = RunningStatistics.initial(g.channels(), RunningUpdate.exponential(1.0, false));
        Variants.batchNorm(variant).forwardTraining(g, x, new float[Math.toIntExact(g.size())], Parameters.none(),
                BatchStatistics.allocate(g.channels()), running);
        Reference.Stats stats = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
        for (int c = 0; c < g.channels(); c++) {
            double want = stats.variance()[c];
            assertEquals(want, running.variance()[c], relative * want, "variance of channel " + c);
        }
        return running;
    }

    /**
     * The kernels shift sums by a channel's first value; an outlier there (1000 standard
     * deviations out) must not cost the variance its precision.
     */
    @ParameterizedTest
    @MethodSource("largeShapes")
    void outlierFirstValueKeepsTheVariancePrecise(Variant variant, Geometry g) {
        float[] x = Data.gaussian(98, g.size(), 0.0, 1.0);
        for (int c = 0; c < g.channels(); c++) {
            x[c * g.inner()] = 1000f;
        }
        assertVariance(variant, g, x, 1e-4);
    }

    /**
     * Every third channel constant at a small value, among Gaussian channels. Fused normalizes
     * most channels as x * scale + shift, which would round a constant channel's y away from
     * beta (its scale is about 300 gamma: 1 / sqrt(epsilon)); the constant ones must still give
     * exactly beta, the others the reference, at every thread count, bit for bit.
     */
    @ParameterizedTest
    @MethodSource("everyForwardPath")
    void constantChannelsAmongOthersGiveExactlyBetaAtEveryThreadCount(Variant variant, Geometry g) {
        float[] x = Data.gaussian(97, g.size(), 0.5, 1.0);
        for (int k = 0; k < x.length; k++) {
            int c = (k / g.inner()) % g.channels();
            if (c % 3 == 0) {
                x[k] = 1e-4f * (c % 7 + 1);
            }
        }
        float[] gamma = Data.uniform(1, g.channels(), 0.5, 2);
        float[] beta = Data.uniform(2, g.channels(), -1, 1);
        Parameters parameters = Parameters.affine(gamma, beta);
        Reference.Stats stats = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
        double[] want = Reference.normalize(Data.toDouble(x), g.outer(), g.channels(), g.inner(), stats.mean(),
                stats.variance(), Data.toDouble(gamma), Data.toDouble(beta), parameters.epsilon(), false);
        float[] first = null;
        for (int threads : Variants.THREADS) {
            float[] y = new float[Math.toIntExact(g.size())];
            Variants.batchNorm(variant, threads).forwardTraining(g, x, y, parameters,
                    BatchStatistics.allocate(g.channels()), null);
            String where = variant + " at " + threads + " threads, " + g;
            for (int k = 0; k < y.length; k++) {
                int c = (k / g.inner()) % g.channels();
                if (c % 3 == 0) {
                    assertEquals(beta[c], y[k], 0f, where + ": y[" + k + "] of constant channel " + c);
                }
            }
            Tolerance.assertTensorClose(where + ": y", y, 0, want, Tolerance.forReduction(g.reductionSize()));
            if (first == null) {
                first = y;
            } else {
                assertArrayEquals(first, y, where + ": y differs from 1 thread");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void constantChannelGivesExactlyBeta(Variant variant, Geometry g) {
        float[] x = new float[Math.toIntExact(g.size())];
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < g.channels(); c++) {
                for (int i = 0; i < g.inner(); i++) {
                    x[(o * g.channels() + c) * g.inner() + i] = 3.7f + 1000f * c;
                }
            }
        }
        float[] gamma = Data.uniform(1, g.channels(), 0.5, 2);
        float[] beta = Data.uniform(2, g.channels(), -1, 1);
        float[] y = new float[Math.toIntExact(g.size())];
        Variants.batchNorm(variant).forwardTraining(g, x, y, Parameters.affine(gamma, beta),
                BatchStatistics.allocate(g.channels()), null);
        for (int k = 0; k < y.length; k++) {
            int c = (k / g.inner()) % g.channels();
            assertEquals(beta[c], y[k], 0f, "y[" + k + "] of constant channel " + c);
        }
    }
}
