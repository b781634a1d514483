package io.github.batchnorm4j.internal.kernel.planar;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.BackwardCall;
import io.github.batchnorm4j.internal.kernel.ChannelMath;
import io.github.batchnorm4j.internal.kernel.InferenceCall;
import io.github.batchnorm4j.internal.kernel.LayoutKernels;
import io.github.batchnorm4j.internal.kernel.Moments;
import io.github.batchnorm4j.internal.kernel.PerChannel;
import io.github.batchnorm4j.internal.kernel.Plan;
import io.github.batchnorm4j.internal.kernel.Statistics;
import io.github.batchnorm4j.internal.kernel.TrainingCall;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.foreign.MemorySegment;

/**
 * FUSED on planar tensors: the fewest trips through memory.
 *
 * <p>Statistics come from per-block moments merged with Chan's formula in a fixed order: one
 * sweep per block sums x - K and (x - K)^2, K the mean of the channel's first values
 * ({@link Statistics#shifts}), and a block whose sums cancel ({@link Moments#cancelled}) is
 * swept again around its own mean. Then y = (x - center) * scale + offset, ReLU included: a
 * channel whose mean lies within 2 standard deviations of 0 and is not constant takes center 0,
 * one FMA; any other, center the mean rounded to float; the offset, from the mean in double,
 * makes up what the center lacks ({@link ChannelMath#offset}). Where every center is 0, the
 * write is inference's, which loads no centers. Backward sums dy' and dy' * (x - mean) in one
 * sweep, then writes dx.
 *
 * <p>The paths ({@link Plan#training}): {@code CHANNEL_GROUPS} for tensors that fit in L2, a
 * task reducing a channel and writing it while it is still there, in one sweep with the next
 * channel's sums; larger tensors are reduced first ({@code PLANES} or {@code BLOCKS}) and then
 * written in memory order ({@code PLANE_RANGES} or {@code IMAGE_ROWS}), which runs faster than
 * writing a channel at a time once the tensor has left L2. Every path merges the same block
 * moments in the same order, so the thread count never changes the bits.
 */
public final class FusedPlanar implements LayoutKernels {
    private final Loops loops;
    private final Tasks tasks;
    private final PlanarInference inference;

    public FusedPlanar(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
        this.inference = new PlanarInference(loops, tasks);
    }

    @Override
    public void forwardTraining(TrainingCall call, Plan plan) {
        Forward f = new Forward(call);
        switch (plan.reduce()) {
            case CHANNEL_GROUPS -> f.planes.forEachChannelGroup(tasks, 2L * f.g.size(),
                    (from, to) -> f.new Group(from, to).run());
            case PLANES -> f.write(f.reducePlanes(), plan.write());
            case BLOCKS -> f.write(f.reduceBlocks(), plan.write());
            default -> throw new IllegalArgumentException("fused planar forward reduces channel groups, planes or blocks, not " + plan.reduce());
        }
    }

    @Override
    public void backward(BackwardCall call, Plan plan) {
        Backward bw = new Backward(call);
        switch (plan.reduce()) {
            case CHANNEL_GROUPS -> bw.planes.forEachChannelGroup(tasks, 3L * bw.g.size(),
                    (from, to) -> bw.new Group(from, to).run());
            case PLANES -> bw.write(bw.sumPlanes(), plan.write());
            case BLOCKS -> bw.write(bw.sumBlocks(), plan.write());
            default -> throw new IllegalArgumentException("fused planar backward reduces channel groups, planes or blocks, not " + plan.reduce());
        }
    }

    /** One training forward: its call, and the per-channel arrays its tasks fill. */
    private final class Forward {
        final TrainingCall call;
        final Geometry g;
        final Planes planes;
        final int channels;
        final MemorySegment in;
        final long xo;
        final MemorySegment out;
        final long yo;
        final boolean relu;
        /** The shift K of each channel's sums. */
        final float[] shift;
        /** y = (x - center) * scale + offset, per channel: see {@link #coefficients}. */
        final float[] scale;
        final float[] center;
        final float[] offset;

        Forward(TrainingCall call) {
            this.call = call;
            this.g = call.geometry();
            this.planes = Planes.of(g);
            this.channels = g.channels();
            this.in = call.x().segment();
            this.xo = call.x().offset();
            this.out = call.y().segment();
            this.yo = call.y().offset();
            this.relu = call.relu();
            this.shift = Statistics.shifts(g, call.x(), loops.lanes());
            int padded = PerChannel.paddedLength(channels, loops.lanes());
            this.scale = new float[padded];
            this.center = new float[padded];
            this.offset = new float[padded];
        }

