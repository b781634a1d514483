package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.parallel.Tasks;

/**
 * The fewest trips through memory. Statistics come from per-block moments (a two-pass over a
 * 16 KiB block that stays in L1, shifted by a value of the channel) merged with Chan's formula
 * in block order; then one subtract and one FMA per element normalize, ReLU included.
 *
 * <p>NCHW: a channel (all its blocks) is reduced and normalized by one task, so the second read
 * of x comes from L2. With fewer channels than twice the threads, blocks are split over threads
 * instead; the same block moments merge in the same order, so the bits do not change.
 * NHWC: when a block of channels over all rows fits in L2 ({@link Blocking#channelBlock}), the
 * same holds per channel block; otherwise row chunks reduce in parallel, then normalize.
 * Backward sums dy' and dy' * (x - mean) in one sweep.
 */
public final class FusedKernels extends BlockedKernels {

    public FusedKernels(Loops loops, Tasks tasks) {
        super(loops, tasks);
    }

    @Override
    public void forwardTraining(Geometry g, FloatSpan x, FloatSpan y, float[] gamma, float[] beta,
            float epsilon, boolean relu, float[] mean, float[] variance, float[] invStd) {
        Forward f = new Forward(g, x, y, gamma, beta, epsilon, relu, mean, variance, invStd);
        if (g.inner() > 1) {
            f.planar();
        } else if (Blocking.channelBlock(g) > 0) {
            f.channelBlocks(Blocking.channelBlock(g));
        } else {
            f.rowChunks();
        }
    }

    @Override
    public void backward(Geometry g, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
            float[] gamma, float[] mean, float[] invStd, boolean relu, boolean batchStatistics,
            float[] dgamma, float[] dbeta) {
        Backward bw = new Backward(g, x, y, dy, dx, gamma, mean, invStd, relu, batchStatistics, dgamma, dbeta);
        if (g.inner() > 1) {
            bw.planar();
        } else if (Blocking.channelBlock(g) > 0) {
            bw.channelBlocks(Blocking.channelBlock(g));
        } else {
            backwardRowChunks(g, x, y, dy, dx, gamma, mean, invStd, relu, batchStatistics, dgamma, dbeta);
        }
    }

    /** One training forward: its arguments and the per-channel arrays its tasks fill. */
    private final class Forward {
        final Geometry g;
        final int channels;
        final float[] in;
        final int xo;
        final float[] out;
        final int yo;
        final float[] gamma;
        final float[] beta;
        final float epsilon;
        final boolean relu;
        final float[] mean;
        final float[] variance;
        final float[] invStd;
        final float[] scale;
        final float[] shift;

        Forward(Geometry g, FloatSpan x, FloatSpan y, float[] gamma, float[] beta, float epsilon,
                boolean relu, float[] mean, float[] variance, float[] invStd) {
            this.g = g;
            this.channels = g.channels();
            this.in = x.array();
            this.xo = x.offset();
            this.out = y.array();
            this.yo = y.offset();
            this.gamma = gamma;
            this.beta = beta;
            this.epsilon = epsilon;
            this.relu = relu;
            this.mean = mean;
            this.variance = variance;
            this.invStd = invStd;
            this.scale = new float[channels];
            // the channel's first value: see Loops.sumDeviations
            this.shift = new float[channels];
            for (int c = 0; c < channels; c++) {
                shift[c] = in[xo + c * g.inner()];
            }
        }

        void finish(Moments moments, int c) {
            finishChannel(c, moments.mean[c], moments.variance(c), gamma[c], epsilon, mean, variance, invStd, scale);
        }

        /** Mean and M2 of channel c's block b into {@code into[at]}, {@code into[at + 1]}. */
        void blockMoments(Blocking.Planar planar, int c, int b, double[] into, int at) {
            int n = planar.size(b);
            double blockMean = shift[c] + planar.sum(c, b, (k, len) -> loops.sumDeviations(in, xo + k, len, shift[c])) / n;
            float center = (float) blockMean;
            into[at] = blockMean;
            into[at + 1] = planar.sum(c, b, (k, len) -> loops.sumSquaredDeviations(in, xo + k, len, center));
        }

        void normalize(Blocking.Planar planar, int c, int b) {
            planar.forEachRun(c, b, (k, n) ->
                    loops.normalize(in, xo + k, out, yo + k, n, mean[c], scale[c], beta[c], relu));
        }

