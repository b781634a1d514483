package io.github.batchnorm4j.layer;

import java.util.Arrays;
import java.util.List;

/**
 * One replica's share of the sums that synchronized backward needs, per channel:
 * {@code sum dy} (dbeta) and {@code sum dy * xhat} (dgamma), over {@code count} values per
 * channel. {@link #merge} adds the gathered shares in list order.
 *
 * @param count values per channel these sums cover
 * @param sumDy per-channel sum of dy
 * @param sumDyXhat per-channel sum of dy * xhat, xhat normalized with the merged statistics
 */
public record BackwardPartials(long count, double[] sumDy, double[] sumDyXhat) {

    public BackwardPartials {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1, got " + count);
        }
        if (sumDy == null || sumDyXhat == null) {
            throw new NullPointerException("sumDy and sumDyXhat must not be null");
        }
        if (sumDy.length != sumDyXhat.length || sumDy.length == 0) {
            throw new IllegalArgumentException("sumDy and sumDyXhat must have one entry per channel each, got "
                    + sumDy.length + " and " + sumDyXhat.length);
        }
        sumDy = sumDy.clone();
        sumDyXhat = sumDyXhat.clone();
    }

    /** Number of channels. */
    public int channels() {
        return sumDy.length;
    }

    @Override
    public double[] sumDy() {
        return sumDy.clone();
    }

    @Override
    public double[] sumDyXhat() {
        return sumDyXhat.clone();
    }

    /** The sums over all the shares, added in list order (so every replica gets the same bits). */
    public static BackwardPartials merge(List<BackwardPartials> shares) {
        if (shares == null || shares.isEmpty()) {
            throw new IllegalArgumentException("shares must hold at least one replica's sums");
        }
        int channels = shares.get(0).channels();
        long count = 0;
        double[] sumDy = new double[channels];
        double[] sumDyXhat = new double[channels];
        for (int r = 0; r < shares.size(); r++) {
            BackwardPartials share = shares.get(r);
            if (share == null) {
                throw new NullPointerException("shares[" + r + "] must not be null");
            }
            if (share.channels() != channels) {
                throw new IllegalArgumentException("shares[" + r + "] must have " + channels
                        + " channels (as shares[0]), got " + share.channels());
            }
            count = Math.addExact(count, share.count);
            for (int c = 0; c < channels; c++) {
                sumDy[c] += share.sumDy[c];
                sumDyXhat[c] += share.sumDyXhat[c];
            }
        }
        return new BackwardPartials(count, sumDy, sumDyXhat);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BackwardPartials that && count == that.count
                && Arrays.equals(sumDy, that.sumDy) && Arrays.equals(sumDyXhat, that.sumDyXhat);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Long.hashCode(count) + Arrays.hashCode(sumDy)) + Arrays.hashCode(sumDyXhat);
    }

    @Override
    public String toString() {
        return "BackwardPartials[count=" + count + ", channels=" + channels() + "]";
    }
}