        /** PLANES: each plane's shifted sums in memory order, merged per channel in image order. */
        Moments reducePlanes() {
            int inner = g.inner();
            double[] planeSums = planes.sumsOfPlanes(tasks, g.size(), (p, sums) -> loops.deviationSums(in,
                    xo + (long) p * inner, 1, inner, inner, shift[p % channels], sums));
            Moments moments = new Moments(channels);
            for (int c = 0; c < channels; c++) {
                mergePlanes(planeSums, moments, c);
            }
            return moments;
        }

        /** BLOCKS: each block's moments, in memory order where a block is one plane, merged per channel in block order. */
        Moments reduceBlocks() {
            int blocks = planes.count();
            double[] blockResults = new double[2 * channels * blocks];
            planes.forEachBlockInMemoryOrder(tasks, g.size(),
                    (c, b) -> blockMoments(c, b, blockResults, 2 * (c * blocks + b)));
            Moments moments = new Moments(channels);
            for (int c = 0; c < channels; c++) {
                for (int b = 0; b < blocks; b++) {
                    int at = 2 * (c * blocks + b);
                    moments.merge(c, planes.size(b), blockResults[at], blockResults[at + 1]);
                }
            }
            return moments;
        }

        /** Finishes every channel's statistics and writes y over the tensor, as the plan says. */
        void write(Moments moments, Plan.Write write) {
            for (int c = 0; c < channels; c++) {
                double exactMean = Statistics.finish(call, c, c, moments.mean[c], moments.variance(c), call.mean(),
                        call.variance(), call.invStd(), scale);
                coefficients(c, c, exactMean, call.mean(), call.variance(), call.invStd(), scale, center, offset);
            }
            if (everyCenterIsZero()) {
                // the same bits as (x - 0) * scale + offset, one subtract (and a load) fewer
                inference.run(new InferenceCall(g, call.x(), call.y(), scale, offset, relu), write);
                return;
            }
            int inner = g.inner();
            switch (write) {
                case IMAGE_ROWS -> {
                    int width = channels * inner;
                    float[] centers = planes.spread(center, loops.lanes());
                    float[] scales = planes.spread(scale, loops.lanes());
                    float[] offsets = planes.spread(offset, loops.lanes());
                    planes.forEachImageRows(tasks, 2L * g.size(), (from, to) -> loops.normalizeRows(in,
                            xo + (long) from * width, out, yo + (long) from * width, to - from, width, centers, scales, offsets,
                            relu));
                }
                case PLANE_RANGES -> planes.forEachPlaneRange(tasks, 2L * g.size(), (from, to) -> {
                    for (int p = from; p < to; p++) {
                        int c = p % channels;
                        loops.normalize(in, xo + (long) p * inner, out, yo + (long) p * inner, 1, inner, inner, center[c],
                                scale[c], offset[c], relu);
                    }
                });
                default -> throw new IllegalArgumentException("fused planar forward writes image rows or plane ranges, not " + write);
            }
        }

        /**
         * Center and offset of channel c, from its mean in double and its finished statistics at
         * index i of the arrays given: center 0 where {@link ChannelMath#multiplyAddKeepsDigits},
         * the mean rounded to float otherwise; the offset makes up the difference.
         */
        void coefficients(int c, int i, double exactMean, float[] means, float[] variances, float[] invStds,
                float[] scales, float[] centers, float[] offsets) {
            boolean multiplyAdd = ChannelMath.multiplyAddKeepsDigits(means[i], variances[i], invStds[i]);
            centers[i] = multiplyAdd ? 0f : means[i];
            offsets[i] = ChannelMath.offset(call.beta()[c], exactMean, centers[i], scales[i]);
        }

        boolean everyCenterIsZero() {
            for (int c = 0; c < channels; c++) {
                if (center[c] != 0f) {
                    return false;
                }
            }
            return true;
        }

        /** Mean and M2 of channel c's block b into {@code into[at]}, {@code into[at + 1]}. */
        void blockMoments(int c, int b, double[] into, int at) {
            double[] sums = new double[2];
            loops.deviationSums(in, xo + planes.from(c, b), planes.runs(b), planes.length(b), planes.stride(),
                    shift[c], sums);
            blockMoments(c, b, sums, into, at);
        }

        /**
         * Mean and M2 of channel c's block b from its shifted sums, into {@code into[at]},
         * {@code into[at + 1]}; the block is swept again around its mean when the sums cancel.
         */
        void blockMoments(int c, int b, double[] sums, double[] into, int at) {
            int n = planes.size(b);
            float blockCenter = shift[c];
            if (Moments.cancelled(sums[0], sums[1], n)) {
                blockCenter = (float) (blockCenter + sums[0] / n);
                sums = new double[2];
                loops.deviationSums(in, xo + planes.from(c, b), planes.runs(b), planes.length(b), planes.stride(),
                        blockCenter, sums);
            }
            into[at] = blockCenter + sums[0] / n;
            into[at + 1] = sums[1] - sums[0] * sums[0] / n;
        }

