package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;

/** From a channel's sums to the statistics training forward returns, in every layout. */
public final class Statistics {
    private Statistics() {}

    /** Values of each channel whose mean is the shift of its sums: {@link #shifts}. */
    public static final int SHIFT_SAMPLE = 8;

    /**
     * The mean of each channel's first {@link #SHIFT_SAMPLE} values, in memory order: the shift K
     * of the kernels' sums of x - K, padded for the row loops. Those sums keep their digits as
     * long as K lies near the channel's mean, in standard deviations; a mean of several values
     * lies nearer than any one of them, and one outlier among them moves it by an eighth.
     */
    public static float[] shifts(Geometry g, FloatSpan x, int lanes) {
        float[] shift = new float[PerChannel.paddedLength(g.channels(), lanes)];
        int stride = g.channels() * g.inner();
        int count = (int) Math.min(SHIFT_SAMPLE, g.reductionSize());
        for (int c = 0; c < g.channels(); c++) {
            double sum = 0;
            for (int k = 0; k < count; k++) {
                sum += x.get((long) (k / g.inner()) * stride + c * g.inner() + k % g.inner());
            }
            shift[c] = (float) (sum / count);
        }
        return shift;
    }

    /**
     * Channel c's statistics as the API returns them, and the normalize scale, into index
     * {@code at} of the arrays given. A mean or variance that came out non-finite is summed
     * again in double over the channel's values first: float sums of squares overflow once
     * values pass about 1e19, long before the variance does. A channel that holds NaN or
     * infinity comes out non-finite from that too, and no other channel is touched.
     *
     * @return the mean in double, whose rounding to float the normalize offset makes up for
     */
    public static double finish(TrainingCall call, int c, int at, double mean, double variance,
            float[] meanOut, float[] varianceOut, float[] invStdOut, float[] scaleOut) {
        Geometry g = call.geometry();
        if (!Double.isFinite(mean) || !Double.isFinite(variance)) {
            FloatSpan x = call.x();
            long first = (long) c * g.inner();
            int stride = g.channels() * g.inner();
            double sum = 0;
            for (int o = 0; o < g.outer(); o++) {
                for (long i = first + (long) o * stride, end = i + g.inner(); i < end; i++) {
                    sum += x.get(i);
                }
            }
            mean = sum / g.reductionSize();
            double squares = 0;
            for (int o = 0; o < g.outer(); o++) {
                for (long i = first + (long) o * stride, end = i + g.inner(); i < end; i++) {
                    squares += (x.get(i) - mean) * (x.get(i) - mean);
                }
            }
            variance = squares / g.reductionSize();
        }
        meanOut[at] = (float) mean;
        varianceOut[at] = (float) variance;
        invStdOut[at] = ChannelMath.invStd(variance, call.epsilon());
        scaleOut[at] = ChannelMath.scale(call.gamma()[c], invStdOut[at]);
        return mean;
    }
}
