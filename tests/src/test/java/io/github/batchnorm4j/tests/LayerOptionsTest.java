package io.github.batchnorm4j.tests;

import static io.github.batchnorm4j.tests.LayerReference.dot;
import static io.github.batchnorm4j.tests.LayerReference.gradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.layer.BatchNormLayer;
import io.github.batchnorm4j.layer.Folded;
import org.junit.jupiter.api.Test;

/** Each option of {@link BatchNormLayer} against a double-precision reference of its formula. */
class LayerOptionsTest {
    private static final int N = 6;
    private static final int C = 3;
    private static final int HW = 4;
    private static final int[] SHAPE = {N, C, 2, 2};
    private static final int SIZE = N * C * HW;
    private static final float EPS = 1e-3f;

    private static final float[] X = Data.gaussian(11, SIZE, 0.4, 1.7);
    private static final float[] W = Data.gaussian(12, SIZE, 0, 1);
    private static final float[] GAMMA = {0.5f, 1.5f, -2f};
    private static final float[] BETA = {0.25f, -1f, 0.5f};

    private static BatchNormLayer.Builder nchw() {
        return BatchNormLayer.pytorch().channels(C).epsilon(EPS);
    }

    @Test
    void renormWithUnitClippingIsPlainBatchNorm() {
        BatchNormLayer renorm = nchw().renorm(true).renormClipping(1, 1, 0).build();
        BatchNormLayer plain = nchw().build();
        float[] far = {5, -3, 2};
        renorm.setWeights(GAMMA, BETA, new float[C], new float[] {1, 1, 1}, far, new float[] {7, 0.1f, 3});
        plain.setWeights(GAMMA, BETA, new float[C], new float[] {1, 1, 1});
        float[] y1 = new float[SIZE];
        float[] y2 = new float[SIZE];
        renorm.forward(SHAPE, X, y1, true);
        plain.forward(SHAPE, X, y2, true);
        Tolerance.assertTensorClose("y", y1, 0, Data.toDouble(y2), 1e-6);
        float[] dx1 = new float[SIZE];
        float[] dx2 = new float[SIZE];
        renorm.backward(W, dx1);
        plain.backward(W, dx2);
        Tolerance.assertTensorClose("dx", dx1, 0, Data.toDouble(dx2), 1e-5);
        Tolerance.assertTensorClose("dgamma", renorm.gammaGradient(), 0, Data.toDouble(plain.gammaGradient()), 1e-5);
        Tolerance.assertTensorClose("dbeta", renorm.betaGradient(), 0, Data.toDouble(plain.betaGradient()), 1e-5);
    }

