package io.github.batchnorm4j.tests;

import static io.github.batchnorm4j.tests.SeedCasesTest.flatten;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm4j.layer.BatchNormLayer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed notebooks' layer experiments through {@link BatchNormLayer}: seed 000 (Keras 2.0.4:
 * training phase, test phase, parameter counts, the momentum 0.2 moving averages), the d2l
 * LeNet's parameter table (seed 003) and Keras 1's modes (seed 004). Printed numbers are
 * compared within what their two-decimal printing allows, as in {@link SeedCasesTest}.
 */
class LayerSeedTest {

    private static BatchNormLayer kerasDense(double momentum) {
        return BatchNormLayer.keras().axis(1).channels(5).momentum(momentum).epsilon(1e-4f).build();
    }

    @Test
    void trainingPhaseGivesThePrintedOutput() {
        BatchNormLayer layer = kerasDense(0.5);
        layer.setWeights(new float[] {5, 1, 1, 1, 1}, new float[] {10, 0, 0, 0, 0}, new float[5],
                new float[] {1, 1, 1, 1, 1});
        float[] y = new float[50];
        layer.train().forward(new int[] {10, 5}, flatten(SeedCasesTest.TRAINING_X), y);
        assertArrayEquals(flatten(SeedCasesTest.TRAINING_Y), y, 0.01f);
    }

    @Test
    void testPhaseWithUnitRunningStatisticsGivesThePrintedOutput() {
        BatchNormLayer layer = kerasDense(0.999);
        layer.setWeights(new float[] {1, 1, 1, 1, 1}, new float[5], new float[5], new float[] {1, 1, 1, 1, 1});
        float[] y = new float[50];
        layer.eval().forward(new int[] {10, 5}, flatten(SeedCasesTest.TRAINING_X), y);
        assertArrayEquals(flatten(SeedCasesTest.INFERENCE_Y), y, 0.0111f);
        assertArrayEquals(new float[5], layer.runningStatistics().mean(), "inference changes no running statistic");
    }

    @Test
    void parameterCountsAndInitializersAsKerasSummaryPrints() {
        BatchNormLayer dense = BatchNormLayer.keras().axis(1).channels(5).momentum(0.9).epsilon(1e-4f)
                .gammaInitializer(10).betaInitializer(11).movingMeanInitializer(12)
                .movingVarianceInitializer(13).build();
        assertEquals(10, dense.trainableParamCount());
        assertEquals(10, dense.nonTrainableParamCount());
        List<float[]> weights = dense.getWeights();
        assertEquals(4, weights.size());
        float[][] printed = {{10, 10, 10, 10, 10}, {11, 11, 11, 11, 11}, {12, 12, 12, 12, 12}, {13, 13, 13, 13, 13}};
        for (int k = 0; k < 4; k++) {
            assertArrayEquals(printed[k], weights.get(k), "model.get_weights()[" + k + "]");
        }
        Map<String, String> config = dense.getConfig();
        assertEquals("1", config.get("axis"));
        assertEquals("0.9", config.get("momentum"));
        assertEquals("1.0E-4", config.get("epsilon"));
        assertEquals("true", config.get("center"));
        assertEquals("true", config.get("scale"));

        BatchNormLayer conv = BatchNormLayer.keras().axis(1).channels(3).gammaInitializer(0)
                .betaInitializer(1).movingMeanInitializer(2).movingVarianceInitializer(3).build();
        assertEquals(6, conv.trainableParamCount());
        assertEquals(6, conv.nonTrainableParamCount());
        assertEquals("0.99", conv.getConfig().get("momentum"));
        assertEquals("0.001", conv.getConfig().get("epsilon"));
    }

    /** d2l's LeNet with batch norm: BatchNorm2d(6) has 24 parameters, BatchNorm2d(16) 64. */
    @Test
    void lenetTableCountsFourPerChannel() {
        assertEquals(24, total(BatchNormLayer.pytorch().channels(6).build()));
        assertEquals(64, total(BatchNormLayer.pytorch().channels(16).build()));
        assertEquals(480, total(BatchNormLayer.pytorch().channels(120).build()));
    }

    @Test
    void movingAveragesWithMomentumPointTwo() {
        BatchNormLayer layer = kerasDense(0.2);
        layer.forward(new int[] {10, 5}, flatten(SeedCasesTest.MOVING_X), new float[50], true);
        assertArrayEquals(SeedCasesTest.MOVING_MEAN, layer.runningStatistics().mean(), 0.006f);
        assertArrayEquals(SeedCasesTest.MOVING_VARIANCE, layer.runningStatistics().variance(), 0.02f);
    }

