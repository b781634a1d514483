package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The numbers printed in the notebooks of shared/seeds, reproduced. The inputs were printed with
 * two decimals, so outputs are compared within what that rounding allows (measured: 0.007 for
 * y, 0.004 for the moving mean, 0.010 for the moving variance); a wrong formula misses by far more.
 */
class SeedCasesTest {

    /** Seed 000, "Execução na fase de treinamento": Keras 2.0.4, x = random(10, 5) * 20. */
    static final float[][] TRAINING_X = {
        {6.44f, 6.55f, 18.55f, 6.23f, 3.24f}, {7.28f, 10.58f, 15.78f, 17.51f, 12.73f},
        {19.79f, 16.32f, 0.83f, 4.06f, 3.05f}, {15.06f, 9.1f, 19.09f, 18.75f, 2.71f},
        {4.72f, 6.3f, 13.45f, 12.41f, 12.44f}, {16.76f, 12.62f, 11.22f, 19.74f, 13.66f},
        {2.03f, 18.8f, 13.03f, 4.55f, 8.64f}, {7.8f, 15.12f, 2.85f, 0.2f, 16.76f},
        {2.18f, 4.98f, 9.52f, 17.68f, 3.55f}, {15.72f, 0.7f, 12.17f, 6.17f, 15.4f}};
    static final float[][] TRAINING_Y = {
        {7.28f, -0.66f, 1.21f, -0.65f, -1.12f}, {7.97f, 0.09f, 0.73f, 0.98f, 0.66f},
        {18.16f, 1.16f, -1.9f, -0.97f, -1.15f}, {14.3f, -0.19f, 1.31f, 1.16f, -1.22f},
        {5.88f, -0.71f, 0.32f, 0.24f, 0.6f}, {15.68f, 0.47f, -0.08f, 1.3f, 0.83f},
        {3.69f, 1.62f, 0.24f, -0.89f, -0.11f}, {8.39f, 0.93f, -1.54f, -1.52f, 1.41f},
        {3.81f, -0.95f, -0.37f, 1.01f, -1.06f}, {14.84f, -1.75f, 0.09f, -0.66f, 1.16f}};
    /** The test-phase output, printed: x / sqrt(1 + 1e-4) rounded (8.64 -> 8.63, 15.12 -> 15.11). */
    static final float[][] INFERENCE_Y = {
        {6.44f, 6.55f, 18.55f, 6.23f, 3.24f}, {7.28f, 10.58f, 15.78f, 17.51f, 12.73f},
        {19.79f, 16.32f, 0.83f, 4.06f, 3.05f}, {15.06f, 9.1f, 19.09f, 18.75f, 2.71f},
        {4.72f, 6.3f, 13.45f, 12.41f, 12.44f}, {16.76f, 12.62f, 11.22f, 19.74f, 13.66f},
        {2.03f, 18.8f, 13.03f, 4.55f, 8.63f}, {7.8f, 15.11f, 2.85f, 0.2f, 16.76f},
        {2.18f, 4.98f, 9.52f, 17.68f, 3.55f}, {15.72f, 0.7f, 12.17f, 6.17f, 15.4f}};
    /** Seed 000, "Verificando o cálculo das médias móveis": nr.seed(234588), momentum 0.2. */
    static final float[][] MOVING_X = {
        {1.74f, 4.4f, 7.11f, 15.93f, 7.74f}, {15.79f, 16.52f, 3.59f, 8.45f, 0.57f},
        {6.19f, 1.2f, 19.06f, 9.33f, 6.74f}, {14.86f, 8.33f, 19.11f, 12.7f, 10.43f},
        {6.52f, 11.71f, 0.5f, 11.32f, 17.42f}, {2.81f, 6.7f, 15.46f, 13.86f, 18.72f},
        {19.9f, 5.29f, 15.4f, 6.41f, 5.52f}, {15.81f, 4.68f, 0.07f, 0.84f, 11.68f},
        {13.75f, 17.97f, 17.19f, 6.23f, 12.38f}, {1.05f, 18.93f, 1.34f, 6.03f, 2.17f}};
    static final float[] MOVING_MEAN = {7.87f, 7.66f, 7.91f, 7.29f, 7.47f};
    static final float[] MOVING_VARIANCE = {34.54f, 28.98f, 47.32f, 14.66f, 25.91f};