    @Test
    void renormMatchesItsFormulaAndFiniteDifferences() {
        float[] renormMean = {0.1f, 1.5f, -0.2f};
        float[] renormStddev = {1.2f, 0.9f, 4f};
        BatchNormLayer layer = nchw().renorm(true).renormClipping(1.5, 0.7, 0.5).renormMomentum(0.9).build();
        layer.setWeights(GAMMA, BETA, new float[C], new float[] {1, 1, 1}, renormMean, renormStddev);
        float[] y = new float[SIZE];
        layer.forward(SHAPE, X, y, true);

        double[] x = Data.toDouble(X);
        Reference.Stats stats = Reference.statistics(x, N, C, HW);
        double[] r = new double[C];
        double[] d = new double[C];
        boolean clipped = false;
        for (int c = 0; c < C; c++) {
            double sigma = Math.sqrt(stats.variance()[c] + EPS);
            double rawR = sigma / renormStddev[c];
            double rawD = (stats.mean()[c] - renormMean[c]) / renormStddev[c];
            r[c] = Math.min(Math.max(rawR, 0.7), 1.5);
            d[c] = Math.min(Math.max(rawD, -0.5), 0.5);
            clipped |= r[c] != rawR || d[c] != rawD;
        }
        assertTrue(clipped, "the data must exercise the clipping");
        double[] gamma = Data.toDouble(GAMMA);
        double[] beta = Data.toDouble(BETA);
        double[] want = LayerReference.forward(x, 0, N, C, HW, gamma, beta, EPS, r, d);
        Tolerance.assertTensorClose("renorm y", y, 0, want, 1e-5);

        for (int c = 0; c < C; c++) {
            double sigma = Math.sqrt(stats.variance()[c] + EPS);
            assertEquals(0.9 * renormMean[c] + 0.1 * stats.mean()[c], layer.renormMean()[c], 1e-6);
            assertEquals(0.9 * renormStddev[c] + 0.1 * sigma, layer.renormStddev()[c], 1e-6);
            assertEquals(0.1 * stats.mean()[c], layer.runningStatistics().mean()[c], 1e-6, "moving mean");
        }

        // r and d are constants in backward: differentiate the formula with them held.
        float[] dx = new float[SIZE];
        layer.backward(W, dx);
        double[] w = Data.toDouble(W);
        Tolerance.assertTensorClose("renorm dx", dx, 0,
                gradient(x, v -> dot(w, LayerReference.forward(v, 0, N, C, HW, gamma, beta, EPS, r, d))), 1e-4);
        Tolerance.assertTensorClose("renorm dgamma", layer.gammaGradient(), 0,
                gradient(gamma, g -> dot(w, LayerReference.forward(x, 0, N, C, HW, g, beta, EPS, r, d))), 1e-4);
        Tolerance.assertTensorClose("renorm dbeta", layer.betaGradient(), 0,
                gradient(beta, b -> dot(w, LayerReference.forward(x, 0, N, C, HW, gamma, b, EPS, r, d))), 1e-4);
    }

    @Test
    void ghostBatchNormIsBatchNormPerVirtualBatch() {
        BatchNormLayer ghost = nchw().virtualBatchSize(2).build();
        ghost.setWeights(GAMMA, BETA, new float[C], new float[] {1, 1, 1});
        float[] y = new float[SIZE];
        ghost.forward(SHAPE, X, y, true);

        int groupSize = 2 * C * HW;
        double[] x = Data.toDouble(X);
        double[] gamma = Data.toDouble(GAMMA);
        double[] beta = Data.toDouble(BETA);
        Tolerance.assertTensorClose("ghost y", y, 0, LayerReference.ghost(x, 3, N, C, HW, gamma, beta, EPS), 1e-5);

        // The running update is the mean of the three groups' updates (PyTorch rule, momentum 0.1).
        for (int c = 0; c < C; c++) {
            double mean = 0;
            double variance = 0;
            for (int k = 0; k < 3; k++) {
                Reference.Stats s = Reference.statistics(
                        java.util.Arrays.copyOfRange(x, k * groupSize, (k + 1) * groupSize), 2, C, HW);
                mean += s.mean()[c] / 3;
                variance += s.variance()[c] * 8 / 7 / 3;
            }
            assertEquals(0.1 * mean, ghost.runningStatistics().mean()[c], 1e-6, "running mean");
            assertEquals(0.9 + 0.1 * variance, ghost.runningStatistics().variance()[c], 1e-6, "running variance");
        }

        float[] dx = new float[SIZE];
        ghost.backward(W, dx);
        double[] w = Data.toDouble(W);
        Tolerance.assertTensorClose("ghost dx", dx, 0,
                gradient(x, v -> dot(w, LayerReference.ghost(v, 3, N, C, HW, gamma, beta, EPS))), 1e-4);
        Tolerance.assertTensorClose("ghost dgamma", ghost.gammaGradient(), 0,
                gradient(gamma, g -> dot(w, LayerReference.ghost(x, 3, N, C, HW, g, beta, EPS))), 1e-4);
        Tolerance.assertTensorClose("ghost dbeta", ghost.betaGradient(), 0,
                gradient(beta, b -> dot(w, LayerReference.ghost(x, 3, N, C, HW, gamma, b, EPS))), 1e-4);
    }

