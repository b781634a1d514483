package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.layer.BackwardPartials;
import io.github.batchnorm4j.layer.BatchNormLayer;
import io.github.batchnorm4j.layer.PartialStatistics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The layer's configuration round trip, its errors, failure atomicity and cross-replica statistics. */
class LayerContractTest {
    private static final int[] SHAPE = {6, 3, 2, 2};
    private static final int SIZE = 72;
    private static final float[] X = Data.gaussian(51, SIZE, 1, 2);
    private static final float[] DY = Data.gaussian(52, SIZE, 0, 1);

    static Stream<UnaryOperator<BatchNormLayer.Builder>> options() {
        return Stream.of(
                b -> b, b -> b.axis(1), b -> b.axis(-3), b -> b.epsilon(0.25f), b -> b.center(false),
                b -> b.scale(false), b -> b.affine(false), b -> b.gammaInitializer(3), b -> b.betaInitializer(-2),
                b -> b.movingMeanInitializer(5), b -> b.movingVarianceInitializer(0.5f), b -> b.momentum(0.8),
                b -> b.runningUpdate(RunningUpdate.pytorch(0.3)), b -> b.runningUpdate(RunningUpdate.pytorchCumulativeAverage()),
                b -> b.runningUpdate(RunningUpdate.exponential(0.2, true)),
                b -> b.runningUpdate(RunningUpdate.cumulativeAverage(false)), b -> b.trackRunningStats(false),
                b -> b.renorm(true), b -> b.renorm(true).renormClipping(3, 1 / 3.0, 5), b -> b.renormMomentum(0.5),
                b -> b.virtualBatchSize(4), b -> b.mode(1), b -> b.mode(2), b -> b.skipNonFiniteUpdates(true));
    }

    @ParameterizedTest
    @MethodSource("options")
    void configRoundTripsToAnEqualLayer(UnaryOperator<BatchNormLayer.Builder> option) {
        BatchNormLayer layer = option.apply(BatchNormLayer.keras().channels(7)).build();
        Map<String, String> config = layer.getConfig();
        BatchNormLayer back = BatchNormLayer.fromConfig(config);
        assertEquals(config, back.getConfig());
        assertEquals(layer.getWeights().size(), back.getWeights().size());
        for (int k = 0; k < layer.getWeights().size(); k++) {
            assertArrayEquals(layer.getWeights().get(k), back.getWeights().get(k), "initial weight " + k);
        }
    }

    @Test
    void configErrorsNameTheKey() {
        Map<String, String> config = new HashMap<>(BatchNormLayer.keras().channels(3).build().getConfig());
        assertMessage(IllegalArgumentException.class, "'colour'", () -> BatchNormLayer.fromConfig(with(config, "colour", "red")));
        assertMessage(IllegalArgumentException.class, "'momentum'", () -> BatchNormLayer.fromConfig(with(config, "momentum", "1.5")));
        assertMessage(IllegalArgumentException.class, "'epsilon'", () -> BatchNormLayer.fromConfig(with(config, "epsilon", "-1")));
        assertMessage(IllegalArgumentException.class, "'renorm_clipping'",
                () -> BatchNormLayer.fromConfig(with(config, "renorm_clipping", "rmax=0.5")));
        assertMessage(IllegalArgumentException.class, "'center'", () -> BatchNormLayer.fromConfig(with(config, "center", "yes")));
        assertMessage(IllegalArgumentException.class, "'virtual_batch_size'",
                () -> BatchNormLayer.fromConfig(with(config, "virtual_batch_size", "0")));
        Map<String, String> noChannels = new HashMap<>(config);
        noChannels.remove("channels");
        assertMessage(IllegalArgumentException.class, "'channels'", () -> BatchNormLayer.fromConfig(noChannels));
    }

