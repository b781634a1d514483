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

    /**
     * Turns one channel's backward sums into its gradients and the coefficients of
     * {@code dx = dy' * a - (x - mean) * b - c}. With batch statistics
     * {@code a = gamma * invStd}, {@code b = a * invStd * dgamma / M}, {@code c = a * dbeta / M};
     * with frozen statistics b = c = 0.
     *
     * @param sumDy sum of dy' (dbeta)
     * @param sumDyDev sum of dy' * (x - mean); dgamma is this times invStd
     */
    public static void backwardCoefficients(int channel, float gamma, float invStd, double sumDy,
            double sumDyDev, int m, boolean batchStatistics, float[] a, float[] b, float[] c,
            float[] dgamma, float[] dbeta) {
        double dg = sumDyDev * invStd;
        dgamma[channel] = (float) dg;
        dbeta[channel] = (float) sumDy;
        double k = (double) gamma * invStd;
        a[channel] = (float) k;
        b[channel] = batchStatistics ? (float) (k * invStd * dg / m) : 0f;
        c[channel] = batchStatistics ? (float) (k * sumDy / m) : 0f;
    }
}
