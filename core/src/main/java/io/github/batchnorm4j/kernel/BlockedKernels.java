package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.parallel.Tasks;

/**
 * What the vectorized and fused variants share: the innermost loops, the threads, inference
 * (one multiply-add per element is already the fewest trips through memory) and the walk over
 * reduction blocks. Subclasses decide the order of the passes.
 */
abstract class BlockedKernels implements Kernels {
    final Loops loops;
    final Tasks tasks;

    BlockedKernels(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
    }

    /**
     * Whether a tensor takes the planar paths: planes longer than one float (NCHW and friends),
     * or a single channel in any layout, whose memory is one plane (rows of one float would run
     * the row loops a lane at a time).
     */
    static boolean planar(Geometry g) {
        return g.inner() > 1 || g.channels() == 1 && g.size() > 1;
    }

    /** The geometry the planar paths see: a single channel as one plane of all its values. */
    static Geometry asPlanes(Geometry g) {
        return g.channels() == 1 ? new Geometry(1, 1, g.size()) : g;
    }

    /** Work on block b of channel c. */
    interface BlockTask {
        void run(int c, int b);
    }

    /** Channels one task takes: per-channel outputs of two threads then share no cache line. */
    static final int CHANNEL_GROUP = 16;

    /** Work on channels [from, to). */
    interface ChannelsTask {
        void run(int from, int to);
    }

    /**
     * Whether tasks take whole groups of channels: when there are enough to give each thread
     * some, or when a job of this many floats runs on the calling thread anyway.
     */
    boolean byChannels(int channels, long floats) {
        return channels >= 2 * CHANNEL_GROUP * tasks.threads() || !tasks.mayFork(floats);
    }

    /** Runs {@code task} on groups of {@link #CHANNEL_GROUP} channels. */
    void forEachChannelGroup(int channels, long floats, ChannelsTask task) {
        int groups = Math.ceilDiv(channels, CHANNEL_GROUP);
        tasks.forEach(groups, floats, k -> task.run(k * CHANNEL_GROUP, Blocking.end(k, CHANNEL_GROUP, channels)));
    }

    /**
     * Runs {@code task} on every (channel, block). Groups of whole channels make a task when
     * there are enough of them for the threads, single blocks otherwise; each block's result is
     * the same either way.
     */
    void forEachBlock(Blocking.Planar planar, long floats, BlockTask task) {
        int blocks = planar.count();
        int channels = planar.channels();
        if (byChannels(channels, floats)) {
            forEachChannelGroup(channels, floats, (from, to) -> {
                for (int c = from; c < to; c++) {
                    for (int b = 0; b < blocks; b++) {
                        task.run(c, b);
                    }
                }
            });
        } else {
            tasks.forEach(channels * blocks, floats, t -> task.run(t / blocks, t % blocks));
        }
    }

    /** Work on planes [from, to): plane p is channel {@code p % C} of image {@code p / C}. */
    interface PlanesTask {
        void run(int from, int to);
    }

    /**
     * Runs {@code task} over the {@code outer * C} planes of an NCHW tensor in ranges of about
     * {@link Blocking#PLANE_RANGE_FLOATS}, each range contiguous in memory: a sweep that writes
     * walks memory in order, as a copy does. (Writing a channel at a time, one run of each image
     * after the other, measured 1.4-1.8x slower than a copy of the same bytes on the AMD machine
     * of jmh/RESULTS.md, with or without the channel still in L2.)
     */
    void forEachPlaneRange(Geometry g, long floats, PlanesTask task) {
        // Callers repeat the loop over a range's planes themselves: a shared one calling a lambda
        // per plane measured 10-50% slower for inference on (32,256,14,14) and (1024,64,33).
        int planes = g.outer() * g.channels();
        int perTask = Math.max(1, Blocking.PLANE_RANGE_FLOATS / g.inner());
        tasks.forEach(Math.ceilDiv(planes, perTask), floats,
                k -> task.run(k * perTask, Blocking.end(k, perTask, planes)));
    }

    /** Two sums of plane p of an NCHW tensor, into {@code sums[0]} and {@code sums[1]}. */
    interface PlaneSums {
        void into(int plane, double[] sums);
    }