    @Test
    void optionsCheckTheirRanges() {
        BatchNormLayer.Builder b = BatchNormLayer.keras();
        assertMessage(IllegalArgumentException.class, "momentum must be in [0, 1]", () -> b.momentum(1.1));
        assertMessage(IllegalArgumentException.class, "rmax must be >= 1", () -> b.renormClipping(0.5, 0, 1));
        assertMessage(IllegalArgumentException.class, "rmin must be in [0, 1]", () -> b.renormClipping(2, 1.5, 1));
        assertMessage(IllegalArgumentException.class, "dmax must be >= 0", () -> b.renormClipping(2, 0.5, -1));
        assertMessage(IllegalArgumentException.class, "renormMomentum must be in [0, 1]", () -> b.renormMomentum(-0.1));
        assertMessage(IllegalArgumentException.class, "virtualBatchSize must be at least 1", () -> b.virtualBatchSize(-2));
        assertMessage(IllegalArgumentException.class, "mode must be 0, 1 or 2", () -> b.mode(3));
        assertMessage(IllegalArgumentException.class, "epsilon must be finite and > 0", () -> b.epsilon(0));
        assertMessage(IllegalArgumentException.class, "channels must be set", () -> BatchNormLayer.keras().build());
        assertMessage(IllegalArgumentException.class, "axis must be -1",
                () -> BatchNormLayer.keras().channels(3).axis(1).mode(1).build());
    }

    @Test
    void aCallThatFailsChangesNothing() {
        BatchNormLayer layer = BatchNormLayer.pytorch().channels(3).virtualBatchSize(2).build();
        float[] y = new float[SIZE];
        layer.forward(SHAPE, X, y, true);
        List<float[]> weights = layer.getWeights();
        long batches = layer.runningStatistics().batchesTracked();

        float[] y2 = new float[SIZE + 12];
        assertMessage(IllegalArgumentException.class, "virtualBatchSize 2 must divide the batch",
                () -> layer.forward(new int[] {7, 3, 2, 2}, new float[84], new float[84], true));
        assertMessage(IllegalArgumentException.class, "axis 1) must be 3 long",
                () -> layer.forward(new int[] {6, 4, 2, 2}, new float[96], new float[96], true));
        assertMessage(IllegalArgumentException.class, "axis -3 is out of range for rank 2",
                () -> BatchNormLayer.pytorch().channels(3).axis(-3).build().forward(new int[] {4, 3}, new float[12], y2, true));
        assertMessage(IllegalArgumentException.class, "rank 2 to 5",
                () -> layer.forward(new int[] {72}, X, y2, true));
        assertMessage(IllegalArgumentException.class, "y must hold at least 72 floats",
                () -> layer.forward(SHAPE, X, new float[10], true));
        assertArrayEquals(new float[SIZE + 12], y2);
        assertMessage(IllegalArgumentException.class, "weights must hold 4 arrays",
                () -> layer.setWeights(new float[3], new float[3]));
        assertMessage(IllegalArgumentException.class, "weights[3] (moving_variance) must have length 3",
                () -> layer.setWeights(new float[3], new float[3], new float[3], new float[2]));
        assertEquals(batches, layer.runningStatistics().batchesTracked());
        for (int k = 0; k < weights.size(); k++) {
            assertArrayEquals(weights.get(k), layer.getWeights().get(k), "weight " + k);
        }

        float[] dx = new float[10];
        assertMessage(IllegalArgumentException.class, "dx must hold at least 72 floats", () -> layer.backward(DY, dx));
        assertArrayEquals(new float[10], dx);
        assertArrayEquals(new float[3], layer.gammaGradient());
        assertArrayEquals(new float[3], layer.betaGradient());
        layer.backward(DY, new float[SIZE]); // the saved forward is still the good one
        assertTrue(layer.betaGradient()[0] != 0);

        BatchNormLayer fresh = BatchNormLayer.pytorch().channels(3).build();
        assertMessage(IllegalStateException.class, "backward needs a forward first", () -> fresh.backward(DY, new float[SIZE]));
    }