    @Test
    void sampleWiseBackwardMatchesFiniteDifferences() {
        int rows = 7;
        int features = 5;
        float epsilon = 0.05f;
        float[] xf = Data.gaussian(21, rows * features, 1, 2);
        float[] wf = Data.gaussian(22, rows * features, 0, 1);
        float[] gf = {0.5f, 1, 2, -1, 3};
        float[] bf = {0, 1, 0, -1, 0.5f};
        BatchNormLayer layer = BatchNormLayer.keras().channels(features).epsilon(epsilon).mode(1).build();
        layer.setWeights(gf, bf, new float[features], new float[] {1, 1, 1, 1, 1});
        layer.forward(new int[] {rows, features}, xf, new float[rows * features], true);
        float[] dx = new float[rows * features];
        layer.backward(wf, dx);

        double[] x = Data.toDouble(xf);
        double[] w = Data.toDouble(wf);
        double[] gamma = Data.toDouble(gf);
        double[] beta = Data.toDouble(bf);
        java.util.function.BiFunction<double[], double[][], double[]> forward = (v, gb) -> {
            double[] y = new double[v.length];
            for (int n = 0; n < rows; n++) {
                double m = 0;
                for (int f = 0; f < features; f++) {
                    m += v[n * features + f] / features;
                }
                double var = 0;
                for (int f = 0; f < features; f++) {
                    var += (v[n * features + f] - m) * (v[n * features + f] - m) / features;
                }
                double divisor = Math.sqrt(var + epsilon) + epsilon;
                for (int f = 0; f < features; f++) {
                    y[n * features + f] = gb[0][f] * (v[n * features + f] - m) / divisor + gb[1][f];
                }
            }
            return y;
        };
        Tolerance.assertTensorClose("mode 1 dx", dx, 0,
                gradient(x, v -> dot(w, forward.apply(v, new double[][] {gamma, beta}))), 1e-4);
        Tolerance.assertTensorClose("mode 1 dgamma", layer.gammaGradient(), 0,
                gradient(gamma, g -> dot(w, forward.apply(x, new double[][] {g, beta}))), 1e-4);
        Tolerance.assertTensorClose("mode 1 dbeta", layer.betaGradient(), 0,
                gradient(beta, b -> dot(w, forward.apply(x, new double[][] {gamma, b}))), 1e-4);
    }

    @Test
    void gradientsAccumulateUntilZeroed() {
        BatchNormLayer layer = nchw().build();
        layer.forward(SHAPE, X, new float[SIZE], true);
        layer.backward(W, new float[SIZE]);
        float[] once = layer.gammaGradient().clone();
        layer.backward(W, new float[SIZE]);
        for (int c = 0; c < C; c++) {
            assertEquals(2 * once[c], layer.gammaGradient()[c], 1e-5 * (1 + Math.abs(once[c])));
        }
        layer.zeroGradients();
        assertArrayEquals(new float[C], layer.gammaGradient());
        assertArrayEquals(new float[C], layer.betaGradient());
    }

    /** An inference forward, then backward: dx = dy * gamma / sqrt(runningVar + eps). */
    @Test
    void backwardAfterInferenceGoesThroughFrozenStatistics() {
        BatchNormLayer layer = nchw().build();
        float[] runningVar = {0.5f, 2f, 4f};
        layer.setWeights(GAMMA, BETA, new float[] {0.1f, 0.2f, 0.3f}, runningVar);
        layer.eval().forward(SHAPE, X, new float[SIZE]);
        float[] dx = new float[SIZE];
        layer.backward(W, dx);
        double[] want = new double[SIZE];
        for (int k = 0; k < SIZE; k++) {
            int c = (k / HW) % C;
            want[k] = W[k] * GAMMA[c] / Math.sqrt(runningVar[c] + EPS);
        }
        Tolerance.assertTensorClose("frozen dx", dx, 0, want, 1e-6);
    }

