package io.github.batchnorm4j;

import io.github.batchnorm4j.internal.check.Checks;
import java.util.Objects;

/**
 * The per-channel mean and inverse standard deviation {@code 1/sqrt(var + eps)} of one batch:
 * written by {@link BatchNorm#forwardTraining}, read by {@link BatchNorm#backward}
 * (PyTorch's {@code save_mean} and {@code save_invstd}).
 */
public final class BatchStatistics {
    private final float[] mean;
    private final float[] invStd;

    private BatchStatistics(float[] mean, float[] invStd) {
        this.mean = mean;
        this.invStd = invStd;
    }

    /** Fresh arrays for {@code channels} channels. */
    public static BatchStatistics allocate(int channels) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be at least 1, got " + channels);
        }
        return new BatchStatistics(new float[channels], new float[channels]);
    }

    /**
     * The caller's arrays, not copied: two distinct arrays, each of length exactly C, the
     * channels of the geometry they are used with (each call checks it).
     */
    public static BatchStatistics of(float[] mean, float[] invStd) {
        Objects.requireNonNull(mean, "mean must not be null");
        Objects.requireNonNull(invStd, "invStd must not be null");
        Checks.requireDistinct("mean", mean, "invStd", invStd);
        return new BatchStatistics(mean, invStd);
    }

    public float[] mean() {
        return mean;
    }

    public float[] invStd() {
        return invStd;
    }
}