    /**
     * {@code sums} of every plane of an NCHW tensor, swept over ranges of planes in memory order
     * (see {@link #forEachPlaneRange}), channel by channel in the result: the two sums of
     * channel c in image n at {@code [2 (c outer + n)]} and the index after it.
     */
    double[] sumsOfPlanes(Geometry g, long floats, PlaneSums sums) {
        int channels = g.channels();
        int outer = g.outer();
        double[] out = new double[2 * outer * channels];
        forEachPlaneRange(g, floats, (from, to) -> {
            double[] two = new double[2];
            for (int p = from; p < to; p++) {
                sums.into(p, two);
                int at = 2 * (p % channels * outer + p / channels);
                out[at] = two[0];
                out[at + 1] = two[1];
            }
        });
        return out;
    }

    /** Whether an NCHW tensor's elementwise sweeps go through the row loops (see {@link Blocking#SHORT_PLANE}). */
    static boolean shortPlanes(Geometry g) {
        return g.inner() < Blocking.SHORT_PLANE;
    }

    /**
     * Runs {@code task} over the images of an NCHW tensor with short planes as rows of
     * {@code C * inner} floats, in chunks of rows as for NHWC; the per-channel values go with
     * {@link #spread}.
     */
    void forEachImageRows(Geometry g, long floats, RowsTask task) {
        Blocking.Rows rows = Blocking.Rows.of(new Geometry(g.outer(), g.channels() * g.inner(), 1));
        tasks.forEach(rows.chunks(), floats, k -> forEachSubBlock(rows, k, task));
    }

    /**
     * Per-channel values spread over one image of an NCHW tensor, value c at positions
     * {@code [c * inner, (c + 1) * inner)}, {@link #repeated} for the row loops.
     */
    float[] spread(float[] perChannel, Geometry g) {
        int inner = g.inner();
        float[] image = new float[g.channels() * inner];
        for (int c = 0; c < g.channels(); c++) {
            java.util.Arrays.fill(image, c * inner, (c + 1) * inner, perChannel[c]);
        }
        return repeated(image, image.length);
    }

    /**
     * The first {@code width} values of {@code perChannel} repeated to {@code width + lanes}
     * values, index i holding value {@code i % width}: what the whole-row loops read (see
     * {@link Loops#normalizeRows}).
     */
    float[] repeated(float[] perChannel, int width) {
        float[] out = new float[width + loops.lanes()];
        for (int i = 0; i < out.length; i += width) {
            System.arraycopy(perChannel, 0, out, i, Math.min(width, out.length - i));
        }
        return out;
    }

    /**
     * Runs {@code task} on every (channel, block) like {@link #forEachBlock}, in memory order
     * where a block lies within one plane: over plane ranges, each plane's blocks in turn.
     * Blocks of several planes (short planes) go by channel groups, as in forEachBlock.
     */
    void forEachBlockInMemoryOrder(Geometry g, Blocking.Planar planar, long floats, BlockTask task) {
        if (planar.segmentsPerBlock() > 1) {
            forEachBlock(planar, floats, task);
            return;
        }
        int channels = g.channels();
        int pieces = planar.pieces();
        forEachPlaneRange(g, floats, (from, to) -> {
            for (int p = from; p < to; p++) {
                for (int q = 0; q < pieces; q++) {
                    task.run(p % channels, p / channels * pieces + q);
                }
            }
        });
    }

    /** Work on rows [from, to) of a row chunk. */
    interface RowsTask {
        void run(int from, int to);
    }

    /** Runs {@code task} on each sub-block of rows of chunk {@code chunk}, in order. */
    static void forEachSubBlock(Blocking.Rows rows, int chunk, RowsTask task) {
        int to = rows.chunkTo(chunk);
        for (int r = rows.chunkFrom(chunk), end; r < to; r = end) {
            end = (int) Math.min(to, (long) r + rows.rowsPerBlock());
            task.run(r, end);
        }
    }