    /**
     * One batch split over 4 replicas of unequal size, statistics and backward sums merged as an
     * all-gather would: the same y, dx, gradients and running statistics as the whole batch.
     */
    @Test
    void replicasWithMergedStatisticsMatchTheWholeBatch() {
        int[] samples = {1, 2, 3, 4};
        int per = 3 * 4;
        float[] x = Data.gaussian(61, 10 * per, 3, 2);
        float[] dy = Data.gaussian(62, 10 * per, 0, 1);
        float[] gamma = {0.5f, 2, -1};
        float[] beta = {1, 0, -0.5f};

        BatchNormLayer whole = BatchNormLayer.pytorch().channels(3).build();
        whole.setWeights(gamma, beta, new float[3], new float[] {1, 1, 1});
        float[] y = new float[x.length];
        float[] dx = new float[x.length];
        whole.forward(new int[] {10, 3, 2, 2}, x, y, true);
        whole.backward(dy, dx);

        List<BatchNormLayer> replicas = new ArrayList<>();
        List<PartialStatistics> shares = new ArrayList<>();
        int from = 0;
        for (int n : samples) {
            BatchNormLayer replica = BatchNormLayer.pytorch().channels(3).build();
            replica.setWeights(gamma, beta, new float[3], new float[] {1, 1, 1});
            replicas.add(replica);
            shares.add(replica.partialStatistics(new int[] {n, 3, 2, 2}, java.util.Arrays.copyOfRange(x, from, from + n * per)));
            from += n * per;
        }
        PartialStatistics merged = PartialStatistics.merge(shares);
        assertEquals(40, merged.count());

        float[] ySync = new float[x.length];
        float[] dxSync = new float[x.length];
        List<BackwardPartials> sums = new ArrayList<>();
        from = 0;
        for (int r = 0; r < 4; r++) {
            int n = samples[r];
            float[] yr = new float[n * per];
            replicas.get(r).forwardSynchronized(new int[] {n, 3, 2, 2}, java.util.Arrays.copyOfRange(x, from, from + n * per), yr, merged);
            System.arraycopy(yr, 0, ySync, from, yr.length);
            sums.add(replicas.get(r).backwardPartials(java.util.Arrays.copyOfRange(dy, from, from + n * per)));
            from += n * per;
        }
        BackwardPartials mergedSums = BackwardPartials.merge(sums);
        from = 0;
        for (int r = 0; r < 4; r++) {
            int n = samples[r];
            float[] dxr = new float[n * per];
            replicas.get(r).backwardSynchronized(java.util.Arrays.copyOfRange(dy, from, from + n * per), dxr, mergedSums);
            System.arraycopy(dxr, 0, dxSync, from, dxr.length);
            from += n * per;
        }
        Tolerance.assertTensorClose("y", ySync, 0, Data.toDouble(y), 1e-5);
        Tolerance.assertTensorClose("dx", dxSync, 0, Data.toDouble(dx), 1e-5);
        for (BatchNormLayer replica : replicas) {
            Tolerance.assertTensorClose("dgamma", replica.gammaGradient(), 0, Data.toDouble(whole.gammaGradient()), 1e-5);
            Tolerance.assertTensorClose("dbeta", replica.betaGradient(), 0, Data.toDouble(whole.betaGradient()), 1e-5);
            Tolerance.assertTensorClose("running mean", replica.runningStatistics().mean(), 0,
                    Data.toDouble(whole.runningStatistics().mean()), 1e-6);
            Tolerance.assertTensorClose("running variance", replica.runningStatistics().variance(), 0,
                    Data.toDouble(whole.runningStatistics().variance()), 1e-6);
            assertArrayEquals(replicas.get(0).runningStatistics().mean(), replica.runningStatistics().mean(),
                    "every replica keeps the same bits");
        }
    }

    private static Map<String, String> with(Map<String, String> config, String key, String value) {
        Map<String, String> copy = new HashMap<>(config);
        copy.put(key, value);
        return copy;
    }

    private static void assertMessage(Class<? extends Throwable> type, String part, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(part),
                "message should contain \"" + part + "\": " + e.getMessage());
    }
}
