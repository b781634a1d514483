package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Generated cases: shapes of rank 2 to 5 with the channel axis second or last, 1 to 1,100
 * channels (fewer and more than the threads), batches of 1, every variant, 2 to 7 threads, and
 * values that are hard on float: tiny variance, large means, magnitudes from 1e-30 to 1e30,
 * outliers, constant channels, signed zeros. Each case is checked against the double reference
 * (training forward, inference, backward) within the bounds stated per check below, and for the
 * same bits at 1 thread and at its thread count.
 *
 * <p>Each run of the suite tries {@value #TRIES} cases; {@code mvn verify} runs the suite three
 * times, with a different seed each time.
 */
class GeneratedCasesTest {
    static final int TRIES = 5000;
    /** Floats per generated tensor at most, to keep ten thousand cases within seconds. */
    static final int MAX_SIZE = 6000;
    static final double U = Math.ulp(1.0f) / 2;

    /** How a case's values are drawn, channel by channel. */
    enum Values {
        /** N(1.5, 2). */
        PLAIN,
        /** 1 + 1e-4 N(0, 1): variance far below epsilon. */
        TINY_VARIANCE,
        /** +-1e4 + N(0, 1): means 1e4 standard deviations from 0. */
        LARGE_MEAN,
        /** Each channel N(0, 1) times its own power of ten, from 1e-30 to 1e30. */
        MIXED_CHANNEL_SCALES,
        /** Each value N(0, 1) times a power of ten of its own, from 1e-30 to 1e30. */
        MIXED_MAGNITUDES,
        /** N(0, 1) with one value in a hundred 1e3 to 1e4 out, the channel's first one included. */
        OUTLIERS,
        /** Every other channel constant (one value per channel), the rest N(0, 1). */
        CONSTANT_CHANNELS,
        /** +0, -0 and a few values of +-1e-3. */
        SIGNED_ZEROS;

        /**
         * Whether float sums of these values meet the worst case of rounding, an error that grows
         * with the count of values rather than its square root (the random walk of
         * {@link Tolerance#forReduction}): a few values outweigh all the others, so each one
         * added after them rounds at their scale, or the values repeat, so the roundings do too.
         */
        boolean worstCaseRounding() {
            return this == OUTLIERS || this == MIXED_MAGNITUDES || this == SIGNED_ZEROS;
        }

        /** The error bound, relative to the size of the terms, of a reduction over m values. */
        double tolerance(int m) {
            return worstCaseRounding() ? 4 * Math.ulp(1.0f) * (16 + m) : Tolerance.forReduction(m);
        }

        float[] draw(Geometry g, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            int channels = g.channels();
            double[] scale = new double[channels];
            double[] constant = new double[channels];
            for (int c = 0; c < channels; c++) {
                scale[c] = Math.pow(10, random.nextInt(-30, 31));
                constant[c] = random.nextDouble(-100, 100);
            }
            float[] x = new float[Math.toIntExact(g.size())];
            for (int k = 0; k < x.length; k++) {
                int c = (k / g.inner()) % channels;
                boolean first = k / g.inner() / channels == 0 && k % g.inner() == 0;
                double n = Data.nextGaussian(random);
                x[k] = (float) switch (this) {
                    case PLAIN -> 1.5 + 2 * n;
                    case TINY_VARIANCE -> 1 + 1e-4 * n;
                    case LARGE_MEAN -> (c % 2 == 0 ? 1e4 : -1e4) + n;
                    case MIXED_CHANNEL_SCALES -> scale[c] * n;
                    case MIXED_MAGNITUDES -> Math.pow(10, random.nextInt(-30, 31)) * n;
                    case OUTLIERS -> first || random.nextInt(100) == 0 ? Math.copySign(random.nextDouble(1e3, 1e4), n) : n;
                    case CONSTANT_CHANNELS -> c % 2 == 0 ? constant[c] : n;
                    case SIGNED_ZEROS -> switch (random.nextInt(4)) {
                        case 0 -> 0.0;
                        case 1 -> -0.0;
                        default -> Math.copySign(1e-3, n);
                    };
                };
            }
            return x;
        }
    }

    /** One generated case. */
    record Scenario(int[] shape, int axis, Variant variant, int threads, Values values, long seed, boolean relu) {
        Geometry geometry() {
            return Geometry.ofShape(shape, axis);
        }

        @Override
        public String toString() {
            return variant + " " + Arrays.toString(shape) + " axis " + axis + ", " + threads + " threads, "
                    + values + " seed " + seed + (relu ? ", relu" : "");
        }
    }

    /**
     * A shape from the channels and the other dimensions, the largest other halved until the
     * tensor holds at most {@link #MAX_SIZE} floats; a channel keeps 2 values at least.
     */
    static int[] shape(int channels, List<Integer> others, boolean channelsLast) {
        int[] dims = others.stream().mapToInt(Integer::intValue).toArray();
        while ((long) channels * product(dims) > MAX_SIZE) {
            int largest = 0;
            for (int d = 1; d < dims.length; d++) {
                largest = dims[d] > dims[largest] ? d : largest;
            }
            dims[largest] = Math.max(1, dims[largest] / 2);
        }
        if (product(dims) < 2) {
            dims[0] = 2;
        }
        int[] shape = new int[dims.length + 1];
        int channelAxis = channelsLast ? dims.length : 1;
        for (int d = 0, k = 0; d < shape.length; d++) {
            shape[d] = d == channelAxis ? channels : dims[k++];
        }
        return shape;
    }

    static long product(int[] dims) {
        long p = 1;
        for (int d : dims) {
            p *= d;
        }
        return p;
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Integer> channels = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.integers().between(1, 16)),
                Tuple.of(3, Arbitraries.integers().between(17, 300)),
                Tuple.of(1, Arbitraries.integers().between(301, 1100)));
        Arbitrary<List<Integer>> others = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(1)),
                Tuple.of(6, Arbitraries.integers().between(2, 40)),
                Tuple.of(1, Arbitraries.integers().between(41, 3000))).list().ofMinSize(1).ofMaxSize(4);
        Arbitrary<Boolean> channelsLast = Arbitraries.of(false, true);
        return Combinators.combine(channels, others, channelsLast, Arbitraries.of(Variant.class),
                        Arbitraries.of(2, 3, 7), Arbitraries.of(Values.class), Arbitraries.longs(), Arbitraries.of(false, true))
                .as((c, o, last, variant, threads, values, seed, relu) -> new Scenario(shape(c, o, last),
                        last ? -1 : 1, variant, threads, values, seed, relu));
    }

    @Property(tries = TRIES)
    void everyCaseMatchesTheReferenceAndItsOwnBitsAtOneThread(@ForAll("scenarios") Scenario s) {
        Geometry g = s.geometry();
        float[] x = s.values().draw(g, s.seed());
        Outputs one = Outputs.of(Variants.batchNorm(s.variant(), 1), g, x, s);
        Outputs many = Outputs.of(Variants.batchNorm(s.variant(), s.threads()), g, x, s);
        one.assertSameBits(many);
        one.assertMatchReference(g, x, s);
    }

    /**
     * Shrunk cases the property found, each on every variant: channels of std 1e27 (float sums of
     * squares overflowed, and dx's coefficient of x - mean held invStd squared, which underflowed);
     * an outlier first in its channel (the shift of the sums); two values a channel, their mean
     * not a float (the variance around the rounded mean); a shift 3 standard deviations out on
     * plain data.
     */
    @Example
    void shrunkCasesThatFoundBugs() {
        List<Scenario> found = List.of(
                new Scenario(new int[] {2, 2}, 1, Variant.VECTORIZED, 2, Values.MIXED_CHANNEL_SCALES, 0, false),
                new Scenario(new int[] {30, 1}, 1, Variant.FUSED, 2, Values.OUTLIERS, -47, false),
                new Scenario(new int[] {2, 3}, 1, Variant.VECTORIZED, 2, Values.TINY_VARIANCE, 0, false),
                new Scenario(new int[] {5, 5, 14, 7}, -1, Variant.FUSED, 2, Values.PLAIN, -2654, false));
        for (Scenario s : found) {
            for (Variant v : Variant.values()) {
                everyCaseMatchesTheReferenceAndItsOwnBitsAtOneThread(
                        new Scenario(s.shape(), s.axis(), v, s.threads(), s.values(), s.seed(), s.relu()));
            }
        }
    }

    /** Everything one variant at one thread count makes of a case. */
    record Outputs(Parameters parameters, float[] y, float[] mean, float[] invStd, float[] runningVariance,
            float[] runningMean, float[] inferenceY, float[] dy, float[] dx, float[] dgamma, float[] dbeta) {

        static Outputs of(BatchNorm bn, Geometry g, float[] x, Scenario s) {
            int channels = g.channels();
            Parameters p = Parameters.affine(Data.uniform(s.seed() + 1, channels, 0.5, 2),
                    Data.uniform(s.seed() + 2, channels, -1, 1)).withRelu(s.relu());
            float[] y = new float[Math.toIntExact(g.size())];
            BatchStatistics saved = BatchStatistics.allocate(channels);
            RunningStatistics running = RunningStatistics.initial(channels, RunningUpdate.exponential(1.0, false));
            bn.forwardTraining(g, x, y, p, saved, running);
            float[] inferenceY = new float[Math.toIntExact(g.size())];
            bn.forwardInference(g, x, inferenceY, p, RunningStatistics.of(runningMean(s, channels),
                    runningVariance(s, channels), RunningUpdate.pytorch(0.1)));
            float[] dy = Data.gaussian(s.seed() + 5, g.size(), 0, 1);
            float[] dx = new float[Math.toIntExact(g.size())];
            ParameterGradients gradients = ParameterGradients.allocate(channels);
            bn.backward(g, x, y, dy, dx, p, saved, gradients);
            return new Outputs(p, y, saved.mean(), saved.invStd(), running.variance(), running.mean(), inferenceY, dy,
                    dx, gradients.dgamma(), gradients.dbeta());
        }

        static float[] runningMean(Scenario s, int channels) {
            return Data.uniform(s.seed() + 3, channels, -1, 1);
        }

        static float[] runningVariance(Scenario s, int channels) {
            return Data.uniform(s.seed() + 4, channels, 0.5, 2);
        }

        void assertSameBits(Outputs other) {
            String[] names = {"y", "mean", "invStd", "running variance", "inference y", "dx", "dgamma", "dbeta"};
            float[][] mine = {y, mean, invStd, runningVariance, inferenceY, dx, dgamma, dbeta};
            float[][] theirs = {other.y, other.mean, other.invStd, other.runningVariance, other.inferenceY,
                    other.dx, other.dgamma, other.dbeta};
            for (int k = 0; k < names.length; k++) {
                assertArrayEquals(mine[k], theirs[k], names[k] + " differs between 1 thread and more");
            }
        }

        void assertMatchReference(Geometry g, float[] x, Scenario s) {
            int channels = g.channels();
            int m = Math.toIntExact(g.reductionSize());
            double tol = s.values().tolerance(m);
            double eps = parameters.epsilon();
            double[] xd = Data.toDouble(x);
            Reference.Stats stats = Reference.statistics(xd, g.outer(), channels, g.inner());
            double[] gamma = Data.toDouble(parameters.gamma());
            double[] beta = Data.toDouble(parameters.beta());
            List<String> errors = new ArrayList<>();
            for (int c = 0; c < channels; c++) {
                double std = Math.sqrt(stats.variance()[c]);
                double invStdRef = stats.invStd(c, eps);
                // the mean comes from sums of x - K with K near it, so its error scales with the
                // spread, not with the mean; then it is rounded to float once
                check(errors, "mean", c, mean[c], stats.mean()[c], tol * std + U * Math.abs(stats.mean()[c]));
                check(errors, "invStd", c, invStd[c], invStdRef, tol * invStdRef);
                double variance = stats.variance()[c];
                if (variance <= Float.MAX_VALUE) {
                    check(errors, "running variance", c, runningVariance[c], variance, tol * variance + Float.MIN_VALUE);
                } else if (runningVariance[c] != Float.POSITIVE_INFINITY) {
                    errors.add("running variance[" + c + "] = " + runningVariance[c] + ", reference " + variance
                            + " is past the largest float");
                }
            }
            double[] yRef = Reference.normalize(xd, g.outer(), channels, g.inner(), stats.mean(), stats.variance(),
                    gamma, beta, eps, s.relu());
            for (int k = 0; k < yRef.length; k++) {
                int c = (k / g.inner()) % channels;
                // the statistics' error, relative to y - beta (invStd) and to gamma (the mean), and
                // a few roundings of y, beta and gamma, however far the mean lies from 0
                double bound = tol * (Math.abs(yRef[k] - beta[c]) + Math.abs(gamma[c]))
                        + 4 * U * (Math.abs(yRef[k]) + Math.abs(beta[c]) + 2 * Math.abs(gamma[c]));
                check(errors, "y", k, y[k], yRef[k], bound);
                if (errors.size() > 5) {
                    break;
                }
            }
            // inference: one multiply-add per element, its scale and shift rounded to float once
            double[] rm = Data.toDouble(runningMean(s, channels));
            double[] rv = Data.toDouble(runningVariance(s, channels));
            double[] inferenceRef = Reference.normalize(xd, g.outer(), channels, g.inner(), rm, rv, gamma, beta, eps, s.relu());
            double[] rInvStd = Reference.invStd(rv, eps);
            for (int k = 0; k < inferenceRef.length && errors.size() <= 5; k++) {
                int c = (k / g.inner()) % channels;
                double size = Math.abs(inferenceRef[k]) + Math.abs(gamma[c]) * rInvStd[c] * (Math.abs(xd[k]) + Math.abs(rm[c]))
                        + Math.abs(beta[c]);
                check(errors, "inference y", k, inferenceY[k], inferenceRef[k], 8 * U * size);
            }
            boolean[] mask = null;
            if (s.relu()) {
                mask = new boolean[y.length];
                for (int k = 0; k < y.length; k++) {
                    mask[k] = y[k] > 0;
                }
            }
            // backward takes the saved statistics as given, as a framework hands them over
            Reference.Gradients want = Reference.backward(xd, Data.toDouble(dy), mask, g.outer(), channels, g.inner(),
                    Data.toDouble(mean), Data.toDouble(invStd), gamma, true);
            for (int c = 0; c < channels; c++) {
                check(errors, "dbeta", c, dbeta[c], want.dbeta()[c], tol * want.dbetaAbs()[c] + Float.MIN_VALUE);
                check(errors, "dgamma", c, dgamma[c], want.dgamma()[c], tol * want.dgammaAbs()[c] + Float.MIN_VALUE);
            }
            for (int k = 0; k < dx.length && errors.size() <= 5; k++) {
                check(errors, "dx", k, dx[k], want.dx()[k], tol * want.dxTerms()[k] + Float.MIN_VALUE);
            }
            if (!errors.isEmpty()) {
                fail(s + ":\n" + String.join("\n", errors));
            }
        }

        static void check(List<String> errors, String what, int at, float got, double want, double bound) {
            if (!(Math.abs(got - want) <= bound) && !(got == want)) {
                errors.add(what + "[" + at + "] = " + got + ", reference " + want + ", error " + Math.abs(got - want)
                        + " > " + bound);
            }
        }
    }
}
