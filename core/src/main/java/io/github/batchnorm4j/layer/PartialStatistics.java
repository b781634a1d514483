package io.github.batchnorm4j.layer;

import java.util.Arrays;
import java.util.List;

/**
 * One replica's share of a batch's statistics, per channel: how many values it holds, their
 * mean, and their sum of squared deviations from that mean (M2). What a data-parallel trainer
 * all-gathers for synchronized batch norm; {@link #merge} turns the gathered shares into the
 * whole batch's.
 *
 * @param count values per channel in this share (every channel has the same), at least 1
 * @param mean per-channel mean of the share
 * @param m2 per-channel sum of squared deviations from {@code mean}, at least 0
 */
public record PartialStatistics(long count, double[] mean, double[] m2) {

    public PartialStatistics {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1, got " + count);
        }
        if (mean == null || m2 == null) {
            throw new NullPointerException("mean and m2 must not be null");
        }
        if (mean.length != m2.length || mean.length == 0) {
            throw new IllegalArgumentException("mean and m2 must have one entry per channel each, got "
                    + mean.length + " and " + m2.length);
        }
        mean = mean.clone();
        m2 = m2.clone();
    }

    /** Number of channels. */
    public int channels() {
        return mean.length;
    }

    /** The biased variance of channel c: {@code m2 / count}. */
    public double variance(int c) {
        return m2[c] / count;
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] m2() {
        return m2.clone();
    }

    /**
     * The statistics of all the shares together, by Chan's pairwise formula applied in list
     * order: every replica that merges the same list in the same order gets the same bits.
     *
     * @param shares one per replica, in rank order, all with the same channels
     */
    public static PartialStatistics merge(List<PartialStatistics> shares) {
        if (shares == null || shares.isEmpty()) {
            throw new IllegalArgumentException("shares must hold at least one replica's statistics");
        }
        int channels = shares.get(0).channels();
        long count = 0;
        double[] mean = new double[channels];
        double[] m2 = new double[channels];
        for (int r = 0; r < shares.size(); r++) {
            PartialStatistics share = shares.get(r);
            if (share == null) {
                throw new NullPointerException("shares[" + r + "] must not be null");
            }
            if (share.channels() != channels) {
                throw new IllegalArgumentException("shares[" + r + "] must have " + channels
                        + " channels (as shares[0]), got " + share.channels());
            }
            long total = Math.addExact(count, share.count);
            for (int c = 0; c < channels; c++) {
                double delta = share.mean[c] - mean[c];
                double weight = (double) share.count / total;
                mean[c] += delta * weight;
                m2[c] += share.m2[c] + delta * delta * count * weight;
            }
            count = total;
        }
        return new PartialStatistics(count, mean, m2);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof PartialStatistics that && count == that.count
                && Arrays.equals(mean, that.mean) && Arrays.equals(m2, that.m2);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Long.hashCode(count) + Arrays.hashCode(mean)) + Arrays.hashCode(m2);
    }

    @Override
    public String toString() {
        return "PartialStatistics[count=" + count + ", channels=" + channels() + "]";
    }
}
