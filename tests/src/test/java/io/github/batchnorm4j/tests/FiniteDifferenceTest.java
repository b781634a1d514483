package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reference backward against central finite differences of the reference forward, in
 * double: loss L = sum(w * y) so that dy = w. This ties the reference backward equations to
 * the forward ones; AgreementTest ties every variant to the reference.
 */
class FiniteDifferenceTest {
    private static final double H = 1e-6;
    private static final double EPSILON = 1e-3;

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(3, 2, 4, false, true), Arguments.of(3, 2, 4, true, true),
                Arguments.of(6, 3, 1, false, true), Arguments.of(6, 3, 1, true, true),
                Arguments.of(2, 1, 5, false, true),
                Arguments.of(3, 2, 4, false, false), Arguments.of(3, 2, 4, true, false),
                Arguments.of(6, 3, 1, true, false));
    }

    @ParameterizedTest(name = "outer={0} C={1} inner={2} relu={3} batchStatistics={4}")
    @MethodSource("shapes")
    void backwardIsTheDerivativeOfForward(int outer, int channels, int inner, boolean relu, boolean batchStatistics) {
        int size = outer * channels * inner;
        double[] x = Data.toDouble(Data.gaussian(1, size, 0.3, 1.5));
        double[] w = Data.toDouble(Data.gaussian(2, size, 0.0, 1.0));
        double[] gamma = Data.toDouble(Data.uniform(3, channels, 0.5, 2.0));
        double[] beta = Data.toDouble(Data.uniform(4, channels, -1.0, 1.0));
        double[] runningMean = Data.toDouble(Data.uniform(5, channels, -0.5, 0.5));
        double[] runningVar = Data.toDouble(Data.uniform(6, channels, 0.5, 2.0));
        Loss loss = (xs, g, b) -> {
            double[] y = forward(xs, g, b, outer, channels, inner, relu, batchStatistics, runningMean, runningVar).y();
            double sum = 0;
            for (int k = 0; k < size; k++) {
                sum += w[k] * y[k];
            }
            return sum;
        };

        Forward at = forward(x, gamma, beta, outer, channels, inner, relu, batchStatistics, runningMean, runningVar);
        double[] mean = at.mean();
        double[] var = at.variance();
        double[] y = at.y();
        boolean[] mask = null;
        if (relu) {
            mask = new boolean[size];
            for (int k = 0; k < size; k++) {
                mask[k] = y[k] > 0;
            }
        }
        Reference.Gradients analytic = Reference.backward(x, w, mask, outer, channels, inner, mean,
                Reference.invStd(var, EPSILON), gamma, batchStatistics);

        for (int k = 0; k < size; k++) {
            double numeric = centralDifference(x, k, v -> loss.of(v, gamma, beta));
            assertEquals(numeric, analytic.dx()[k], 1e-6 * (1 + Math.abs(numeric)), "dx[" + k + "]");
        }
        for (int c = 0; c < channels; c++) {
            double dgamma = centralDifference(gamma, c, g -> loss.of(x, g, beta));
            double dbeta = centralDifference(beta, c, b -> loss.of(x, gamma, b));
            assertEquals(dgamma, analytic.dgamma()[c], 1e-6 * (1 + Math.abs(dgamma)), "dgamma[" + c + "]");
            assertEquals(dbeta, analytic.dbeta()[c], 1e-6 * (1 + Math.abs(dbeta)), "dbeta[" + c + "]");
        }
    }

    /** The statistics the forward normalized with, and its output. */
    private record Forward(double[] mean, double[] variance, double[] y) {}

    private static Forward forward(double[] x, double[] gamma, double[] beta, int outer, int channels, int inner,
            boolean relu, boolean batchStatistics, double[] runningMean, double[] runningVar) {
        double[] mean = runningMean;
        double[] var = runningVar;
        if (batchStatistics) {
            Reference.Stats stats = Reference.statistics(x, outer, channels, inner);
            mean = stats.mean();
            var = stats.variance();
        }
        return new Forward(mean, var, Reference.normalize(x, outer, channels, inner, mean, var, gamma, beta, EPSILON, relu));
    }

    private interface Loss {
        double of(double[] x, double[] gamma, double[] beta);
    }

    private static double centralDifference(double[] at, int k, java.util.function.ToDoubleFunction<double[]> f) {
        double[] plus = at.clone();
        double[] minus = at.clone();
        plus[k] += H;
        minus[k] -= H;
        return (f.applyAsDouble(plus) - f.applyAsDouble(minus)) / (2 * H);
    }
}
