package io.github.batchnorm4j;

import static io.github.batchnorm4j.internal.check.Checks.requireChannels;
import static io.github.batchnorm4j.internal.check.Checks.requireDistinct;
import static io.github.batchnorm4j.internal.check.Checks.requireUnaliased;

import io.github.batchnorm4j.internal.check.Checks.Use;

import java.util.Arrays;
import java.util.Objects;

/**
 * The running mean and variance a layer keeps for inference, the rule that updates them, and how
 * many training batches they have seen (PyTorch's {@code num_batches_tracked}).
 *
 * <p>The arrays are the caller's, not copied: a framework keeps them in its own parameter store.
 * Only {@link BatchNorm#forwardTraining} changes them, and only when the call succeeds.
 * Not thread-safe: one layer's statistics are updated by one training step at a time.
 */
public final class RunningStatistics {
    private final float[] mean;
    private final float[] variance;
    private final RunningUpdate update;
    private long batchesTracked;

    private RunningStatistics(float[] mean, float[] variance, RunningUpdate update) {
        this.mean = mean;
        this.variance = variance;
        this.update = update;
    }

    /** Running mean 0 and running variance 1 for {@code channels} channels, as both frameworks start. */
    public static RunningStatistics initial(int channels, RunningUpdate update) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be at least 1, got " + channels);
        }
        float[] variance = new float[channels];
        Arrays.fill(variance, 1f);
        return of(new float[channels], variance, update);
    }

    /**
     * The caller's arrays, updated in place: two distinct arrays, each of length exactly C, the
     * channels of the geometry they are used with (each call checks it).
     */
    public static RunningStatistics of(float[] mean, float[] variance, RunningUpdate update) {
        Objects.requireNonNull(mean, "running mean must not be null");
        Objects.requireNonNull(variance, "running variance must not be null");
        requireDistinct("running mean", mean, "running variance", variance);
        Objects.requireNonNull(update, "update must not be null");
        return new RunningStatistics(mean, variance, update);
    }

    public float[] mean() {
        return mean;
    }

    public float[] variance() {
        return variance;
    }

    public RunningUpdate update() {
        return update;
    }

    /** Number of training batches folded in so far. */
    public long batchesTracked() {
        return batchesTracked;
    }

    /** Sets the batch count, e.g. when restoring a checkpoint with a cumulative average. */
    public void setBatchesTracked(long batchesTracked) {
        if (batchesTracked < 0) {
            throw new IllegalArgumentException("batchesTracked must be >= 0, got " + batchesTracked);
        }
        this.batchesTracked = batchesTracked;
    }

    /**
     * Folds in one batch's statistics computed elsewhere, by the same rule as
     * {@link BatchNorm#forwardTraining}: for statistics merged across replicas, or averaged over
     * virtual batches.
     *
     * @param batchMean per-channel batch mean, one per channel
     * @param batchVariance per-channel biased batch variance, one per channel
     * @param count number of elements each channel reduced over, at least 2
     * @throws IllegalArgumentException if an array's length is not the channels', count < 2, or
     *     a batch array is one of the running ones; nothing is changed then
     */
    public void update(float[] batchMean, float[] batchVariance, long count) {
        requireChannels("running variance", variance, mean.length);
        requireChannels("batchMean", batchMean, mean.length);
        requireChannels("batchVariance", batchVariance, mean.length);
        if (count < 2) {
            throw new IllegalArgumentException(
                    "count must be at least 2 (values per channel in the batch), got " + count);
        }
        requireUnaliased(Use.writes("running mean", mean), Use.writes("running variance", variance),
                Use.reads("batchMean", batchMean), Use.reads("batchVariance", batchVariance));
        fold(batchMean, batchVariance, mean.length, count);
    }

    /**
     * Folds one batch's statistics in. Called by {@link BatchNorm} after every check has passed.
     *
     * @param batchMean per-channel batch mean
     * @param batchVariance per-channel biased batch variance
     * @param m number of elements each channel reduced over, at least 2
     */
    void fold(float[] batchMean, float[] batchVariance, int channels, long m) {
        long t = batchesTracked + 1;
        double w = update.newBatchWeight(t);
        double correction = update.unbiasedVariance() ? (double) m / (m - 1) : 1.0;
        for (int c = 0; c < channels; c++) {
            mean[c] = (float) ((1 - w) * mean[c] + w * batchMean[c]);
            variance[c] = (float) ((1 - w) * variance[c] + w * batchVariance[c] * correction);
        }
        batchesTracked = t;
    }
}
