package io.github.batchnorm4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.layer.BatchNormLayer;
import io.github.batchnorm4j.spark.example.DataParallelStep;
import io.github.batchnorm4j.spark.example.DataParallelStep.LayerState;
import io.github.batchnorm4j.spark.example.DataParallelStep.Result;
import io.github.batchnorm4j.spark.example.DataParallelStep.Shard;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Synchronized batch norm on Spark's {@code local[4]}: a batch split over replicas against a
 * double-precision reference of the whole batch, 2 replicas against 4 bit for bit, and a
 * replica that fails.
 */
class SparkSyncBatchNormTest {
    private static final int[] SHAPE = {13, 6, 5, 5};
    private static final int C = SHAPE[1];
    private static final int PER_IMAGE = SHAPE[1] * SHAPE[2] * SHAPE[3];
    private static final int M = SHAPE[0] * SHAPE[2] * SHAPE[3];
    private static JavaSparkContext spark;

    private final float[] x = random(1, SHAPE[0] * PER_IMAGE, 3, 2);
    private final float[] dy = random(2, SHAPE[0] * PER_IMAGE, 0, 1);
    private final float[] gamma = random(3, C, 1, 0.3);
    private final float[] beta = random(4, C, 0, 0.5);
    private final float[] runningMean = random(5, C, 0, 1);
    private final float[] runningVariance = random(6, C, 2, 0.5);

