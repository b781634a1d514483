package io.github.batchnorm4j.kernel;

/** Per-channel arithmetic every variant shares, in double and rounded once. */
public final class ChannelMath {
    private ChannelMath() {}

    /** {@code 1 / sqrt(variance + epsilon)}. */
    public static float invStd(double variance, float epsilon) {
        return (float) (1.0 / Math.sqrt(variance + epsilon));
    }

    /** The factor that turns x into y: {@code gamma * invStd}. */
    public static float scale(float gamma, float invStd) {
        return (float) ((double) gamma * invStd);
    }

    /** The offset that turns x into y: {@code beta - mean * gamma * invStd}. */
    public static float shift(float beta, float mean, float gamma, float invStd) {
        return (float) (beta - (double) mean * gamma * invStd);
    }
}
