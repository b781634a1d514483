package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.parallel.Tasks;

/**
 * The fewest trips through memory. Statistics come from per-block moments, merged with Chan's
 * formula in block order: one sweep per block sums x - K and (x - K)^2 with K the mean of the
 * channel's first values, and a block whose M2 = S2 - S1^2/n cancels (K far from the block's
 * mean) is swept again around its own mean. Then y = (x - center) * scale + offset, ReLU
 * included: a channel whose mean lies within 2 standard deviations of 0 and is not constant
 * ({@link ChannelMath#multiplyAddKeepsDigits}) takes center 0, one FMA (x - 0 is x); any other,
 * center mean rounded to float; the offset, beta - (mean - center) * scale from the mean in
 * double, makes up what the center lacks. Where every center is 0, a sweep of
 * its own runs inference's loops, which load no centers. Backward sums dy' and dy' * (x - mean)
 * in one sweep.
 *
 * <p>NCHW up to {@link Blocking#IN_CACHE_FLOATS}: one task reduces and normalizes whole channels,
 * one at a time, and one sweep normalizes a channel and sums the next. A larger NCHW tensor is
 * reduced first, block by block (in memory order where a block is one plane; plane by plane,
 * in memory order, where planes of {@link Blocking#PLANE_SUMS} floats or more are shorter than
 * a block, their sums added up per channel as a row chunk's are), then normalized
 * over contiguous ranges of planes (planes under {@link Blocking#SHORT_PLANE} floats: an image a
 * row, through the row loops): writing a channel at a time, a run of each image after the
 * other, measured slower than reading x twice in memory order on the AMD machine of
 * jmh/RESULTS.md, even with the channel still in L2. With too few channels for the threads,
 * blocks are split over threads; every path merges the same block moments in the same order, so
 * the bits do not change. NHWC: row chunks reduce in parallel, four rows a step, then normalize,
 * the last chunk (still in cache) first. Within a chunk the sums of x - K add up in double and
 * become moments once. (Keeping a block of channels over all rows in L2 was measured slower:
 * reading part of each row at a stride costs more than reading x again; see jmh/RESULTS.md.)
 */
public final class FusedKernels extends BlockedKernels {

    public FusedKernels(Loops loops, Tasks tasks) {
        super(loops, tasks);
    }

    @Override
    public void forwardTraining(Geometry g, FloatSpan x, FloatSpan y, float[] gamma, float[] beta,
            float epsilon, boolean relu, float[] mean, float[] variance, float[] invStd) {
        Forward f = new Forward(asPlanes(g), x, y, gamma, beta, epsilon, relu, mean, variance, invStd);
        if (planar(g)) {
            f.planar();
        } else {
            f.rowChunks();
        }
    }

    @Override
    public void backward(Geometry g, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
            float[] gamma, float[] mean, float[] invStd, boolean relu, boolean batchStatistics,
            float[] dgamma, float[] dbeta) {
        Backward bw = new Backward(asPlanes(g), x, y, dy, dx, gamma, mean, invStd, relu, batchStatistics, dgamma,
                dbeta);
        if (planar(g)) {
            bw.planar();
        } else {
            backwardRowChunks(g, x, y, dy, dx, gamma, mean, invStd, relu, batchStatistics, dgamma, dbeta);
        }
    }

    /** One training forward: its arguments and the per-channel arrays its tasks fill. */
    private final class Forward {
        final Geometry g;
        final int channels;
        final FloatSpan x;
        final FloatSpan y;
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
        /** y = (x - center) * scale + offset, per channel: see {@link #coefficients}. */
        final float[] center;
        final float[] offset;
        final float[] shift;

        Forward(Geometry g, FloatSpan x, FloatSpan y, float[] gamma, float[] beta, float epsilon,
                boolean relu, float[] mean, float[] variance, float[] invStd) {
            this.g = g;
            this.channels = g.channels();
            this.x = x;
            this.y = y;
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
            this.scale = new float[paddedChannels(channels)];
            this.center = new float[paddedChannels(channels)];
            this.offset = new float[paddedChannels(channels)];
            this.shift = firstValues(g, x);
        }