    @BeforeAll
    static void start() {
        spark = new JavaSparkContext(new SparkConf().setMaster("local[4]").setAppName("SparkSyncBatchNormTest")
                .set("spark.ui.enabled", "false"));
        spark.setLogLevel("ERROR");
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.close();
        }
    }

    private BatchNormLayer layer() {
        BatchNormLayer layer = BatchNormLayer.pytorch().channels(C).build();
        layer.setWeights(gamma.clone(), beta.clone(), runningMean.clone(), runningVariance.clone());
        return layer;
    }

    /** Images per replica: unequal. */
    private List<Shard> split(int... images) {
        List<Shard> shards = new ArrayList<>();
        int from = 0;
        for (int n : images) {
            int[] shape = SHAPE.clone();
            shape[0] = n;
            shards.add(new Shard(shape, Arrays.copyOfRange(x, from * PER_IMAGE, (from + n) * PER_IMAGE),
                    Arrays.copyOfRange(dy, from * PER_IMAGE, (from + n) * PER_IMAGE)));
            from += n;
        }
        assertEquals(SHAPE[0], from);
        return shards;
    }

    @Test
    void aBatchSplitOverUnequalReplicasIsTheWholeBatch() {
        List<Result> results = DataParallelStep.run(spark, split(5, 2, 4, 2), LayerState.of(layer()), true);
        assertEquals(4, results.size());

        // the whole batch in double, from the textbook formulas
        double eps = layer().epsilon();
        double[] mean = new double[C];
        double[] var = new double[C];
        for (int i = 0; i < x.length; i++) {
            mean[channel(i)] += x[i] / (double) M;
        }
        for (int i = 0; i < x.length; i++) {
            double d = x[i] - mean[channel(i)];
            var[channel(i)] += d * d / M;
        }
        double[] sumDy = new double[C];
        double[] sumDyXhat = new double[C];
        for (int i = 0; i < x.length; i++) {
            int c = channel(i);
            double xhat = (x[i] - mean[c]) / Math.sqrt(var[c] + eps);
            sumDy[c] += dy[i];
            sumDyXhat[c] += dy[i] * xhat;
        }
        float[] y = concat(results, true);
        float[] dx = concat(results, false);
        // and the whole batch through one layer on one machine, within float rounding
        BatchNormLayer whole = layer();
        float[] wholeY = new float[x.length];
        float[] wholeDx = new float[x.length];
        whole.forward(SHAPE, x, wholeY);
        whole.backward(dy, wholeDx);
        for (int i = 0; i < x.length; i++) {
            assertEquals(wholeY[i], y[i], 2e-6 * (1 + Math.abs(wholeY[i])), "y[" + i + "] against one machine");
            assertEquals(wholeDx[i], dx[i], 2e-6 * (1 + Math.abs(wholeDx[i])), "dx[" + i + "] against one machine");
        }
        for (int c = 0; c < C; c++) {
            assertEquals(whole.gammaGradient()[c], results.get(0).dgamma()[c], 1e-6 * M, "dgamma[" + c + "] against one machine");
            assertEquals(whole.betaGradient()[c], results.get(0).dbeta()[c], 1e-6 * M, "dbeta[" + c + "] against one machine");
            assertEquals(whole.runningStatistics().mean()[c], results.get(0).runningMean()[c], 1e-6);
            assertEquals(whole.runningStatistics().variance()[c], results.get(0).runningVariance()[c], 1e-6);
        }
        for (int i = 0; i < x.length; i++) {
            int c = channel(i);
            double invStd = 1 / Math.sqrt(var[c] + eps);
            double xhat = (x[i] - mean[c]) * invStd;
            assertEquals(gamma[c] * xhat + beta[c], y[i], 1e-5 * (1 + Math.abs(gamma[c] * xhat)), "y[" + i + "]");
            double wantDx = gamma[c] * invStd / M * (M * dy[i] - sumDy[c] - xhat * sumDyXhat[c]);
            assertEquals(wantDx, dx[i], 1e-5 * gamma[c] * invStd * (Math.abs(dy[i]) + 1), "dx[" + i + "]");
        }
        for (Result r : results) {
            for (int c = 0; c < C; c++) {
                assertEquals(sumDy[c], r.dbeta()[c], 1e-5 * M, "dbeta[" + c + "] on replica " + r.rank());
                assertEquals(sumDyXhat[c], r.dgamma()[c], 1e-5 * M, "dgamma[" + c + "] on replica " + r.rank());
                assertEquals(0.9 * runningMean[c] + 0.1 * mean[c], r.runningMean()[c], 1e-6, "running mean[" + c + "]");
                assertEquals(0.9 * runningVariance[c] + 0.1 * var[c] * M / (M - 1), r.runningVariance()[c],
                        1e-5 * runningVariance[c], "running variance[" + c + "]");
            }
            // every replica holds the same gradients and running statistics, bit for bit
            assertArrayEquals(results.get(0).dgamma(), r.dgamma());
            assertArrayEquals(results.get(0).dbeta(), r.dbeta());
            assertArrayEquals(results.get(0).runningMean(), r.runningMean());
            assertArrayEquals(results.get(0).runningVariance(), r.runningVariance());
        }
    }

    @Test
    void twoReplicasAndFourGiveTheSameBits() {
        List<Result> two = DataParallelStep.run(spark, split(7, 6), LayerState.of(layer()), true);
        List<Result> four = DataParallelStep.run(spark, split(1, 5, 3, 4), LayerState.of(layer()), true);
        assertArrayEquals(concat(two, true), concat(four, true), "y");
        assertArrayEquals(concat(two, false), concat(four, false), "dx");
        assertArrayEquals(two.get(0).dgamma(), four.get(0).dgamma(), "dgamma");
        assertArrayEquals(two.get(0).dbeta(), four.get(0).dbeta(), "dbeta");
        assertArrayEquals(two.get(0).runningMean(), four.get(0).runningMean(), "running mean");
        assertArrayEquals(two.get(0).runningVariance(), four.get(0).runningVariance(), "running variance");
    }

    @Test
    void aReplicaThatFailsFailsTheStageAndTheDriverKeepsItsLayer() {
        BatchNormLayer driver = layer();
        List<Shard> shards = split(4, 3, 3, 3);
        // replica 2 gets a tensor with 5 channels where the layer has 6
        Shard bad = shards.get(2);
        shards.set(2, new Shard(new int[] {3, 5, 5, 5}, Arrays.copyOf(bad.x(), 3 * 5 * 25),
                Arrays.copyOf(bad.dy(), 3 * 5 * 25)));
        Exception failure = assertThrows(Exception.class,
                () -> DataParallelStep.run(spark, shards, LayerState.of(driver), true));
        assertTrue(chain(failure).contains("channel axis (axis 1) must be 6 long"), chain(failure));
        assertArrayEquals(runningMean, driver.runningStatistics().mean());
        assertArrayEquals(runningVariance, driver.runningStatistics().variance());
        assertArrayEquals(gamma, driver.gamma());
        assertArrayEquals(new float[C], driver.gammaGradient());
    }

    private static String chain(Throwable t) {
        StringBuilder all = new StringBuilder();
        for (; t != null; t = t.getCause()) {
            all.append(t).append('\n');
        }
        return all.toString();
    }

    private static int channel(int i) {
        return i / (SHAPE[2] * SHAPE[3]) % C;
    }

    private static float[] concat(List<Result> results, boolean y) {
        List<float[]> parts = results.stream().map(r -> y ? r.y() : r.dx()).toList();
        float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static float[] random(long seed, int n, double mean, double std) {
        Random random = new Random(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        return values;
    }
}
