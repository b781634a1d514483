package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
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

/**
 * Data that is hard on float, each case on every variant, both layout families and 1 and 3
 * threads, against the double reference: standard deviations of 1e18 to 1e30, an outlier first
 * in its channel, a mean whose rounding to float is as large as the spread, a variance far below
 * an epsilon of {@link Float#MIN_VALUE}, and means 1e4 standard deviations from 0.
 */
class HardDataTest {

    record Layout(String name, Geometry geometry) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases(Geometry planar, Geometry rows) {
        List<Arguments> cases = new ArrayList<>();
        for (Variant v : Variant.values()) {
            for (Layout layout : List.of(new Layout("planar " + planar, planar), new Layout("rows " + rows, rows))) {
                for (int threads : new int[] {1, 3}) {
                    cases.add(Arguments.of(v, layout, threads));
                }
            }
        }
        return cases.stream();
    }

    static Stream<Arguments> small() {
        return cases(Geometry.nchw(8, 3, 24, 24), Geometry.nhwc(8, 24, 24, 3));
    }

    static Stream<Arguments> oneLongChannel() {
        return cases(Geometry.ncl(1, 1, 1 << 20), Geometry.matrix(1 << 20, 1));
    }

    /** x of channel c at its k-th position, in any layout. */
    interface Values {
        double at(int c, int k);
    }

    static float[] tensor(Geometry g, Values values) {
        float[] x = new float[Math.toIntExact(g.size())];
        for (int k = 0; k < x.length; k++) {
            int c = k / g.inner() % g.channels();
            int position = k / (g.channels() * g.inner()) * g.inner() + k % g.inner();
            x[k] = (float) values.at(c, position);
        }
        return x;
    }

    /** Training forward with weight 1 on the batch and biased variance: the running variance is the batch's. */
    record Forward(float[] y, float[] mean, float[] invStd, float[] variance) {
        static Forward run(Variant variant, int threads, Geometry g, float[] x, Parameters p) {
            float[] y = new float[Math.toIntExact(g.size())];
            BatchStatistics saved = BatchStatistics.allocate(g.channels());
            RunningStatistics running = RunningStatistics.initial(g.channels(), RunningUpdate.exponential(1.0, false));
            Variants.batchNorm(variant, threads).forwardTraining(g, x, y, p, saved, running);
            return new Forward(y, saved.mean(), saved.invStd(), running.variance());
        }
    }