        void finish(Moments moments, int c) {
            double exactMean = finishChannel(g, x, c, c, moments.mean[c], moments.variance(c), gamma[c], epsilon,
                    mean, variance, invStd, scale);
            coefficients(c, c, exactMean, mean, variance, invStd, scale, center, offset);
        }

        /**
         * Center and offset of channel c, from its mean in double and its finished statistics at
         * index i of the arrays given: center 0 where {@link ChannelMath#multiplyAddKeepsDigits},
         * the mean rounded to float otherwise; the offset makes up the difference
         * ({@link ChannelMath#offset}).
         */
        void coefficients(int c, int i, double exactMean, float[] means, float[] variances, float[] invStds,
                float[] scales, float[] centers, float[] offsets) {
            boolean multiplyAdd = ChannelMath.multiplyAddKeepsDigits(means[i], variances[i], invStds[i]);
            centers[i] = multiplyAdd ? 0f : means[i];
            offsets[i] = ChannelMath.offset(beta[c], exactMean, centers[i], scales[i]);
        }

        /**
         * Normalizes all of x as inference does, x * scale + offset, if every center is 0: the
         * same bits as (x - 0) * scale + offset, with one load (NHWC) and one subtract fewer per
         * element. False, and nothing written, if not.
         */
        boolean normalizedByMultiplyAdd() {
            for (int c = 0; c < channels; c++) {
                if (center[c] != 0f) {
                    return false;
                }
            }
            forwardInference(g, x, y, scale, offset, relu);
            return true;
        }

        /** Mean and M2 of channel c's block b into {@code into[at]}, {@code into[at + 1]}. */
        void blockMoments(Blocking.Planar planar, int c, int b, double[] into, int at) {
            double[] sums = new double[2];
            loops.deviationSums(in, xo + planar.from(c, b), planar.runs(b), planar.length(b), planar.stride(),
                    shift[c], sums);
            blockMoments(planar, c, b, sums, into, at);
        }

        /**
         * Mean and M2 of channel c's block b from its shifted sums, into {@code into[at]},
         * {@code into[at + 1]}; the block is swept again around its mean when the sums cancel.
         */
        void blockMoments(Blocking.Planar planar, int c, int b, double[] sums, double[] into, int at) {
            int n = planar.size(b);
            float center = shift[c];
            if (cancelled(sums[0], sums[1], n)) {
                center = (float) (center + sums[0] / n);
                sums = new double[2];
                loops.deviationSums(in, xo + planar.from(c, b), planar.runs(b), planar.length(b), planar.stride(),
                        center, sums);
            }
            into[at] = center + sums[0] / n;
            into[at + 1] = sums[1] - sums[0] * sums[0] / n;
        }

        /**
         * Channel c's moments from the shifted sums of its planes, image by image: the sums of
         * planes that keep their digits add up in double and become moments once, after any
         * plane whose sums cancel has been swept again around its own mean and merged on its own
         * (as a row chunk's sub-blocks do, see ChunkMoments).
         */
        void mergePlanes(double[] planeSums, Moments moments, int c) {
            int inner = g.inner();
            double s1 = 0;
            double s2 = 0;
            long n = 0;
            for (int image = 0; image < g.outer(); image++) {
                int p = image * channels + c;
                double a1 = planeSums[2 * (c * g.outer() + image)];
                double a2 = planeSums[2 * (c * g.outer() + image) + 1];
                if (cancelled(a1, a2, inner)) {
                    float center = (float) (shift[c] + a1 / inner);
                    double[] sums = new double[2];
                    loops.deviationSums(in, xo + p * inner, 1, inner, inner, center, sums);
                    moments.mergeShifted(c, inner, center, sums[0], sums[1]);
                } else {
                    s1 += a1;
                    s2 += a2;
                    n += inner;
                }
            }
            if (n > 0) {
                moments.mergeShifted(c, n, shift[c], s1, s2);
            }
        }