    /**
     * Runs {@code task} on every sub-block of every row chunk, over the tasks, the last chunk
     * first: the sweep before this one has just left that chunk in cache.
     */
    void forEachSubBlockLastChunkFirst(Blocking.Rows rows, long floats, RowsTask task) {
        tasks.forEach(rows.chunks(), floats, k -> forEachSubBlock(rows, rows.chunks() - 1 - k, task));
    }

    @Override
    public void forwardInference(Geometry g, FloatSpan x, FloatSpan y, float[] scale, float[] shift,
            boolean relu) {
        float[] in = x.array();
        float[] out = y.array();
        int xo = x.offset();
        int yo = y.offset();
        long floats = 2L * g.size();
        boolean planar = planar(g);
        g = asPlanes(g);
        if (planar && shortPlanes(g)) {
            int width = g.channels() * g.inner();
            float[] scaleS = spread(scale, g);
            float[] shiftS = spread(shift, g);
            forEachImageRows(g, floats, (from, to) -> loops.scaleShiftRows(in, xo + from * width, out,
                    yo + from * width, to - from, width, scaleS, shiftS, relu));
        } else if (planar) {
            int channels = g.channels();
            int inner = g.inner();
            forEachPlaneRange(g, floats, (from, to) -> {
                for (int p = from; p < to; p++) {
                    int c = p % channels;
                    loops.scaleShift(in, xo + p * inner, out, yo + p * inner, 1, inner, inner,
                            scale[c], shift[c], relu);
                }
            });
        } else {
            int channels = g.channels();
            Blocking.Rows rows = Blocking.Rows.of(g);
            float[] scaleR = repeated(scale, channels);
            float[] shiftR = repeated(shift, channels);
            // last chunk first: a training forward comes here after its statistics, which leave
            // that chunk in cache
            forEachSubBlockLastChunkFirst(rows, floats, (from, to) ->
                    loops.scaleShiftRows(in, xo + from * channels, out, yo + from * channels,
                            to - from, channels, scaleR, shiftR, relu));
        }
    }

    /**
     * NHWC backward in row chunks: each chunk sums dy' and dy' * (x - mean) over its rows for
     * all channels (both in one sweep), chunks add up in order, then dx row by row.
     */
    void backwardRowChunks(Geometry g, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
            float[] gamma, float[] mean, float[] invStd, boolean relu, boolean batchStatistics,
            float[] dgamma, float[] dbeta) {
        int channels = g.channels();
        Blocking.Rows rows = Blocking.Rows.of(g);
        float[] in = x.array();
        float[] grad = dy.array();
        float[] out = y == null || !relu ? null : y.array();
        int yo = out == null ? 0 : y.offset();
        float[] meanP = padded(mean);
        int padded = paddedChannels(channels);
        // each task fills arrays of its own: lines the caller allocated would move between cores
        double[][] sumDy = new double[rows.chunks()][];
        double[][] sumDyDev = new double[rows.chunks()][];
        tasks.forEach(rows.chunks(), 2L * g.size(), k -> {
            float[] partDy = new float[padded];
            float[] partDev = new float[padded];
            double[] chunkDy = new double[channels];
            double[] chunkDev = new double[channels];
            forEachSubBlock(rows, k, (from, to) -> {
                int at = from * channels;
                loops.gradientSumsRows(in, x.offset() + at, grad, dy.offset() + at, out, yo + at,
                        to - from, channels, channels, meanP, partDy, partDev, 0);
                for (int c = 0; c < channels; c++) {
                    chunkDy[c] += partDy[c];
                    chunkDev[c] += partDev[c];
                }
            });
            sumDy[k] = chunkDy;
            sumDyDev[k] = chunkDev;
        });
        float[] a = new float[padded];
        float[] b = new float[padded];
        float[] cc = new float[padded];
        for (int c = 0; c < channels; c++) {
            double totalDy = 0;
            double totalDev = 0;
            for (int k = 0; k < rows.chunks(); k++) {
                totalDy += sumDy[k][c];
                totalDev += sumDyDev[k][c];
            }
            ChannelMath.backwardCoefficients(c, gamma[c], invStd[c], totalDy, totalDev,
                    g.reductionSize(), batchStatistics, a, b, cc, dgamma, dbeta);
        }
        float[] target = dx.array();
        float[] meanR = repeated(mean, channels);
        float[] aR = repeated(a, channels);
        float[] bR = repeated(b, channels);
        float[] cR = repeated(cc, channels);
        forEachSubBlockLastChunkFirst(rows, 3L * g.size(), (from, to) -> {
            int at = from * channels;
            loops.gradientApplyRows(in, x.offset() + at, grad, dy.offset() + at, out, yo + at,
                    target, dx.offset() + at, to - from, channels, meanR, aR, bR, cR);
        });
    }