        /**
         * Channel c's moments from the shifted sums of its planes, image by image: the sums of
         * planes that keep their digits add up in double and become moments once, after any
         * plane whose sums cancel has been swept again around its own mean and merged on its own.
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
                if (Moments.cancelled(a1, a2, inner)) {
                    float planeCenter = (float) (shift[c] + a1 / inner);
                    double[] sums = new double[2];
                    loops.deviationSums(in, xo + (long) p * inner, 1, inner, inner, planeCenter, sums);
                    moments.mergeShifted(c, inner, planeCenter, sums[0], sums[1]);
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

        /**
         * CHANNEL_GROUPS: one task's channels [from, to), whole. Their statistics stay in the
         * task's own arrays (indexed from 0) until it ends and copies them out: per-channel
         * outputs of two groups share cache lines, and a store to a line the other core holds
         * stalls the stores of y behind it.
         */
        final class Group {
            final int from;
            final int to;
            final Moments moments;
            final float[] groupMean;
            final float[] groupVariance;
            final float[] groupInvStd;
            final float[] groupScale;
            final float[] groupCenter;
            final float[] groupOffset;

            Group(int from, int to) {
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
                int blocks = planes.count();
                double[] block = new double[2];
                double[] sums = new double[2];
                for (int b = 0; b < blocks; b++) {
                    blockMoments(from, b, block, 0);
                    moments.merge(0, planes.size(b), block[0], block[1]);
                }
                finish(from);
                // one sweep normalizes block b of channel c and sums block b of channel c + 1:
                // reads of memory for the statistics overlap the writes of y, and x of channel c
                // comes back from L2; each channel's blocks still merge in order
                for (int c = from; c < to; c++) {
                    int next = c + 1;
                    int i = c - from;
                    for (int b = 0; b < blocks; b++) {
                        long at = planes.from(c, b);
                        if (next < to) {
                            loops.normalizeWithDeviationSums(in, xo + at, out, yo + at, planes.runs(b),
                                    planes.length(b), planes.stride(), groupCenter[i], groupScale[i],
                                    groupOffset[i], relu, xo + planes.from(next, b), shift[next], sums);
                            blockMoments(next, b, sums, block, 0);
                            moments.merge(i + 1, planes.size(b), block[0], block[1]);
                        } else {
                            loops.normalize(in, xo + at, out, yo + at, planes.runs(b), planes.length(b),
                                    planes.stride(), groupCenter[i], groupScale[i], groupOffset[i], relu);
                        }
                    }
                    if (next < to) {
                        finish(next);
                    }
                }
                int n = to - from;
                System.arraycopy(groupMean, 0, call.mean(), from, n);
                System.arraycopy(groupVariance, 0, call.variance(), from, n);
                System.arraycopy(groupInvStd, 0, call.invStd(), from, n);
            }

            void finish(int c) {
                int i = c - from;
                double exactMean = Statistics.finish(call, c, i, moments.mean[i], moments.variance(i), groupMean,
                        groupVariance, groupInvStd, groupScale);
                coefficients(c, i, exactMean, groupMean, groupVariance, groupInvStd, groupScale, groupCenter,
                        groupOffset);
            }
        }
    }

    /** One backward: its call, and the per-channel coefficients its tasks fill. */
    private final class Backward {
        final BackwardCall call;
        final Geometry g;
        final Planes planes;
        final int channels;
        final MemorySegment in;
        final long xo;
        final MemorySegment mask;
        final long yo;
        final MemorySegment grad;
        final long dyo;
        final MemorySegment out;
        final long dxo;
        final float[] mean;

        Backward(BackwardCall call) {
            this.call = call;
            this.g = call.geometry();
            this.planes = Planes.of(g);
            this.channels = g.channels();
            this.in = call.x().segment();
            this.xo = call.x().offset();
            this.mask = call.mask();
            this.yo = call.maskOffset();
            this.grad = call.dy().segment();
            this.dyo = call.dy().offset();
            this.out = call.dx().segment();
            this.dxo = call.dx().offset();
            this.mean = call.mean();
        }

        /** Channel ch's coefficients and gradients from its sums, into index {@code at} of the arrays. */
        void coefficients(int ch, double sumDy, double sumDyDev, int at, float[] a, float[] b, float[] c,
                float[] dgammaInto, float[] dbetaInto) {
            ChannelMath.backwardCoefficients(at, call.gamma()[ch], call.invStd()[ch], sumDy, sumDyDev,
                    g.reductionSize(), call.batchStatistics(), a, b, c, dgammaInto, dbetaInto);
        }