        void planar() {
            Blocking.Planar planar = Blocking.Planar.of(g);
            int blocks = planar.count();
            Moments moments = new Moments(channels);
            if (channels >= 2 * tasks.threads()) {
                tasks.forEach(channels, 2L * g.size(), c -> {
                    double[] block = new double[2];
                    for (int b = 0; b < blocks; b++) {
                        blockMoments(planar, c, b, block, 0);
                        moments.merge(c, planar.size(b), block[0], block[1]);
                    }
                    finish(moments, c);
                    for (int b = 0; b < blocks; b++) {
                        normalize(planar, c, b);
                    }
                });
                return;
            }
            double[] blockResults = new double[2 * channels * blocks];
            forEachBlock(planar, g.size(), (c, b) -> blockMoments(planar, c, b, blockResults, 2 * (c * blocks + b)));
            for (int c = 0; c < channels; c++) {
                for (int b = 0; b < blocks; b++) {
                    int at = 2 * (c * blocks + b);
                    moments.merge(c, planar.size(b), blockResults[at], blockResults[at + 1]);
                }
                finish(moments, c);
            }
            forEachBlock(planar, 2L * g.size(), (c, b) -> normalize(planar, c, b));
        }

        /**
         * Folds rows [from, to) of channels [c0, c0 + width) into {@code moments}; the float
         * arrays are scratch indexed by channel, disjoint between concurrent callers.
         */
        void subBlockMoments(int from, int to, int c0, int width, Moments moments, float[] sums,
                float[] centers, float[] m2) {
            int rows = to - from;
            int base = xo + from * channels + c0;
            loops.sumDeviationsRows(in, base, rows, channels, width, shift, sums, c0);
            for (int c = c0; c < c0 + width; c++) {
                centers[c] = (float) (shift[c] + (double) sums[c] / rows);
            }
            loops.sumSquaredDeviationsRows(in, base, rows, channels, width, centers, m2, c0);
            for (int c = c0; c < c0 + width; c++) {
                moments.merge(c, rows, shift[c] + (double) sums[c] / rows, m2[c]);
            }
        }

        void channelBlocks(int blockWidth) {
            int rowsPerBlock = Math.max(1, Blocking.BLOCK_FLOATS / blockWidth);
            int count = (channels + blockWidth - 1) / blockWidth;
            Moments moments = new Moments(channels);
            float[] sums = new float[channels];
            float[] centers = new float[channels];
            float[] m2 = new float[channels];
            tasks.forEach(count, 2L * g.size(), t -> {
                int c0 = t * blockWidth;
                int width = Math.min(blockWidth, channels - c0);
                for (int r = 0; r < g.outer(); r += rowsPerBlock) {
                    subBlockMoments(r, Math.min(g.outer(), r + rowsPerBlock), c0, width, moments, sums, centers, m2);
                }
                for (int c = c0; c < c0 + width; c++) {
                    finish(moments, c);
                }
                for (int r = 0; r < g.outer(); r += rowsPerBlock) {
                    int at = r * channels + c0;
                    loops.normalizeRows(in, xo + at, out, yo + at, Math.min(rowsPerBlock, g.outer() - r),
                            channels, width, mean, scale, beta, c0, relu);
                }
            });
        }

        void rowChunks() {
            Blocking.Rows rows = Blocking.Rows.of(g, channels);
            Moments[] chunks = new Moments[rows.chunks()];
            tasks.forEach(rows.chunks(), g.size(), k -> {
                Moments chunk = new Moments(channels);
                float[] sums = new float[channels];
                float[] centers = new float[channels];
                float[] m2 = new float[channels];
                forEachSubBlock(rows, k, (from, to) -> subBlockMoments(from, to, 0, channels, chunk, sums, centers, m2));
                chunks[k] = chunk;
            });
            Moments total = new Moments(channels);
            for (Moments chunk : chunks) {
                total.mergeAll(chunk);
            }
            for (int c = 0; c < channels; c++) {
                finish(total, c);
            }
            tasks.forEach(rows.chunks(), 2L * g.size(), k -> forEachSubBlock(rows, k, (from, to) ->
                    loops.normalizeRows(in, xo + from * channels, out, yo + from * channels, to - from,
                            channels, channels, mean, scale, beta, 0, relu)));
        }
    }

    /** One backward: its arguments and the per-channel coefficients its tasks fill. */
    private final class Backward {
        final Geometry g;
        final int channels;
        final float[] in;
        final int xo;
        final float[] mask;
        final int yo;
        final float[] grad;
        final int dyo;
        final float[] out;
        final int dxo;
        final float[] gamma;
        final float[] mean;
        final float[] invStd;
        final boolean batchStatistics;
        final float[] dgamma;
        final float[] dbeta;
        final float[] a;
        final float[] b;
        final float[] c;