        void normalize(Blocking.Planar planar, int c, int b, float channelCenter, float channelScale,
                float channelOffset) {
            int at = planar.from(c, b);
            loops.normalize(in, xo + at, out, yo + at, planar.runs(b), planar.length(b), planar.stride(),
                    channelCenter, channelScale, channelOffset, relu);
        }

        void planar() {
            Blocking.Planar planar = Blocking.Planar.of(g);
            int blocks = planar.count();
            if (inCache(g) && byChannels(channels, 2L * g.size())) {
                forEachChannelGroup(channels, 2L * g.size(), (from, to) -> new Group(planar, from, to).run());
                return;
            }
            Moments moments = new Moments(channels);
            int inner = g.inner();
            if (byPlanes(g, planar)) {
                double[] planeSums = sumsOfPlanes(g, g.size(), (p, sums) -> loops.deviationSums(in,
                        xo + p * inner, 1, inner, inner, shift[p % channels], sums));
                for (int c = 0; c < channels; c++) {
                    mergePlanes(planeSums, moments, c);
                    finish(moments, c);
                }
            } else {
                double[] blockResults = new double[2 * channels * blocks];
                forEachBlockInMemoryOrder(g, planar, g.size(),
                        (c, b) -> blockMoments(planar, c, b, blockResults, 2 * (c * blocks + b)));
                for (int c = 0; c < channels; c++) {
                    for (int b = 0; b < blocks; b++) {
                        int at = 2 * (c * blocks + b);
                        moments.merge(c, planar.size(b), blockResults[at], blockResults[at + 1]);
                    }
                    finish(moments, c);
                }
            }
            if (normalizedByMultiplyAdd()) {
                return;
            }
            if (shortPlanes(g)) {
                int width = channels * inner;
                float[] centerS = spread(center, g);
                float[] scaleS = spread(scale, g);
                float[] offsetS = spread(offset, g);
                forEachImageRows(g, 2L * g.size(), (from, to) -> loops.normalizeRows(in, xo + from * width, out,
                        yo + from * width, to - from, width, centerS, scaleS, offsetS, relu));
                return;
            }
            forEachPlaneRange(g, 2L * g.size(), (from, to) -> {
                for (int p = from; p < to; p++) {
                    int c = p % channels;
                    loops.normalize(in, xo + p * inner, out, yo + p * inner, 1, inner, inner, center[c],
                            scale[c], offset[c], relu);
                }
            });
        }

        /**
         * One task's channels [from, to) of the NCHW forward, whole. Their statistics stay in the
         * task's own arrays (indexed from 0) until it ends and copies them out: per-channel
         * outputs of two groups share cache lines, and a store to a line the other core holds
         * stalls the stores of y behind it. (2 threads on (8,64,16,16): 16.5-16.8 us a call while
         * the tasks wrote the shared arrays channel by channel, 14.5 us now; 1 thread 22-23 us.)
         */
        final class Group {
            final Blocking.Planar planar;
            final int from;
            final int to;
            final Moments moments;
            final float[] groupMean;
            final float[] groupVariance;
            final float[] groupInvStd;
            final float[] groupScale;
            final float[] groupCenter;
            final float[] groupOffset;

            Group(Blocking.Planar planar, int from, int to) {
                this.planar = planar;
                this.from = from;
                this.to = to;
                int n = to - from;
                moments = new Moments(n);
                groupMean = new float[n];
                groupVariance = new float[n];
                groupInvStd = new float[n];
                groupScale = new float[n];
                groupCenter = new float[n];
                groupOffset = new float[n];
            }