    @Test
    void pytorchCumulativeAverageWeighsEveryBatchAlike() {
        BatchNormLayer layer = nchw().runningUpdate(RunningUpdate.pytorchCumulativeAverage()).build();
        double[] meanSum = new double[C];
        double[] varSum = new double[C];
        for (int t = 0; t < 3; t++) {
            float[] x = Data.gaussian(30 + t, SIZE, t, 1 + t);
            layer.forward(SHAPE, x, new float[SIZE], true);
            Reference.Stats s = Reference.statistics(Data.toDouble(x), N, C, HW);
            for (int c = 0; c < C; c++) {
                meanSum[c] += s.mean()[c];
                varSum[c] += s.variance()[c] * SIZE / C / (SIZE / C - 1.0);
            }
        }
        for (int c = 0; c < C; c++) {
            assertEquals(meanSum[c] / 3, layer.runningStatistics().mean()[c], 1e-5);
            assertEquals(varSum[c] / 3, layer.runningStatistics().variance()[c], 1e-5);
        }
        assertEquals("None", layer.getConfig().get("momentum"));
    }

    @Test
    void withoutRunningStatisticsInferenceUsesTheBatch() {
        BatchNormLayer layer = nchw().trackRunningStats(false).build();
        assertNull(layer.runningStatistics());
        assertEquals(2, layer.getWeights().size());
        assertEquals(0, layer.nonTrainableParamCount());
        layer.setWeights(GAMMA, BETA);
        float[] y = new float[SIZE];
        layer.eval().forward(SHAPE, X, y);
        Reference.Stats s = Reference.statistics(Data.toDouble(X), N, C, HW);
        Tolerance.assertTensorClose("eval y", y, 0, Reference.normalize(Data.toDouble(X), N, C, HW, s.mean(),
                s.variance(), Data.toDouble(GAMMA), Data.toDouble(BETA), EPS, false), 1e-5);
    }

    @Test
    void withoutAffineTheOutputIsXhat() {
        BatchNormLayer layer = nchw().affine(false).build();
        assertNull(layer.gamma());
        assertNull(layer.gammaGradient());
        assertEquals(0, layer.trainableParamCount());
        assertEquals(2, layer.getWeights().size());
        float[] y = new float[SIZE];
        layer.forward(SHAPE, X, y, true);
        Reference.Stats s = Reference.statistics(Data.toDouble(X), N, C, HW);
        Tolerance.assertTensorClose("xhat", y, 0, Reference.normalize(Data.toDouble(X), N, C, HW, s.mean(),
                s.variance(), new double[] {1, 1, 1}, new double[C], EPS, false), 1e-5);
        layer.backward(W, new float[SIZE]);
    }

    @Test
    void nonFiniteBatchesCanBeKeptOutOfTheRunningStatistics() {
        float[] x = X.clone();
        x[HW] = Float.NaN; // channel 1 of sample 0
        BatchNormLayer skipping = nchw().skipNonFiniteUpdates(true).build();
        skipping.forward(SHAPE, x, new float[SIZE], true);
        assertArrayEquals(new float[C], skipping.runningStatistics().mean());
        assertArrayEquals(new float[] {1, 1, 1}, skipping.runningStatistics().variance());
        assertEquals(0, skipping.runningStatistics().batchesTracked());

        BatchNormLayer plain = nchw().build();
        plain.forward(SHAPE, x, new float[SIZE], true);
        assertTrue(Float.isNaN(plain.runningStatistics().mean()[1]), "off: the NaN reaches its channel");
        assertTrue(Float.isFinite(plain.runningStatistics().mean()[0]), "and no other channel");
    }