    static java.util.stream.Stream<Variant> variants() {
        return Variants.all();
    }

    @ParameterizedTest
    @MethodSource("variants")
    void trainingPhaseOutputHasBetaMeanAndGammaStd(Variant variant) {
        Geometry g = Geometry.matrix(10, 5);
        float[] gamma = {5, 1, 1, 1, 1};
        float[] beta = {10, 0, 0, 0, 0};
        float[] y = new float[Math.toIntExact(g.size())];
        Variants.batchNorm(variant).forwardTraining(g, flatten(TRAINING_X), y,
                Parameters.affine(gamma, beta).withEpsilon(1e-4f), BatchStatistics.allocate(5),
                RunningStatistics.initial(5, RunningUpdate.keras(0.5)));

        assertArrayEquals(flatten(TRAINING_Y), y, 0.01f);
        for (int c = 0; c < 5; c++) {
            double mean = 0;
            for (int n = 0; n < 10; n++) {
                mean += y[n * 5 + c] / 10.0;
            }
            double variance = 0;
            for (int n = 0; n < 10; n++) {
                variance += (y[n * 5 + c] - mean) * (y[n * 5 + c] - mean) / 10;
            }
            assertEquals(beta[c], mean, 1e-5, "mean of y = beta");
            assertEquals(gamma[c], Math.sqrt(variance), 1e-4 * gamma[c], "std of y = gamma");
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void testPhaseWithUnitRunningStatisticsIsIdentity(Variant variant) {
        Geometry g = Geometry.matrix(10, 5);
        float[] y = new float[Math.toIntExact(g.size())];
        float[] ones = {1, 1, 1, 1, 1};
        Variants.batchNorm(variant).forwardInference(g, flatten(TRAINING_X), y,
                Parameters.affine(ones, new float[5]).withEpsilon(1e-4f),
                RunningStatistics.initial(5, RunningUpdate.keras(0.999)));
        // Inputs and outputs were each rounded to 0.01 when printed: 0.005 + 0.005, plus x * 5e-5.
        assertArrayEquals(flatten(INFERENCE_Y), y, 0.0111f);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void kerasMovingAveragesWithMomentumPointTwo(Variant variant) {
        Geometry g = Geometry.matrix(10, 5);
        RunningStatistics running = RunningStatistics.initial(5, RunningUpdate.keras(0.2));
        float[] ones = {1, 1, 1, 1, 1};
        Variants.batchNorm(variant).forwardTraining(g, flatten(MOVING_X), new float[Math.toIntExact(g.size())],
                Parameters.affine(ones, new float[5]).withEpsilon(1e-4f), BatchStatistics.allocate(5), running);
        assertArrayEquals(MOVING_MEAN, running.mean(), 0.006f);
        assertArrayEquals(MOVING_VARIANCE, running.variance(), 0.02f);
    }

    /** Seed 001: x = normal(5, 2, (100, 2)), gamma 1, beta 0, eps 1e-8 gives mean 0, variance 1. */
    @ParameterizedTest
    @MethodSource("variants")
    void normalizedColumnsHaveZeroMeanUnitVariance(Variant variant) {
        Geometry g = Geometry.matrix(100, 2);
        float[] x = Data.gaussian(1, g.size(), 5.0, 2.0);
        float[] y = new float[Math.toIntExact(g.size())];
        Variants.batchNorm(variant).forwardTraining(g, x, y,
                Parameters.affine(new float[] {1, 1}, new float[2]).withEpsilon(1e-8f),
                BatchStatistics.allocate(2), null);
        for (int c = 0; c < 2; c++) {
            double mean = 0;
            double squares = 0;
            for (int n = 0; n < 100; n++) {
                mean += y[n * 2 + c] / 100.0;
                squares += (double) y[n * 2 + c] * y[n * 2 + c] / 100.0;
            }
            assertEquals(0, mean, 1e-6);
            assertEquals(1, squares - mean * mean, 1e-5);
        }
    }

    static float[] flatten(float[][] rows) {
        float[] flat = new float[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * rows[r].length, rows[r].length);
        }
        return flat;
    }
}