    /** Seed 004 mode 0: batch statistics in training, running ones in the test phase. */
    @Test
    void kerasOneModeZeroIsFeatureWise() {
        float[] x = flatten(SeedCasesTest.TRAINING_X);
        BatchNormLayer layer = BatchNormLayer.keras().axis(-1).channels(5).epsilon(1e-5f).mode(0).build();
        float[] y = new float[50];
        layer.forward(new int[] {10, 5}, x, y, true);
        Reference.Stats stats = Reference.statistics(Data.toDouble(x), 10, 5, 1);
        double[] ones = {1, 1, 1, 1, 1};
        Tolerance.assertTensorClose("mode 0 training", y, 0, Reference.normalize(Data.toDouble(x), 10, 5, 1,
                stats.mean(), stats.variance(), ones, new double[5], 1e-5, false), 1e-5);
        layer.forward(new int[] {10, 5}, x, y, false);
        double[] mean = new double[5];
        double[] variance = new double[5];
        for (int c = 0; c < 5; c++) {
            mean[c] = 0.01 * stats.mean()[c];
            variance[c] = 0.99 + 0.01 * stats.variance()[c];
        }
        Tolerance.assertTensorClose("mode 0 test", y, 0, Reference.normalize(Data.toDouble(x), 10, 5, 1,
                mean, variance, ones, new double[5], 1e-5, false), 1e-5);
    }

    /**
     * Seed 004 mode 1: {@code m = mean(x, -1)}, {@code std = sqrt(var(x, -1) + eps)},
     * {@code (x - m) / (std + eps) * gamma + beta}, the same in both phases.
     */
    @Test
    void kerasOneModeOneIsSampleWise() {
        float[] x = flatten(SeedCasesTest.TRAINING_X);
        float[] gamma = {0.5f, 1, 2, 3, 4};
        float[] beta = {1, 0, -1, 0.25f, 0};
        float epsilon = 0.01f;
        BatchNormLayer layer = BatchNormLayer.keras().channels(5).epsilon(epsilon).mode(1).build();
        layer.setWeights(gamma, beta, new float[5], new float[] {1, 1, 1, 1, 1});
        double[] want = new double[50];
        for (int n = 0; n < 10; n++) {
            double m = 0;
            for (int f = 0; f < 5; f++) {
                m += x[n * 5 + f] / 5.0;
            }
            double v = 0;
            for (int f = 0; f < 5; f++) {
                v += (x[n * 5 + f] - m) * (x[n * 5 + f] - m) / 5.0;
            }
            double std = Math.sqrt(v + epsilon);
            for (int f = 0; f < 5; f++) {
                want[n * 5 + f] = (x[n * 5 + f] - m) / (std + epsilon) * gamma[f] + beta[f];
            }
        }
        for (boolean training : new boolean[] {true, false}) {
            float[] y = new float[50];
            layer.forward(new int[] {10, 5}, x, y, training);
            Tolerance.assertTensorClose("mode 1, training " + training, y, 0, want, 1e-6);
        }
    }

    /** Seed 004 mode 2: batch statistics in the test phase too, running statistics untouched. */
    @Test
    void kerasOneModeTwoUsesBatchStatisticsInBothPhases() {
        float[] x = flatten(SeedCasesTest.TRAINING_X);
        BatchNormLayer layer = BatchNormLayer.keras().channels(5).epsilon(1e-5f).mode(2).build();
        Reference.Stats stats = Reference.statistics(Data.toDouble(x), 10, 5, 1);
        double[] want = Reference.normalize(Data.toDouble(x), 10, 5, 1, stats.mean(), stats.variance(),
                new double[] {1, 1, 1, 1, 1}, new double[5], 1e-5, false);
        for (boolean training : new boolean[] {true, false}) {
            float[] y = new float[50];
            layer.forward(new int[] {10, 5}, x, y, training);
            Tolerance.assertTensorClose("mode 2, training " + training, y, 0, want, 1e-5);
        }
        assertArrayEquals(new float[5], layer.runningStatistics().mean());
        float[] ones = new float[5];
        Arrays.fill(ones, 1f);
        assertArrayEquals(ones, layer.runningStatistics().variance());
    }

    private static int total(BatchNormLayer layer) {
        return layer.trainableParamCount() + layer.nonTrainableParamCount();
    }
}