            void run() {
                int blocks = planar.count();
                double[] block = new double[2];
                double[] sums = new double[2];
                for (int b = 0; b < blocks; b++) {
                    blockMoments(planar, from, b, block, 0);
                    moments.merge(0, planar.size(b), block[0], block[1]);
                }
                finish(from);
                // One sweep normalizes block b of channel c and sums block b of channel c + 1:
                // reads of memory for the statistics overlap the writes of y, and x of channel c
                // comes back from L2. Each channel's blocks still merge in order.
                for (int c = from; c < to; c++) {
                    int next = c + 1;
                    int i = c - from;
                    for (int b = 0; b < blocks; b++) {
                        int at = planar.from(c, b);
                        if (next < to) {
                            loops.normalizeWithDeviationSums(in, xo + at, out, yo + at, planar.runs(b),
                                    planar.length(b), planar.stride(), groupCenter[i], groupScale[i],
                                    groupOffset[i], relu, xo + planar.from(next, b), shift[next], sums);
                            blockMoments(planar, next, b, sums, block, 0);
                            moments.merge(i + 1, planar.size(b), block[0], block[1]);
                        } else {
                            normalize(planar, c, b, groupCenter[i], groupScale[i], groupOffset[i]);
                        }
                    }
                    if (next < to) {
                        finish(next);
                    }
                }
                int n = to - from;
                System.arraycopy(groupMean, 0, mean, from, n);
                System.arraycopy(groupVariance, 0, variance, from, n);
                System.arraycopy(groupInvStd, 0, invStd, from, n);
            }

            void finish(int c) {
                int i = c - from;
                double exactMean = finishChannel(g, x, c, i, moments.mean[i], moments.variance(i), gamma[c], epsilon,
                        groupMean, groupVariance, groupInvStd, groupScale);
                coefficients(c, i, exactMean, groupMean, groupVariance, groupInvStd, groupScale, groupCenter,
                        groupOffset);
            }
        }

        /**
         * One row chunk's statistics. Its sub-blocks all sum x - K with the same shift K, so
         * their sums add up in double and become a mean and an M2 once, at the end; a channel
         * whose sums cancel in a sub-block is swept again around its own mean there and
         * Chan-merged on its own. (If no sub-block cancels, their union cannot: its M2 is at
         * least the sum of theirs.) Whether one channel cancels (or is NaN) never changes how
         * another is summed, so its bits do not depend on the other channels.
         */
        final class ChunkMoments {
            final double[] s1 = new double[channels];
            final double[] s2 = new double[channels];
            final long[] n = new long[channels];
            /** Moments of the sub-blocks swept again around their means; null while there are none. */
            Moments swept;
            final float[] sums = new float[paddedChannels(channels)];
            final float[] squares = new float[paddedChannels(channels)];

            void add(int from, int to) {
                int rows = to - from;
                int base = xo + from * channels;
                loops.deviationSumsRows(in, base, rows, channels, channels, shift, sums, squares, 0);
                boolean again = false;
                for (int c = 0; c < channels; c++) {
                    again |= cancelled(sums[c], squares[c], rows);
                }
                float[] centers = null;
                float[] again1 = null;
                float[] again2 = null;
                if (again) {
                    centers = new float[paddedChannels(channels)];
                    for (int c = 0; c < channels; c++) {
                        centers[c] = (float) (shift[c] + (double) sums[c] / rows);
                    }
                    again1 = new float[paddedChannels(channels)];
                    again2 = new float[paddedChannels(channels)];
                    loops.deviationSumsRows(in, base, rows, channels, channels, centers, again1, again2, 0);
                    swept = swept == null ? new Moments(channels) : swept;
                }
                for (int c = 0; c < channels; c++) {
                    if (again && cancelled(sums[c], squares[c], rows)) {
                        swept.mergeShifted(c, rows, centers[c], again1[c], again2[c]);
                    } else {
                        s1[c] += sums[c];
                        s2[c] += squares[c];
                        n[c] += rows;
                    }
                }
            }

            void mergeInto(Moments total) {
                for (int c = 0; c < channels; c++) {
                    if (n[c] > 0) {
                        total.mergeShifted(c, n[c], shift[c], s1[c], s2[c]);
                    }
                }
                if (swept != null) {
                    total.mergeAll(swept);
                }
            }
        }

