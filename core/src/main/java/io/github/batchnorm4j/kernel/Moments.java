package io.github.batchnorm4j.kernel;

/**
 * Count, mean and sum of squared deviations (M2) of many channels, merged block by block with
 * Chan's formula in double. Blocks are merged in a fixed order, so the result depends on the
 * blocks alone, never on which thread computed them.
 */
final class Moments {
    final double[] mean;
    final double[] m2;
    final long[] count;

    Moments(int channels) {
        mean = new double[channels];
        m2 = new double[channels];
        count = new long[channels];
    }

    /** Folds one block of {@code n} values of {@code channel} in. */
    void merge(int channel, long n, double blockMean, double blockM2) {
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
    void mergeShifted(int channel, long n, double shift, double s1, double s2) {
        merge(channel, n, shift + s1 / n, s2 - s1 * s1 / n);
    }

    /** Folds another set of moments in, channel by channel. */
    void mergeAll(Moments other) {
        for (int c = 0; c < mean.length; c++) {
            if (other.count[c] > 0) {
                merge(c, other.count[c], other.mean[c], other.m2[c]);
            }
        }
    }

    double variance(int channel) {
        return m2[channel] / count[channel];
    }
}
