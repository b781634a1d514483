package io.github.batchnorm4j.internal.kernel;

/**
 * Count, mean and sum of squared deviations (M2) of many channels, merged block by block with
 * Chan's formula in double. Blocks are merged in a fixed order, so the result depends on the
 * blocks alone, never on which thread computed them.
 */
public final class Moments {
    public final double[] mean;
    public final double[] m2;
    public final long[] count;

    public Moments(int channels) {
        mean = new double[channels];
        m2 = new double[channels];
        count = new long[channels];
    }

    /** Folds one block of {@code n} values of {@code channel} in. */
    public void merge(int channel, long n, double blockMean, double blockM2) {
        long before = count[channel];
        count[channel] = before + n;
        if (before == 0) {
            mean[channel] = blockMean;
            m2[channel] = blockM2;
            return;
        }
        double total = before + n;
        double delta = blockMean - mean[channel];
        mean[channel] += delta * n / total;
        m2[channel] += blockM2 + delta * delta * before * n / total;
    }

    /**
     * Folds in {@code n} values of {@code channel} given by their sums {@code s1} of
     * {@code x - shift} and {@code s2} of {@code (x - shift)^2}.
     */
    public void mergeShifted(int channel, long n, double shift, double s1, double s2) {
        merge(channel, n, shift + s1 / n, s2 - s1 * s1 / n);
    }

    /** Folds another set of moments in, channel by channel. */
    public void mergeAll(Moments other) {
        for (int c = 0; c < mean.length; c++) {
            if (other.count[c] > 0) {
                merge(c, other.count[c], other.mean[c], other.m2[c]);
            }
        }
    }

    public double variance(int channel) {
        return m2[channel] / count[channel];
    }

    /**
     * True when {@code M2 = S2 - S1^2/n}, from the sums S1 of x - K and S2 of (x - K)^2 over n
     * values, is under a quarter of S2 (or is NaN): the shift K lies more than sqrt(3) standard
     * deviations from the values' mean, and the rounding of S2 would weigh over four times as
     * much in M2 as it does in S2. The values are then summed again around their own mean.
     * Written without a division: it runs once per channel per block.
     */
    public static boolean cancelled(double s1, double s2, long n) {
        return !(n * s2 - s1 * s1 >= 0.25 * n * s2);
    }
}