        void rowChunks() {
            Blocking.Rows rows = Blocking.Rows.of(g);
            ChunkMoments[] chunks = new ChunkMoments[rows.chunks()];
            tasks.forEach(rows.chunks(), g.size(), k -> {
                ChunkMoments chunk = new ChunkMoments();
                forEachSubBlock(rows, k, chunk::add);
                chunks[k] = chunk;
            });
            Moments total = new Moments(channels);
            for (ChunkMoments chunk : chunks) {
                chunk.mergeInto(total);
            }
            for (int c = 0; c < channels; c++) {
                finish(total, c);
            }
            if (normalizedByMultiplyAdd()) {
                return;
            }
            float[] centerR = repeated(center, channels);
            float[] scaleR = repeated(scale, channels);
            float[] offsetR = repeated(offset, channels);
            forEachSubBlockLastChunkFirst(rows, 2L * g.size(), (from, to) ->
                    loops.normalizeRows(in, xo + from * channels, out, yo + from * channels, to - from,
                            channels, centerR, scaleR, offsetR, relu));
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
        }

        /** Channel ch's coefficients and gradients from its sums, into index {@code at} of the arrays. */
        void coefficients(int ch, double sumDy, double sumDyDev, int at, float[] a, float[] b, float[] c,
                float[] dgammaInto, float[] dbetaInto) {
            ChannelMath.backwardCoefficients(at, gamma[ch], invStd[ch], sumDy, sumDyDev,
                    g.reductionSize(), batchStatistics, a, b, c, dgammaInto, dbetaInto);
        }

        /** sum dy' and sum dy' * (x - mean) of channel ch's block k, into into[at], into[at + 1]. */
        void blockSums(Blocking.Planar planar, int ch, int k, double[] into, int at) {
            double[] sums = new double[2];
            int i = planar.from(ch, k);
            loops.gradientSums(in, xo + i, grad, dyo + i, mask, yo + i, planar.runs(k), planar.length(k),
                    planar.stride(), mean[ch], sums);
            into[at] = sums[0];
            into[at + 1] = sums[1];
        }

        /** dx of channel ch's block k, with the channel's coefficients a, b, c. */
        void apply(Blocking.Planar planar, int ch, int k, float a, float b, float c) {
            int i = planar.from(ch, k);
            loops.gradientApply(in, xo + i, grad, dyo + i, mask, yo + i, out, dxo + i, planar.runs(k),
                    planar.length(k), planar.stride(), mean[ch], a, b, c);
        }

        void planar() {
            Blocking.Planar planar = Blocking.Planar.of(g);
            int blocks = planar.count();
            if (inCache(g) && byChannels(channels, 3L * g.size())) {
                forEachChannelGroup(channels, 3L * g.size(), (from, to) -> new Group(planar, from, to).run());
                return;
            }
            float[] a = new float[channels];
            float[] b = new float[channels];
            float[] c = new float[channels];
            int inner = g.inner();
            // per channel, its sums of each plane (larger tensors with planes short of a block)
            // or of each block, in order
            boolean byPlanes = byPlanes(g, planar);
            int units = byPlanes ? g.outer() : blocks;
            double[] results;
            if (byPlanes) {
                results = sumsOfPlanes(g, 2L * g.size(), (p, sums) -> loops.gradientSums(in, xo + p * inner, grad,
                        dyo + p * inner, mask, yo + p * inner, 1, inner, inner, mean[p % channels], sums));
            } else {
                results = new double[2 * channels * blocks];
                forEachBlockInMemoryOrder(g, planar, 2L * g.size(),
                        (ch, k) -> blockSums(planar, ch, k, results, 2 * (ch * blocks + k)));
            }
            for (int ch = 0; ch < channels; ch++) {
                double sumDy = 0;
                double sumDyDev = 0;
                for (int k = 0; k < units; k++) {
                    sumDy += results[2 * (ch * units + k)];
                    sumDyDev += results[2 * (ch * units + k) + 1];
                }
                coefficients(ch, sumDy, sumDyDev, ch, a, b, c, dgamma, dbeta);
            }
            if (shortPlanes(g)) {
                int width = channels * inner;
                float[] meanS = spread(mean, g);
                float[] aS = spread(a, g);
                float[] bS = spread(b, g);
                float[] cS = spread(c, g);
                forEachImageRows(g, 3L * g.size(), (from, to) -> {
                    int at = from * width;
                    loops.gradientApplyRows(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, to - from,
                            width, meanS, aS, bS, cS);
                });
                return;
            }
            forEachPlaneRange(g, 3L * g.size(), (from, to) -> {
                for (int p = from; p < to; p++) {
                    int ch = p % channels;
                    int at = p * inner;
                    loops.gradientApply(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, 1, inner,
                            inner, mean[ch], a[ch], b[ch], c[ch]);
                }
            });
        }

