package io.github.batchnorm4j.internal.kernel;

/**
 * The vectorized variant's statistics in every layout: a pass for the mean (sums of x - shift),
 * a pass for the variance (sums of (x - float(mean))^2), then y = (x - float(mean)) * scale +
 * offset.
 */
public final class TwoPassStatistics {
    private TwoPassStatistics() {}

    /** Each channel's mean from the sum of its x - shift. */
    public static double[] means(double[] sumsOfDeviations, float[] shift, long m) {
        double[] mean = new double[sumsOfDeviations.length];
        for (int c = 0; c < mean.length; c++) {
            mean[c] = sumsOfDeviations[c] / m + shift[c];
        }
        return mean;
    }

    public static float[] rounded(double[] values) {
        float[] result = new float[values.length];
        for (int c = 0; c < values.length; c++) {
            result[c] = (float) values[c];
        }
        return result;
    }

    /**
     * Each channel's statistics into the call's outputs and {@code scale}, and the offsets of
     * {@code y = (x - float(mean)) * scale + offset}: beta and what rounding the mean cost. The
     * variance is the mean square of x - float(mean), which exceeds it by exactly
     * (mean - float(mean))^2: not small next to a variance far below the mean's rounding
     * (x alternating 1e7 and 1e7 + 1).
     *
     * @param squares per channel, the sum of (x - float(mean))^2
     */
    public static float[] finish(TrainingCall call, double[] mean, float[] rounded, double[] squares,
            float[] scale) {
        long m = call.geometry().reductionSize();
        float[] offset = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            double excess = mean[c] - rounded[c];
            double variance = Math.max(0, squares[c] / m - excess * excess);
            double exactMean = Statistics.finish(call, c, c, mean[c], variance, call.mean(), call.variance(),
                    call.invStd(), scale);
            offset[c] = ChannelMath.offset(call.beta()[c], exactMean, call.mean()[c], scale[c]);
        }
        return offset;
    }
}
