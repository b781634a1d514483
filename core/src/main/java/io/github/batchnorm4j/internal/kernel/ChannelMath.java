package io.github.batchnorm4j.internal.kernel;

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

    /**
     * How far from 0, in standard deviations, a channel's mean may lie for training forward to
     * normalize it as {@code x * scale + shift}. Rounding the shift to float adds about
     * {@code 2^-24 * |mean| * scale} to y: within this bound at most 2 units in the last place
     * of gamma. Beyond it {@code (x - center) * scale + offset} with the center the mean rounded
     * to float keeps y within a few units in the last place of itself, whatever the mean.
     */
    public static final float MAX_SHIFTED_MEANS = 2f;

    /**
     * The offset that turns {@code (x - center) * scale} into y: {@code beta - (mean - center)
     * * scale}, with the mean in double. Center 0 gives the multiply-add form's shift; center
     * the mean rounded to float gives beta and the rounding error of the mean, which would
     * otherwise move y by up to {@code 2^-24 * |mean| * scale} (6e-4 at mean 1e4, std 1).
     */
    public static float offset(float beta, double mean, float center, float scale) {
        return (float) (beta - (mean - center) * scale);
    }

    /**
     * Whether training forward may normalize this channel as {@code x * scale + shift}: its
     * variance is not 0 (a constant channel must give exactly beta, which only the subtraction
     * does) and its mean lies within {@link #MAX_SHIFTED_MEANS} standard deviations of 0.
     */
    public static boolean multiplyAddKeepsDigits(float mean, float variance, float invStd) {
        return variance > 0 && Math.abs(mean) * (double) invStd <= MAX_SHIFTED_MEANS;
    }

    /**
     * Turns one channel's backward sums into its gradients and the coefficients of
     * {@code dx = (dy' - (x - mean) * b - c) * a}. With batch statistics
     * {@code a = gamma * invStd}, {@code b = invStd * dgamma / M}, {@code c = dbeta / M}; with
     * frozen statistics b = c = 0. Factored so that no coefficient holds invStd squared, which
     * leaves float's range when the standard deviation is below 1e-19 or above 1e19.
     *
     * @param sumDy sum of dy' (dbeta)
     * @param sumDyDev sum of dy' * (x - mean); dgamma is this times invStd
     */
    public static void backwardCoefficients(int channel, float gamma, float invStd, double sumDy,
            double sumDyDev, long m, boolean batchStatistics, float[] a, float[] b, float[] c,
            float[] dgamma, float[] dbeta) {
        double dg = sumDyDev * invStd;
        dgamma[channel] = (float) dg;
        dbeta[channel] = (float) sumDy;
        double k = (double) gamma * invStd;
        a[channel] = (float) k;
        b[channel] = batchStatistics ? (float) (invStd * dg / m) : 0f;
        c[channel] = batchStatistics ? (float) (sumDy / m) : 0f;
    }
}