    private static void assertStatistics(Forward got, Reference.Stats want, double epsilon, double tol, boolean variance) {
        for (int c = 0; c < want.mean().length; c++) {
            double std = Math.sqrt(want.variance()[c]);
            assertEquals(want.mean()[c], got.mean()[c], tol * (Math.abs(want.mean()[c]) + std), "mean of channel " + c);
            double invStd = want.invStd(c, epsilon);
            assertEquals(invStd, got.invStd()[c], tol * invStd, "invStd of channel " + c);
            if (variance) {
                assertEquals(want.variance()[c], got.variance()[c], tol * want.variance()[c], "variance of channel " + c);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("small")
    void standardDeviationsOf1e18To1e30(Variant variant, Layout layout, int threads) {
        Geometry g = layout.geometry();
        double[] scales = {1e18, 1e24, 1e30};
        float[] noise = Data.gaussian(7, g.size(), 0.5, 1);
        float[] x = new float[Math.toIntExact(g.size())];
        for (int k = 0; k < x.length; k++) {
            x[k] = (float) (noise[k] * scales[k / g.inner() % g.channels()]);
        }
        Parameters p = Parameters.affine(new float[] {1, 2, 0.5f}, new float[] {0, 1, -1});
        Forward got = Forward.run(variant, threads, g, x, p);
        Reference.Stats want = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
        double tol = Tolerance.forReduction(g.reductionSize());
        assertStatistics(got, want, p.epsilon(), tol, false);
        // the variance of the first channel (1e36) is still a float; the others' are not
        assertEquals(want.variance()[0], got.variance()[0], tol * want.variance()[0], "variance of channel 0");
        assertEquals(Float.POSITIVE_INFINITY, got.variance()[2], "variance of channel 2, past the largest float");
        double[] y = Reference.normalize(Data.toDouble(x), g.outer(), g.channels(), g.inner(), want.mean(),
                want.variance(), Data.toDouble(p.gamma()), Data.toDouble(p.beta()), p.epsilon(), false);
        Tolerance.assertTensorClose("y", got.y(), 0, y, tol);
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("oneLongChannel")
    void anOutlierFirstInItsChannelCostsNoPrecision(Variant variant, Layout layout, int threads) {
        Geometry g = layout.geometry();
        float[] noise = Data.gaussian(8, g.size(), 0, 1);
        for (double outlier : new double[] {1e4, 10}) {
            float[] x = noise.clone();
            x[0] = (float) outlier;
            Forward got = Forward.run(variant, threads, g, x, Parameters.none());
            Reference.Stats want = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
            assertStatistics(got, want, Parameters.DEFAULT_EPSILON, Tolerance.forReduction(g.reductionSize()), true);
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("small")
    void aMeanWhoseRoundingIsAsLargeAsTheSpread(Variant variant, Layout layout, int threads) {
        Geometry g = layout.geometry();
        // 1e7 and 1e7 + 1 alternating: the mean 1e7 + 0.5 is no float, the variance 0.25 exactly
        float[] x = tensor(g, (c, k) -> 1e7 + k % 2);
        Forward got = Forward.run(variant, threads, g, x, Parameters.none());
        for (int c = 0; c < g.channels(); c++) {
            assertEquals(0.25f, got.variance()[c], "variance of channel " + c);
        }
        float[] noisy = Data.gaussian(9, g.size(), 1e7, 1);
        Reference.Stats want = Reference.statistics(Data.toDouble(noisy), g.outer(), g.channels(), g.inner());
        assertStatistics(Forward.run(variant, threads, g, noisy, Parameters.none()), want, Parameters.DEFAULT_EPSILON,
                Tolerance.forReduction(g.reductionSize()), true);
    }

    /**
     * Means of 1e4 and -3e5 standard deviations, and 1e7 + {0, 1}: normalizing with the mean
     * rounded to float would move y by up to 2^-24 |mean| / std (6e-4 at 1e4, where PyTorch's
     * y is 4.5e-4 off); y must be within the statistics' error and a few roundings of y, beta
     * and gamma.
     */
    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("small")
    void meansFarFromZeroCostYNoDigits(Variant variant, Layout layout, int threads) {
        Geometry g = layout.geometry();
        float[] noise = Data.gaussian(12, g.size(), 0, 1);
        double[] means = {1e4, -3e5};
        float[] x = tensor(g, (c, k) -> c == 2 ? 1e7 + k % 2 : 0);
        for (int k = 0; k < x.length; k++) {
            int c = k / g.inner() % g.channels();
            if (c < 2) {
                x[k] = (float) (means[c] + noise[k]);
            }
        }
        Parameters p = Parameters.affine(new float[] {1, 2, 0.5f}, new float[] {0, 1, -1});
        Forward got = Forward.run(variant, threads, g, x, p);
        Reference.Stats want = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
        double[] y = Reference.normalize(Data.toDouble(x), g.outer(), g.channels(), g.inner(), want.mean(),
                want.variance(), Data.toDouble(p.gamma()), Data.toDouble(p.beta()), p.epsilon(), false);
        double tol = Tolerance.forReduction(g.reductionSize());
        double u = Math.ulp(1.0f) / 2;
        for (int k = 0; k < y.length; k++) {
            int c = k / g.inner() % g.channels();
            double gamma = p.gamma()[c];
            double beta = p.beta()[c];
            double bound = tol * (Math.abs(y[k] - beta) + Math.abs(gamma)) + 4 * u * (Math.abs(y[k]) + Math.abs(beta) + 2 * Math.abs(gamma));
            assertEquals(y[k], got.y()[k], bound, "y[" + k + "] of channel " + c);
        }
    }

    static Stream<Arguments> gaussian() {
        List<Arguments> cases = new ArrayList<>();
        for (Variant v : Variant.values()) {
            for (Geometry g : List.of(Geometry.nchw(32, 8, 14, 14), Geometry.nhwc(32, 14, 14, 8),
                    Geometry.nhwc(32, 14, 14, 17), Geometry.nhwc(32, 14, 14, 64))) {
                for (int threads : new int[] {1, 3}) {
                    cases.add(Arguments.of(v, new Layout((g.inner() > 1 ? "planar " : "rows ") + g, g), threads));
                }
            }
        }
        return cases.stream();
    }

    /**
     * Gaussian data around means of 0, 1e4 and -3e5: y within {@link #Y_ULPS} units in the last
     * place of max(|y|, |gamma|) of the exact value, in both layout families, with channel counts
     * on and off the vector width. (Normalizing with the mean rounded to float, as PyTorch does,
     * is thousands of units off at mean 1e4.) Float sums that run many rows in line in the row
     * loops fail it in NHWC.
     */
    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("gaussian")
    void yWithinAFewUnitsInTheLastPlace(Variant variant, Layout layout, int threads) {
        Geometry g = layout.geometry();
        float[] noise = Data.gaussian(13, g.size(), 0, 1);
        for (double mean : new double[] {0, 1e4, -3e5}) {
            float[] x = new float[Math.toIntExact(g.size())];
            for (int k = 0; k < x.length; k++) {
                x[k] = (float) (mean + noise[k]);
            }
            Parameters p = Parameters.none();
            Forward got = Forward.run(variant, threads, g, x, p);
            Reference.Stats want = Reference.statistics(Data.toDouble(x), g.outer(), g.channels(), g.inner());
            double[] gamma = new double[g.channels()];
            java.util.Arrays.fill(gamma, 1);
            double[] y = Reference.normalize(Data.toDouble(x), g.outer(), g.channels(), g.inner(), want.mean(),
                    want.variance(), gamma, new double[g.channels()], p.epsilon(), false);
            for (int k = 0; k < y.length; k++) {
                double unit = Math.ulp((float) Math.max(Math.abs(y[k]), 1));
                assertEquals(y[k], got.y()[k], Y_ULPS * unit, "y[" + k + "] at mean " + mean);
            }
        }
    }

    /** How many units in the last place of max(|y|, |gamma|) training's y may be off. */
    static final int Y_ULPS = 6;

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("small")
    void aVarianceFarBelowTheSmallestEpsilon(Variant variant, Layout layout, int threads) {
        Geometry g = layout.geometry();
        float[] x = Data.gaussian(10, g.size(), 0, 1e-21);
        Parameters p = Parameters.affine(new float[] {1, 2, 0.5f}, new float[] {0, 1, -1}).withEpsilon(Float.MIN_VALUE);
        Forward forward = Forward.run(variant, threads, g, x, p);
        float[] dy = Data.gaussian(11, g.size(), 0, 1);
        float[] dx = new float[Math.toIntExact(g.size())];
        ParameterGradients gradients = ParameterGradients.allocate(g.channels());
        Variants.batchNorm(variant, threads).backward(g, x, null, dy, dx, p,
                BatchStatistics.of(forward.mean(), forward.invStd()), gradients);
        Reference.Gradients want = Reference.backward(Data.toDouble(x), Data.toDouble(dy), null, g.outer(), g.channels(),
                g.inner(), Data.toDouble(forward.mean()), Data.toDouble(forward.invStd()), Data.toDouble(p.gamma()), true);
        for (float v : dx) {
            assertTrue(Float.isFinite(v), "a dx is not finite");
        }
        double tol = Tolerance.forReduction(g.reductionSize());
        Tolerance.assertTermsClose("dx", dx, 0, want.dx(), want.dxTerms(), tol);
        Tolerance.assertSumsClose("dgamma", gradients.dgamma(), want.dgamma(), want.dgammaAbs(), tol);
    }
}
