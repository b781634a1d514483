package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.parallel.Tasks;

/**
 * The textbook passes, each over the whole tensor, vectorized and split over threads: forward
 * is a mean pass, a variance pass and a normalize pass; backward a dbeta pass, a dgamma pass
 * and a dx pass (NHWC sums both in one sweep of rows). Partial sums are kept per block and
 * added in block order, so any thread count gives the same bits.
 */
public final class VectorizedKernels extends BlockedKernels {

    public VectorizedKernels(Loops loops, Tasks tasks) {
        super(loops, tasks);
    }

    @Override
    public void forwardTraining(Geometry g, FloatSpan x, FloatSpan y, float[] gamma, float[] beta,
            float epsilon, boolean relu, float[] mean, float[] variance, float[] invStd) {
        int channels = g.channels();
        int m = g.reductionSize();
        float[] in = x.array();
        int xo = x.offset();
        float[] scale = new float[paddedChannels(channels)];
        if (planar(g)) {
            g = asPlanes(g);
            Blocking.Planar planar = Blocking.Planar.of(g);
            int blocks = planar.count();
            double[] partial = new double[channels * blocks];
            float[] shift = firstValues(g, x);
            forEachBlock(planar, g.size(), (c, b) -> partial[c * blocks + b] = loops.sumDeviations(
                    in, xo + planar.from(c, b), planar.runs(b), planar.length(b), planar.stride(), shift[c]));
            double[] mu = shifted(perChannel(partial, channels, blocks, m), shift);
            float[] muF = rounded(mu);
            forEachBlock(planar, g.size(), (c, b) -> partial[c * blocks + b] = loops.sumSquaredDeviations(
                    in, xo + planar.from(c, b), planar.runs(b), planar.length(b), planar.stride(), muF[c]));
            double[] var = aroundTheMean(perChannel(partial, channels, blocks, m), mu, muF);
            float[] offset = finish(g, x, mu, var, gamma, beta, epsilon, mean, variance, invStd, scale);
            float[] out = y.array();
            int yo = y.offset();
            forEachBlock(planar, 2L * g.size(), (c, b) -> {
                int at = planar.from(c, b);
                loops.normalize(in, xo + at, out, yo + at, planar.runs(b), planar.length(b),
                        planar.stride(), mean[c], scale[c], offset[c], relu);
            });
        } else {
            Blocking.Rows rows = Blocking.Rows.of(g);
            double[][] partial = new double[rows.chunks()][channels];
            float[] shift = firstValues(g, x);
            tasks.forEach(rows.chunks(), g.size(), k -> {
                float[] part = new float[paddedChannels(channels)];
                forEachSubBlock(rows, k, (from, to) -> {
                    loops.sumDeviationsRows(in, xo + from * channels, to - from, channels, channels,
                            shift, part, 0);
                    add(partial[k], part);
                });
            });
            double[] mu = shifted(perChannel(partial, m), shift);
            float[] muF = padded(rounded(mu));
            for (double[] row : partial) {
                java.util.Arrays.fill(row, 0);
            }
            tasks.forEach(rows.chunks(), g.size(), k -> {
                float[] part = new float[paddedChannels(channels)];
                forEachSubBlock(rows, k, (from, to) -> {
                    loops.sumSquaredDeviationsRows(in, xo + from * channels, to - from, channels,
                            channels, muF, part, 0);
                    add(partial[k], part);
                });
            });
            double[] var = aroundTheMean(perChannel(partial, m), mu, muF);
            float[] offset = finish(g, x, mu, var, gamma, beta, epsilon, mean, variance, invStd, scale);
            float[] out = y.array();
            int yo = y.offset();
            float[] meanR = repeated(mean, channels);
            float[] scaleR = repeated(scale, channels);
            float[] offsetR = repeated(offset, channels);
            tasks.forEach(rows.chunks(), 2L * g.size(), k -> forEachSubBlock(rows, k, (from, to) ->
                    loops.normalizeRows(in, xo + from * channels, out, yo + from * channels,
                            to - from, channels, meanR, scaleR, offsetR, relu)));
        }
    }

