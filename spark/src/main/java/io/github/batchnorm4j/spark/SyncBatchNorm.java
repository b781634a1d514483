package io.github.batchnorm4j.spark;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.layer.BackwardPartials;
import io.github.batchnorm4j.layer.BatchNormLayer;
import io.github.batchnorm4j.layer.PartialStatistics;
import java.math.BigInteger;
import java.util.Objects;

/**
 * Synchronized batch norm for one replica of a data-parallel step, as PyTorch's
 * {@code SyncBatchNorm} and Keras' {@code synchronized=True}: each replica normalizes its part
 * of the batch with the whole batch's statistics, and backward uses the whole batch's sums.
 * One all-gather per direction: forward sends, per channel, the sum of x and of x^2; backward
 * the sum of dy and of dy * xhat.
 *
 * <p>Every replica adds its values exactly ({@code ExactSum}) and the gathered shares add
 * exactly, so the statistics, and so every output, come out with the same bits on every replica
 * and however the batch is split over replicas: 2 replicas or 4, equal parts or not. From the
 * exact sums the mean and M2 are rounded once, then the layer's
 * {@link BatchNormLayer#forwardSynchronized} and {@link BatchNormLayer#backwardSynchronized} do
 * the rest.
 *
 * <p>Every check runs before the all-gather, and the gathered messages are all checked before
 * anything is written: a replica whose input is wrong throws at once (in Spark, its barrier
 * stage then fails on every replica), and a replica that receives a share it cannot use throws
 * without changing y, dx or the layer.
 */
public final class SyncBatchNorm {
    private final BatchNormLayer layer;
    private final Replicas replicas;
    /** The last forward's tensor and whole-batch statistics, for backward. */
    private Geometry geometry;
    private float[] x;
    private double[] mean;
    private double[] invStd;
    private long count;

    public SyncBatchNorm(BatchNormLayer layer, Replicas replicas) {
        this.layer = Objects.requireNonNull(layer, "layer must not be null");
        this.replicas = Objects.requireNonNull(replicas, "replicas must not be null");
    }

    /**
     * Training forward over this replica's part of the batch, with the whole batch's statistics;
     * updates the layer's running statistics with them, as every replica does.
     */
    public void forward(int[] shape, float[] x, float[] y) {
        Geometry g = layer.geometry(shape);
        requireLength("x", x, g);
        requireLength("y", y, g);
        int channels = g.channels();
        ExactSum[] sums = new ExactSum[channels];
        ExactSum[] squares = new ExactSum[channels];
        for (int c = 0; c < channels; c++) {
            sums[c] = new ExactSum();
            squares[c] = new ExactSum();
        }
        // a loop per channel run, not a lambda per element: the sums cost most of a step here
        for (int o = 0, i = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                ExactSum sum = sums[c];
                ExactSum square = squares[c];
                for (int end = i + g.inner(); i < end; i++) {
                    double v = x[i];
                    sum.add(v);
                    square.add(v * v); // a float's square is exact in double
                }
            }
        }
        Totals totals = gather(g.reductionSize(), sums, squares);

        // with S1 = a 2^-B and S2 = b 2^-B: mean = a / (n 2^B), M2 = S2 - S1^2 / n = (b n 2^B - a^2) / (n 2^2B)
        double[] mean = new double[channels];
        double[] m2 = new double[channels];
        BigInteger n = BigInteger.valueOf(totals.count);
        BigInteger unit = BigInteger.ONE.shiftLeft(ExactSum.BIAS);
        for (int c = 0; c < channels; c++) {
            if (totals.nonFinite(c)) {
                mean[c] = totals.nonFiniteFirst[c] / totals.count;
                m2[c] = Double.NaN;
                continue;
            }
            BigInteger a = totals.first[c];
            BigInteger b = totals.second[c];
            mean[c] = ExactSum.quotient(a, n.multiply(unit));
            m2[c] = ExactSum.quotient(b.multiply(n).multiply(unit).subtract(a.multiply(a)),
                    n.multiply(unit).multiply(unit));
        }
        PartialStatistics merged = new PartialStatistics(totals.count, mean, m2);
        layer.forwardSynchronized(shape, x, y, merged);

