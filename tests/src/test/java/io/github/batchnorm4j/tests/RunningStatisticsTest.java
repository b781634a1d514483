package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** PyTorch's and Keras' running-statistics conventions, and PyTorch's one-value error. */
class RunningStatisticsTest {

    static Stream<Variant> variants() {
        return Variants.all();
    }

    @ParameterizedTest
    @MethodSource("variants")
    void pytorchTakesUnbiasedVarianceWithMomentumOnTheNewBatch(Variant variant) {
        Geometry g = Geometry.nchw(4, 3, 2, 2);
        float[] x = Data.gaussian(7, g.size(), 2.0, 3.0);
        RunningStatistics running = RunningStatistics.initial(3, RunningUpdate.pytorch(0.1));
        train(variant, g, x, running);

        Reference.Stats stats = Reference.statistics(Data.toDouble(x), 4, 3, 4);
        int m = 16;
        for (int c = 0; c < 3; c++) {
            assertEquals(0.9 * 0 + 0.1 * stats.mean()[c], running.mean()[c], 1e-6);
            assertEquals(0.9 * 1 + 0.1 * stats.variance()[c] * m / (m - 1), running.variance()[c], 1e-5);
        }
        assertEquals(1, running.batchesTracked());
    }

    @ParameterizedTest
    @MethodSource("variants")
    void kerasTakesBiasedVarianceWithMomentumOnTheOldValue(Variant variant) {
        Geometry g = Geometry.nhwc(4, 2, 2, 3);
        float[] x = Data.gaussian(8, g.size(), -1.0, 2.0);
        RunningStatistics running = RunningStatistics.initial(3, RunningUpdate.keras(0.99));
        train(variant, g, x, running);

        Reference.Stats stats = Reference.statistics(Data.toDouble(x), 16, 3, 1);
        for (int c = 0; c < 3; c++) {
            assertEquals(0.01 * stats.mean()[c], running.mean()[c], 1e-7);
            assertEquals(0.99 + 0.01 * stats.variance()[c], running.variance()[c], 1e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void cumulativeAverageIsTheMeanOfEveryBatchSoFar(Variant variant) {
        Geometry g = Geometry.nchw(3, 2, 3, 3);
        RunningStatistics running = RunningStatistics.initial(2, RunningUpdate.pytorchCumulativeAverage());
        double[] meanSum = new double[2];
        double[] varSum = new double[2];
        int m = 27;
        for (int batch = 1; batch <= 4; batch++) {
            float[] x = Data.gaussian(100 + batch, g.size(), batch, batch);
            train(variant, g, x, running);
            Reference.Stats stats = Reference.statistics(Data.toDouble(x), 3, 2, 9);
            for (int c = 0; c < 2; c++) {
                meanSum[c] += stats.mean()[c];
                varSum[c] += stats.variance()[c] * m / (m - 1);
                assertEquals(meanSum[c] / batch, running.mean()[c], 1e-5 * batch);
                assertEquals(varSum[c] / batch, running.variance()[c], 1e-5 * batch * batch);
            }
            assertEquals(batch, running.batchesTracked());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void oneValuePerChannelIsAnErrorInTraining(Variant variant) {
        Geometry single = Geometry.nchw(1, 3, 1, 1);
        RunningStatistics running = RunningStatistics.initial(3, RunningUpdate.pytorch(0.1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> train(variant, single, new float[] {1, 2, 3}, running));
        assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
        assertEquals(0, running.batchesTracked());

        // N == 1 is fine when H * W > 1: PyTorch raises only when N*H*W == 1.
        train(variant, Geometry.nchw(1, 3, 2, 2), Data.gaussian(3, 12, 0, 1), running);
        assertEquals(1, running.batchesTracked());
    }

    @ParameterizedTest
    @MethodSource("variants")
    void untrackedTrainingLeavesNoTrace(Variant variant) {
        Geometry g = Geometry.matrix(8, 2);
        float[] y = new float[Math.toIntExact(g.size())];
        BatchNorm bn = Variants.batchNorm(variant);
        bn.forwardTraining(g, Data.gaussian(5, 16, 0, 1), y, Parameters.none(), BatchStatistics.allocate(2), null);
        assertTrue(Math.abs(y[0]) > 0, "y was written");
    }

    private static void train(Variant variant, Geometry g, float[] x, RunningStatistics running) {
        Variants.batchNorm(variant).forwardTraining(g, x, new float[Math.toIntExact(g.size())], Parameters.none(),
                BatchStatistics.allocate(g.channels()), running);
    }
}