    @Override
    public void backward(Geometry g, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
            float[] gamma, float[] mean, float[] invStd, boolean relu, boolean batchStatistics,
            float[] dgamma, float[] dbeta) {
        if (!planar(g)) {
            backwardRowChunks(g, x, y, dy, dx, gamma, mean, invStd, relu, batchStatistics, dgamma, dbeta);
            return;
        }
        g = asPlanes(g);
        int channels = g.channels();
        float[] in = x.array();
        float[] grad = dy.array();
        float[] mask = reluMask(y, relu);
        int xo = x.offset();
        int dyo = dy.offset();
        int yo = relu ? y.offset() : 0;
        Blocking.Planar planar = Blocking.Planar.of(g);
        int blocks = planar.count();
        double[] partialDy = new double[channels * blocks];
        double[] partialDev = new double[channels * blocks];
        int stride = planar.stride();
        forEachBlock(planar, g.size(), (c, b) -> {
            int at = planar.from(c, b);
            partialDy[c * blocks + b] = loops.sumGradient(grad, dyo + at, mask, yo + at,
                    planar.runs(b), planar.length(b), stride);
        });
        forEachBlock(planar, 2L * g.size(), (c, b) -> {
            int at = planar.from(c, b);
            partialDev[c * blocks + b] = loops.sumGradientDeviation(in, xo + at, grad, dyo + at, mask,
                    yo + at, planar.runs(b), planar.length(b), stride, mean[c]);
        });
        float[] a = new float[channels];
        float[] b = new float[channels];
        float[] cc = new float[channels];
        for (int c = 0; c < channels; c++) {
            ChannelMath.backwardCoefficients(c, gamma[c], invStd[c], sumBlocks(partialDy, c, blocks),
                    sumBlocks(partialDev, c, blocks), g.reductionSize(), batchStatistics, a, b, cc, dgamma, dbeta);
        }
        float[] out = dx.array();
        int dxo = dx.offset();
        forEachBlock(planar, 3L * g.size(), (c, k) -> {
            int at = planar.from(c, k);
            loops.gradientApply(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at,
                    planar.runs(k), planar.length(k), stride, mean[c], a[c], b[c], cc[c]);
        });
    }

    private static double sumBlocks(double[] partial, int c, int blocks) {
        double total = 0;
        for (int b = 0; b < blocks; b++) {
            total += partial[c * blocks + b];
        }
        return total;
    }

    private static double[] perChannel(double[] partial, int channels, int blocks, int m) {
        double[] result = new double[channels];
        for (int c = 0; c < channels; c++) {
            result[c] = sumBlocks(partial, c, blocks) / m;
        }
        return result;
    }

    private static double[] perChannel(double[][] chunks, int m) {
        double[] result = new double[chunks[0].length];
        for (double[] chunk : chunks) {
            for (int c = 0; c < result.length; c++) {
                result[c] += chunk[c];
            }
        }
        for (int c = 0; c < result.length; c++) {
            result[c] /= m;
        }
        return result;
    }

    /**
     * Each channel's statistics into the outputs, and the offsets of
     * {@code y = (x - float(mean)) * scale + offset}: beta and what rounding the mean cost.
     */
    private static float[] finish(Geometry g, FloatSpan x, double[] mu, double[] var, float[] gamma, float[] beta,
            float epsilon, float[] mean, float[] variance, float[] invStd, float[] scale) {
        float[] offset = new float[mu.length];
        for (int c = 0; c < mu.length; c++) {
            double exactMean = finishChannel(g, x, c, c, mu[c], var[c], gamma[c], epsilon, mean, variance, invStd, scale);
            offset[c] = ChannelMath.offset(beta[c], exactMean, mean[c], scale[c]);
        }
        return offset;
    }

    /**
     * The variance from the mean square of x - float(mean): that mean square exceeds the
     * variance by exactly (mean - float(mean))^2, which is not small next to a variance far
     * below the mean's rounding (x alternating 1e7 and 1e7 + 1).
     */
    private static double[] aroundTheMean(double[] meanSquares, double[] mean, float[] rounded) {
        for (int c = 0; c < meanSquares.length; c++) {
            double excess = mean[c] - rounded[c];
            meanSquares[c] = Math.max(0, meanSquares[c] - excess * excess);
        }
        return meanSquares;
    }

    /** The mean of x from the mean of x - shift. */
    private static double[] shifted(double[] meanOfDeviations, float[] shift) {
        for (int c = 0; c < meanOfDeviations.length; c++) {
            meanOfDeviations[c] += shift[c];
        }
        return meanOfDeviations;
    }

    private static void add(double[] total, float[] part) {
        for (int c = 0; c < total.length; c++) {
            total[c] += part[c];
        }
    }

    private static float[] rounded(double[] values) {
        float[] result = new float[values.length];
        for (int c = 0; c < values.length; c++) {
            result[c] = (float) values[c];
        }
        return result;
    }
}