        double[] invStd = new double[channels];
        for (int c = 0; c < channels; c++) {
            invStd[c] = 1.0 / Math.sqrt(merged.variance(c) + layer.epsilon());
        }
        this.geometry = g;
        this.x = x;
        this.mean = mean;
        this.invStd = invStd;
        this.count = totals.count;
    }

    /**
     * Backward through the last {@link #forward}: dx with the whole batch's sums, and the whole
     * batch's dgamma and dbeta added to the layer's gradients (the same on every replica: do not
     * sum them across replicas again).
     */
    public void backward(float[] dy, float[] dx) {
        if (geometry == null) {
            throw new IllegalStateException("backward needs a forward first on this replica");
        }
        Geometry g = geometry;
        requireLength("dy", dy, g);
        requireLength("dx", dx, g);
        int channels = g.channels();
        ExactSum[] sumDy = new ExactSum[channels];
        ExactSum[] sumDyXhat = new ExactSum[channels];
        for (int c = 0; c < channels; c++) {
            sumDy[c] = new ExactSum();
            sumDyXhat[c] = new ExactSum();
        }
        for (int o = 0, i = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                ExactSum dbeta = sumDy[c];
                ExactSum dgamma = sumDyXhat[c];
                double channelMean = mean[c];
                double channelInvStd = invStd[c];
                for (int end = i + g.inner(); i < end; i++) {
                    double grad = dy[i];
                    dbeta.add(grad);
                    dgamma.add(grad * ((x[i] - channelMean) * channelInvStd));
                }
            }
        }
        Totals totals = gather(g.reductionSize(), sumDy, sumDyXhat);
        if (totals.count != count) {
            throw new IllegalStateException("the replicas' backward covers " + totals.count
                    + " values per channel, their forward " + count + ": every replica must run backward");
        }
        double[] dbeta = new double[channels];
        double[] dgamma = new double[channels];
        BigInteger unit = BigInteger.ONE.shiftLeft(ExactSum.BIAS);
        for (int c = 0; c < channels; c++) {
            dbeta[c] = totals.nonFinite(c) ? totals.nonFiniteFirst[c] : ExactSum.quotient(totals.first[c], unit);
            dgamma[c] = totals.nonFinite(c) ? totals.nonFiniteSecond[c] : ExactSum.quotient(totals.second[c], unit);
        }
        layer.backwardSynchronized(dy, dx, new BackwardPartials(totals.count, dbeta, dgamma));
    }

    /** The replicas' exact sums added up, per channel. */
    private record Totals(long count, BigInteger[] first, BigInteger[] second, double[] nonFiniteFirst,
            double[] nonFiniteSecond) {

        boolean nonFinite(int c) {
            return nonFiniteFirst[c] != 0 || nonFiniteSecond[c] != 0;
        }
    }

    /**
     * Sends this replica's count and two exact sums per channel, gathers every replica's, checks
     * them all, and adds them up. A message reads {@code rank count} and then, per channel, the
     * two sums, each a hexadecimal multiple of a power of two ({@code 1a3fp-40}) or a non-finite
     * value.
     */
    private Totals gather(long n, ExactSum[] first, ExactSum[] second) {
        int channels = first.length;
        StringBuilder message = new StringBuilder().append(replicas.rank()).append(' ').append(n);
        for (int c = 0; c < channels; c++) {
            message.append(' ').append(encode(first[c])).append(' ').append(encode(second[c]));
        }
        String[] all = replicas.allGather(message.toString());
        if (all.length != replicas.size()) {
            throw new IllegalStateException("the all-gather returned " + all.length + " messages for "
                    + replicas.size() + " replicas");
        }
        long count = 0;
        BigInteger[] sum1 = new BigInteger[channels];
        BigInteger[] sum2 = new BigInteger[channels];
        double[] bad1 = new double[channels];
        double[] bad2 = new double[channels];
        java.util.Arrays.fill(sum1, BigInteger.ZERO);
        java.util.Arrays.fill(sum2, BigInteger.ZERO);
        boolean[] seen = new boolean[all.length];
        for (String received : all) {
            String[] field = received.split(" ");
            int rank = Integer.parseInt(field[0]);
            if (rank < 0 || rank >= all.length || seen[rank]) {
                throw new IllegalStateException("replica rank " + rank + " is out of [0, " + all.length
                        + ") or sent twice");
            }
            seen[rank] = true;
            if (field.length != 2 + 2 * channels) {
                throw new IllegalStateException("replica " + rank + " sent sums for " + (field.length - 2) / 2
                        + " channels; this replica's layer has " + channels);
            }
            count = Math.addExact(count, Long.parseLong(field[1]));
            for (int c = 0; c < channels; c++) {
                sum1[c] = add(sum1[c], field[2 + 2 * c], bad1, c);
                sum2[c] = add(sum2[c], field[3 + 2 * c], bad2, c);
            }
        }
        return new Totals(count, sum1, sum2, bad1, bad2);
    }

    private static String encode(ExactSum sum) {
        if (!sum.isFinite()) {
            return Double.toString(sum.nonFinite());
        }
        BigInteger scaled = sum.scaled();
        int zeros = scaled.signum() == 0 ? 0 : scaled.getLowestSetBit();
        return scaled.shiftRight(zeros).toString(16) + "p" + zeros;
    }

    /** {@code total} plus the encoded sum; a non-finite one goes into {@code bad[c]} instead. */
    private static BigInteger add(BigInteger total, String encoded, double[] bad, int c) {
        int p = encoded.indexOf('p');
        if (p < 0) {
            bad[c] += Double.parseDouble(encoded);
            return total;
        }
        return total.add(new BigInteger(encoded.substring(0, p), 16).shiftLeft(Integer.parseInt(encoded.substring(p + 1))));
    }

    private static void requireLength(String name, float[] tensor, Geometry g) {
        Objects.requireNonNull(tensor, name + " must not be null");
        if (tensor.length != g.size()) {
            throw new IllegalArgumentException(name + " must hold " + g.size() + " floats for " + g + ", got "
                    + tensor.length);
        }
    }
}