    /** Values of each channel whose mean is the shift of its sums: {@link #firstValues}. */
    static final int SHIFT_SAMPLE = 8;

    /**
     * The mean of each channel's first {@link #SHIFT_SAMPLE} values, in memory order: the shift K
     * of the kernels' sums of x - K (see {@link Loops#sumDeviations}), padded for the row loops.
     * Those sums keep their digits as long as K lies near the channel's mean, in standard
     * deviations; a mean of several values lies nearer than any one of them, and one outlier
     * among them moves it by an eighth.
     */
    float[] firstValues(Geometry g, FloatSpan x) {
        float[] first = new float[paddedChannels(g.channels())];
        int stride = g.channels() * g.inner();
        int count = Math.min(SHIFT_SAMPLE, g.reductionSize());
        for (int c = 0; c < g.channels(); c++) {
            double sum = 0;
            for (int k = 0; k < count; k++) {
                sum += x.array()[x.offset() + k / g.inner() * stride + c * g.inner() + k % g.inner()];
            }
            first[c] = (float) (sum / count);
        }
        return first;
    }

    /**
     * The length of per-channel arrays handed to row loops: whole vectors, so the vector at the
     * channel edge stays inside the array (a vector load that crosses an array's end takes the
     * Vector API's slow path: 60x slower on 17 channels).
     */
    int paddedChannels(int channels) {
        int lanes = loops.lanes();
        return (channels + lanes - 1) / lanes * lanes;
    }

    /** {@code values}, or a copy of it padded with zeros to {@link #paddedChannels}. */
    float[] padded(float[] values) {
        int length = paddedChannels(values.length);
        return length == values.length ? values : java.util.Arrays.copyOf(values, length);
    }

    /** The forward output's array when ReLU needs it for the mask, else null (no mask). */
    static float[] reluMask(FloatSpan y, boolean relu) {
        return relu ? y.array() : null;
    }

    /**
     * Channel c's statistics as the API returns them, and the normalize scale, into index
     * {@code at} of the arrays. A mean or variance that came out non-finite is summed again in
     * double over the channel's values first: float sums of squares overflow once values pass
     * about 1e19, long before the variance does. A channel that holds NaN or infinity comes out
     * non-finite from that too, and no other channel is touched.
     *
     * @return the mean in double, whose rounding to float the normalize offset makes up for
     */
    static double finishChannel(Geometry g, FloatSpan x, int c, int at, double mean, double variance, float gamma,
            float epsilon, float[] meanOut, float[] varianceOut, float[] invStdOut, float[] scale) {
        if (!Double.isFinite(mean) || !Double.isFinite(variance)) {
            float[] a = x.array();
            int first = x.offset() + c * g.inner();
            int stride = g.channels() * g.inner();
            double sum = 0;
            for (int o = 0; o < g.outer(); o++) {
                for (int i = first + o * stride, end = i + g.inner(); i < end; i++) {
                    sum += a[i];
                }
            }
            mean = sum / g.reductionSize();
            double squares = 0;
            for (int o = 0; o < g.outer(); o++) {
                for (int i = first + o * stride, end = i + g.inner(); i < end; i++) {
                    squares += (a[i] - mean) * (a[i] - mean);
                }
            }
            variance = squares / g.reductionSize();
        }
        meanOut[at] = (float) mean;
        varianceOut[at] = (float) variance;
        invStdOut[at] = ChannelMath.invStd(variance, epsilon);
        scale[at] = ChannelMath.scale(gamma, invStdOut[at]);
        return mean;
    }
}