        /** sum dy' and sum dy' * (x - mean) of channel ch's block k, into into[at], into[at + 1]. */
        void blockSums(int ch, int k, double[] into, int at) {
            double[] sums = new double[2];
            long i = planes.from(ch, k);
            loops.gradientSums(in, xo + i, grad, dyo + i, mask, yo + i, planes.runs(k), planes.length(k),
                    planes.stride(), mean[ch], sums);
            into[at] = sums[0];
            into[at + 1] = sums[1];
        }

        /** PLANES: per channel, the two sums of each of its planes, in image order. */
        double[] sumPlanes() {
            int inner = g.inner();
            return planes.sumsOfPlanes(tasks, 2L * g.size(), (p, sums) -> loops.gradientSums(in, xo + (long) p * inner,
                    grad, dyo + (long) p * inner, mask, yo + (long) p * inner, 1, inner, inner, mean[p % channels], sums));
        }

        /** BLOCKS: per channel, the two sums of each of its blocks, in block order. */
        double[] sumBlocks() {
            int blocks = planes.count();
            double[] results = new double[2 * channels * blocks];
            planes.forEachBlockInMemoryOrder(tasks, 2L * g.size(),
                    (ch, k) -> blockSums(ch, k, results, 2 * (ch * blocks + k)));
            return results;
        }

        /** Adds up each channel's sums in order, then writes dx over the tensor, as the plan says. */
        void write(double[] results, Plan.Write write) {
            float[] a = new float[channels];
            float[] b = new float[channels];
            float[] c = new float[channels];
            int units = results.length / (2 * channels);
            for (int ch = 0; ch < channels; ch++) {
                double sumDy = 0;
                double sumDyDev = 0;
                for (int k = 0; k < units; k++) {
                    sumDy += results[2 * (ch * units + k)];
                    sumDyDev += results[2 * (ch * units + k) + 1];
                }
                coefficients(ch, sumDy, sumDyDev, ch, a, b, c, call.dgamma(), call.dbeta());
            }
            int inner = g.inner();
            switch (write) {
                case IMAGE_ROWS -> {
                    int width = channels * inner;
                    int lanes = loops.lanes();
                    float[] meanS = planes.spread(mean, lanes);
                    float[] aS = planes.spread(a, lanes);
                    float[] bS = planes.spread(b, lanes);
                    float[] cS = planes.spread(c, lanes);
                    planes.forEachImageRows(tasks, 3L * g.size(), (from, to) -> {
                        long at = (long) from * width;
                        loops.gradientApplyRows(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, to - from,
                                width, meanS, aS, bS, cS);
                    });
                }
                case PLANE_RANGES -> planes.forEachPlaneRange(tasks, 3L * g.size(), (from, to) -> {
                    for (int p = from; p < to; p++) {
                        int ch = p % channels;
                        long at = (long) p * inner;
                        loops.gradientApply(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, 1, inner,
                                inner, mean[ch], a[ch], b[ch], c[ch]);
                    }
                });
                default -> throw new IllegalArgumentException("fused planar backward writes image rows or plane ranges, not " + write);
            }
        }

        /**
         * CHANNEL_GROUPS: one task's channels [from, to), whole; like the forward's group, its
         * coefficients and gradients stay in its own arrays until it ends.
         */
        final class Group {
            final int from;
            final int to;
            final float[] groupA;
            final float[] groupB;
            final float[] groupC;
            final float[] groupDgamma;
            final float[] groupDbeta;

            Group(int from, int to) {
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
                int blocks = planes.count();
                double[] block = new double[2];
                for (int ch = from; ch < to; ch++) {
                    double sumDy = 0;
                    double sumDyDev = 0;
                    for (int k = 0; k < blocks; k++) {
                        blockSums(ch, k, block, 0);
                        sumDy += block[0];
                        sumDyDev += block[1];
                    }
                    int i = ch - from;
                    coefficients(ch, sumDy, sumDyDev, i, groupA, groupB, groupC, groupDgamma, groupDbeta);
                    for (int k = 0; k < blocks; k++) {
                        long at = planes.from(ch, k);
                        loops.gradientApply(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, planes.runs(k),
                                planes.length(k), planes.stride(), mean[ch], groupA[i], groupB[i], groupC[i]);
                    }
                }
                System.arraycopy(groupDgamma, 0, call.dgamma(), from, to - from);
                System.arraycopy(groupDbeta, 0, call.dbeta(), from, to - from);
            }
        }
    }

    @Override
    public String toString() {
        return "FusedPlanar[" + loops.getClass().getSimpleName() + "]";
    }
}