        /**
         * One task's channels [from, to) of the NCHW backward, whole; like the forward's group,
         * its coefficients and gradients stay in its own arrays until it ends.
         */
        final class Group {
            final Blocking.Planar planar;
            final int from;
            final int to;
            final float[] groupA;
            final float[] groupB;
            final float[] groupC;
            final float[] groupDgamma;
            final float[] groupDbeta;

            Group(Blocking.Planar planar, int from, int to) {
                this.planar = planar;
                this.from = from;
                this.to = to;
                int n = to - from;
                groupA = new float[n];
                groupB = new float[n];
                groupC = new float[n];
                groupDgamma = new float[n];
                groupDbeta = new float[n];
            }

            void run() {
                int blocks = planar.count();
                double[] block = new double[2];
                for (int ch = from; ch < to; ch++) {
                    double sumDy = 0;
                    double sumDyDev = 0;
                    for (int k = 0; k < blocks; k++) {
                        blockSums(planar, ch, k, block, 0);
                        sumDy += block[0];
                        sumDyDev += block[1];
                    }
                    int i = ch - from;
                    coefficients(ch, sumDy, sumDyDev, i, groupA, groupB, groupC, groupDgamma, groupDbeta);
                    for (int k = 0; k < blocks; k++) {
                        apply(planar, ch, k, groupA[i], groupB[i], groupC[i]);
                    }
                }
                System.arraycopy(groupDgamma, 0, dgamma, from, to - from);
                System.arraycopy(groupDbeta, 0, dbeta, from, to - from);
            }
        }
    }

    /**
     * Whether an NCHW tensor is small enough that a task's channels stay in L2 between the
     * sweep that reduces them and the one that writes: then whole channel groups go to a task.
     * A larger one is reduced first and written in memory order after (see
     * {@link #forEachPlaneRange}).
     */
    static boolean inCache(Geometry g) {
        return g.size() <= Blocking.IN_CACHE_FLOATS;
    }

    /**
     * Whether a larger NCHW tensor is reduced plane by plane, in memory order: planes of
     * {@link Blocking#PLANE_SUMS} floats or more whose blocks would take several images. Those
     * blocks read a channel's runs one image apart. Fused, 1 thread, A/B (ms, before and after):
     * forward (32,128,28,28) 1.78-2.26 and 1.00-1.26, (64,128,20,20) 1.91-1.96 and 1.13-1.23;
     * backward (256,64,28,28) 18.9-21.2 and 12.2-18.5. Shorter planes lose more to a call and a
     * lane reduction per plane than the order gains: (64,256,7,7) forward 0.35-0.53 and
     * 0.65-0.85, (32,256,14,14) 0.39-0.48 and 0.52-0.86.
     */
    static boolean byPlanes(Geometry g, Blocking.Planar planar) {
        return !inCache(g) && g.inner() >= Blocking.PLANE_SUMS && planar.segmentsPerBlock() > 1;
    }

    /**
     * True when {@code M2 = S2 - S1^2/n}, from the sums S1 of x - K and S2 of (x - K)^2 over n
     * values, is under a quarter of S2 (or is NaN): the shift K lies more than sqrt(3) standard
     * deviations from the block's mean, and the rounding of S2 would weigh over four times as
     * much in M2 as it does in S2. The block is then summed again around its own mean, for both
     * the mean and M2. Written without a division: it runs once per channel per block.
     */
    static boolean cancelled(double s1, double s2, long n) {
        return !(n * s2 - s1 * s1 >= 0.25 * n * s2);
    }

    @Override
    public String toString() {
        return "FusedKernels[" + loops.getClass().getSimpleName() + "]";
    }
}