    /** conv(x, W) + b then frozen BN equals conv(x, W') + b' with the folded weights. */
    @Test
    void foldingIntoAConvolutionGivesTheSameOutput() {
        int batch = 2;
        int in = 3;
        int out = C;
        int size = 5;
        int k = 3;
        int outSize = size - k + 1;
        float[] x = Data.gaussian(41, batch * in * size * size, 0, 1);
        float[] weights = Data.gaussian(42, out * in * k * k, 0, 0.5);
        float[] bias = {0.3f, -0.2f, 0.1f};
        BatchNormLayer bn = nchw().build();
        bn.setWeights(GAMMA, BETA, new float[] {0.4f, -1, 2}, new float[] {0.5f, 3, 0.25f});
        int[] outShape = {batch, out, outSize, outSize};
        float[] convolved = conv(x, weights, bias, batch, in, out, size, k);
        float[] want = new float[convolved.length];
        bn.eval().forward(outShape, convolved, want);

        Folded folded = bn.fold(weights, new int[] {out, in, k, k}, 0, bias);
        float[] got = conv(x, folded.weights(), folded.bias(), batch, in, out, size, k);
        Tolerance.assertTensorClose("folded conv", got, 0, Data.toDouble(want), 1e-5);

        // A Keras dense kernel is (in, out): the output axis is the last.
        float[] kernel = Data.gaussian(43, 4 * out, 0, 1);
        float[] rows = Data.gaussian(44, 2 * 4, 0, 1);
        float[] dense = dense(rows, kernel, null, 2, 4, out);
        float[] bnDense = new float[dense.length];
        BatchNormLayer bnLast = BatchNormLayer.keras().channels(out).build();
        bnLast.setWeights(GAMMA, BETA, new float[] {0.4f, -1, 2}, new float[] {0.5f, 3, 0.25f});
        bnLast.eval().forward(new int[] {2, out}, dense, bnDense);
        Folded foldedDense = bnLast.fold(kernel, new int[] {4, out}, -1, null);
        Tolerance.assertTensorClose("folded dense", dense(rows, foldedDense.weights(), foldedDense.bias(), 2, 4, out),
                0, Data.toDouble(bnDense), 1e-5);
    }

    @Test
    void phaseDecidesWhenTheFlagIsLeftOut() {
        BatchNormLayer layer = nchw().build();
        assertTrue(layer.isTraining());
        layer.forward(SHAPE, X, new float[SIZE]);
        assertEquals(1, layer.runningStatistics().batchesTracked());
        layer.eval().forward(SHAPE, X, new float[SIZE]);
        assertEquals(1, layer.runningStatistics().batchesTracked());
    }

    @Test
    void weightsRoundTrip() {
        BatchNormLayer a = nchw().renorm(true).build();
        a.setWeights(GAMMA, BETA, new float[] {1, 2, 3}, new float[] {4, 5, 6}, new float[] {7, 8, 9},
                new float[] {10, 11, 12});
        BatchNormLayer b = nchw().renorm(true).build();
        b.setWeights(a.getWeights());
        for (int k = 0; k < 6; k++) {
            assertArrayEquals(a.getWeights().get(k), b.getWeights().get(k), "weight " + k);
        }
        assertEquals(6, b.nonTrainableParamCount() / C + b.trainableParamCount() / C);
    }

    private static float[] conv(float[] x, float[] w, float[] b, int batch, int in, int out, int size, int k) {
        int outSize = size - k + 1;
        float[] y = new float[batch * out * outSize * outSize];
        for (int n = 0; n < batch; n++) {
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < outSize; i++) {
                    for (int j = 0; j < outSize; j++) {
                        double sum = b[o];
                        for (int c = 0; c < in; c++) {
                            for (int di = 0; di < k; di++) {
                                for (int dj = 0; dj < k; dj++) {
                                    sum += (double) x[((n * in + c) * size + i + di) * size + j + dj]
                                            * w[((o * in + c) * k + di) * k + dj];
                                }
                            }
                        }
                        y[((n * out + o) * outSize + i) * outSize + j] = (float) sum;
                    }
                }
            }
        }
        return y;
    }

    private static float[] dense(float[] x, float[] kernel, float[] bias, int rows, int in, int out) {
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double sum = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    sum += (double) x[r * in + i] * kernel[i * out + o];
                }
                y[r * out + o] = (float) sum;
            }
        }
        return y;
    }
}
