package io.github.batchnorm4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.layer.BatchNormLayer;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** What a replica does with shares it cannot use: it throws before it writes anything. */
class SyncBatchNormTest {
    private static final int[] SHAPE = {2, 3, 2, 2};

    /** Two replicas, the other one's message made by {@code other} from this one's. */
    private static Replicas withOther(UnaryOperator<String> other) {
        return new Replicas() {
            @Override
            public int rank() {
                return 0;
            }

            @Override
            public int size() {
                return 2;
            }

            @Override
            public String[] allGather(String message) {
                return new String[] {message, other.apply(message)};
            }
        };
    }

    private static float[] input() {
        float[] x = new float[24];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i);
        }
        return x;
    }

    @Test
    void aShareWithOtherChannelsIsRefusedBeforeAnyWrite() {
        BatchNormLayer layer = BatchNormLayer.pytorch().channels(3).build();
        float[] running = layer.runningStatistics().mean().clone();
        // the other replica sends only its first two channels' sums
        SyncBatchNorm sync = new SyncBatchNorm(layer, withOther(m -> {
            String[] f = m.split(" ");
            return "1 " + f[1] + " " + String.join(" ", Arrays.copyOfRange(f, 2, 6));
        }));
        float[] y = new float[24];
        Arrays.fill(y, Float.NaN);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> sync.forward(SHAPE, input(), y));
        assertTrue(e.getMessage().contains("replica 1 sent sums for 2 channels; this replica's layer has 3"),
                e.getMessage());
        assertTrue(Arrays.stream(toDouble(y)).allMatch(Double::isNaN), "y untouched");
        assertArrayEquals(running, layer.runningStatistics().mean(), "running statistics untouched");
    }

    @Test
    void twoSharesAreTheirBatch() {
        // the other replica holds the same values: the batch's statistics are this share's
        BatchNormLayer layer = BatchNormLayer.pytorch().channels(3).build();
        SyncBatchNorm sync = new SyncBatchNorm(layer, withOther(m -> "1" + m.substring(m.indexOf(' '))));
        float[] x = input();
        float[] y = new float[24];
        sync.forward(SHAPE, x, y);
        for (int c = 0; c < 3; c++) {
            double mean = 0;
            double var = 0;
            for (int i = 0; i < 24; i++) {
                mean += i / 4 % 3 == c ? x[i] / 8.0 : 0;
            }
            for (int i = 0; i < 24; i++) {
                var += i / 4 % 3 == c ? (x[i] - mean) * (x[i] - mean) / 8 : 0;
            }
            for (int i = 0; i < 24; i++) {
                if (i / 4 % 3 == c) {
                    assertEquals((x[i] - mean) / Math.sqrt(var + 1e-5), y[i], 1e-5, "y[" + i + "]");
                }
            }
            // PyTorch's update: 0.1 of the batch mean, and of the variance unbiased over 16 values
            assertEquals(0.1 * mean, layer.runningStatistics().mean()[c], 1e-7);
            assertEquals(0.9 + 0.1 * var * 16 / 15, layer.runningStatistics().variance()[c], 1e-6);
        }
    }

    @Test
    void backwardBeforeForwardIsAnError() {
        SyncBatchNorm sync = new SyncBatchNorm(BatchNormLayer.pytorch().channels(3).build(), withOther(m -> m));
        assertThrows(IllegalStateException.class, () -> sync.backward(new float[24], new float[24]));
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