        Backward(Geometry g, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx, float[] gamma,
                float[] mean, float[] invStd, boolean relu, boolean batchStatistics, float[] dgamma,
                float[] dbeta) {
            this.g = g;
            this.channels = g.channels();
            this.in = x.array();
            this.xo = x.offset();
            this.mask = reluMask(y, relu);
            this.yo = relu ? y.offset() : 0;
            this.grad = dy.array();
            this.dyo = dy.offset();
            this.out = dx.array();
            this.dxo = dx.offset();
            this.gamma = gamma;
            this.mean = mean;
            this.invStd = invStd;
            this.batchStatistics = batchStatistics;
            this.dgamma = dgamma;
            this.dbeta = dbeta;
            this.a = new float[channels];
            this.b = new float[channels];
            this.c = new float[channels];
        }

        void coefficients(int ch, double sumDy, double sumDyDev) {
            ChannelMath.backwardCoefficients(ch, gamma[ch], invStd[ch], sumDy, sumDyDev,
                    g.reductionSize(), batchStatistics, a, b, c, dgamma, dbeta);
        }

        /** sum dy' and sum dy' * (x - mean) of channel ch's block k, added to into[at], into[at + 1]. */
        void blockSums(Blocking.Planar planar, int ch, int k, double[] into, int at) {
            double[] sums = new double[2];
            planar.forEachRun(ch, k, (i, n) ->
                    loops.gradientSums(in, xo + i, grad, dyo + i, mask, yo + i, n, mean[ch], sums));
            into[at] = sums[0];
            into[at + 1] = sums[1];
        }

        void apply(Blocking.Planar planar, int ch, int k) {
            planar.forEachRun(ch, k, (i, n) -> loops.gradientApply(in, xo + i, grad, dyo + i, mask,
                    yo + i, out, dxo + i, n, mean[ch], a[ch], b[ch], c[ch]));
        }

        void planar() {
            Blocking.Planar planar = Blocking.Planar.of(g);
            int blocks = planar.count();
            if (channels >= 2 * tasks.threads()) {
                tasks.forEach(channels, 3L * g.size(), ch -> {
                    double[] block = new double[2];
                    double sumDy = 0;
                    double sumDyDev = 0;
                    for (int k = 0; k < blocks; k++) {
                        blockSums(planar, ch, k, block, 0);
                        sumDy += block[0];
                        sumDyDev += block[1];
                    }
                    coefficients(ch, sumDy, sumDyDev);
                    for (int k = 0; k < blocks; k++) {
                        apply(planar, ch, k);
                    }
                });
                return;
            }
            double[] blockResults = new double[2 * channels * blocks];
            forEachBlock(planar, 2L * g.size(), (ch, k) -> blockSums(planar, ch, k, blockResults, 2 * (ch * blocks + k)));
            for (int ch = 0; ch < channels; ch++) {
                double sumDy = 0;
                double sumDyDev = 0;
                for (int k = 0; k < blocks; k++) {
                    sumDy += blockResults[2 * (ch * blocks + k)];
                    sumDyDev += blockResults[2 * (ch * blocks + k) + 1];
                }
                coefficients(ch, sumDy, sumDyDev);
            }
            forEachBlock(planar, 3L * g.size(), (ch, k) -> apply(planar, ch, k));
        }

        void channelBlocks(int blockWidth) {
            int rowsPerBlock = Math.max(1, Blocking.BLOCK_FLOATS / blockWidth);
            int count = (channels + blockWidth - 1) / blockWidth;
            float[] partDy = new float[channels];
            float[] partDev = new float[channels];
            tasks.forEach(count, 3L * g.size(), t -> {
                int c0 = t * blockWidth;
                int width = Math.min(blockWidth, channels - c0);
                double[] sumDy = new double[width];
                double[] sumDyDev = new double[width];
                for (int r = 0; r < g.outer(); r += rowsPerBlock) {
                    int at = r * channels + c0;
                    loops.gradientSumsRows(in, xo + at, grad, dyo + at, mask, yo + at,
                            Math.min(rowsPerBlock, g.outer() - r), channels, width, mean, partDy, partDev, c0);
                    for (int j = 0; j < width; j++) {
                        sumDy[j] += partDy[c0 + j];
                        sumDyDev[j] += partDev[c0 + j];
                    }
                }
                for (int j = 0; j < width; j++) {
                    coefficients(c0 + j, sumDy[j], sumDyDev[j]);
                }
                for (int r = 0; r < g.outer(); r += rowsPerBlock) {
                    int at = r * channels + c0;
                    loops.gradientApplyRows(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at,
                            Math.min(rowsPerBlock, g.outer() - r), channels, width, mean, a, b, c, c0);
                }
            });
        }
    }

    @Override
    public String toString() {
        return "FusedKernels[" + loops.getClass().getSimpleName() + "]";
    }
}
