package io.github.batchnorm4j.internal.kernel.planar;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.PerChannel;
import io.github.batchnorm4j.internal.kernel.rows.RowChunks;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.util.Arrays;

/**
 * How a planar tensor is cut into reduction blocks, and the walks over blocks, planes and
 * channel groups that hand them to the threads. Every cut depends on the shape alone, never on
 * the thread count, so results are bitwise the same on any number of threads.
 *
 * <p>One channel's {@code outer * inner} values are cut into blocks of whole runs (when a run
 * fits in a block) or into equal pieces of one run (when it does not).
 *
 * @param segmentsPerBlock runs in a full block
 * @param pieces blocks per run (1 when runs fit in a block)
 * @param piece the length of a piece of a run
 * @param count blocks per channel
 */
public record Planes(int outer, int channels, int inner, int segmentsPerBlock, int pieces, int piece,
        int count) {

    /** Floats in one block: 16 KiB, a third of L1, so a block's second pass hits L1. */
    public static final int BLOCK_FLOATS = 4096;

    /** Floats in one task of a sweep over whole planes: 256 KiB, a quarter of L2. */
    static final int PLANE_RANGE_FLOATS = 65536;

    /** Channels one task takes: per-channel outputs of two threads then share no cache line. */
    static final int CHANNEL_GROUP = 16;

    public static Planes of(Geometry g) {
        int inner = g.inner();
        if (inner <= BLOCK_FLOATS) {
            int segments = BLOCK_FLOATS / inner;
            return new Planes(g.outer(), g.channels(), inner, segments, 1, inner, Math.ceilDiv(g.outer(), segments));
        }
        int pieces = Math.ceilDiv(inner, BLOCK_FLOATS);
        int piece = Math.ceilDiv(inner, pieces);
        return new Planes(g.outer(), g.channels(), inner, 1, pieces, piece, Math.multiplyExact(g.outer(), pieces));
    }

    /** Distance between the starts of two runs of one channel: {@code channels * inner}. */
    int stride() {
        return channels * inner;
    }

    /** Number of runs in block b. */
    int runs(int b) {
        return pieces == 1 ? Math.min(outer - b * segmentsPerBlock, segmentsPerBlock) : 1;
    }

    /** Length of each run of block b. */
    int length(int b) {
        if (pieces == 1) {
            return inner;
        }
        int p = b % pieces;
        return Tasks.end(p, piece, inner) - p * piece;
    }

    /** Tensor-relative index of the first value of channel c's block b. */
    long from(int c, int b) {
        if (pieces == 1) {
            return ((long) b * segmentsPerBlock * channels + c) * inner;
        }
        return ((long) (b / pieces) * channels + c) * inner + (long) (b % pieces) * piece;
    }

    /** Number of values of one channel in block b. */
    int size(int b) {
        return runs(b) * length(b);
    }

    /** Work on block b of channel c. */
    interface BlockTask {
        void run(int c, int b);
    }

    /** Work on channels, or on planes, [from, to). */
    interface RangeTask {
        void run(int from, int to);
    }

    /** Two sums of plane p, into {@code sums[0]} and {@code sums[1]}. */
    interface PlaneSums {
        void into(int plane, double[] sums);
    }

    /**
     * Whether tasks take whole groups of channels: when there are enough to give each thread
     * some, or when a job of this many floats runs on the calling thread anyway.
     */
    public static boolean byChannels(int channels, long floats, Tasks tasks) {
        return channels >= 2 * CHANNEL_GROUP * tasks.threads() || !tasks.mayFork(floats);
    }

    /** Runs {@code task} on groups of {@link #CHANNEL_GROUP} channels. */
    void forEachChannelGroup(Tasks tasks, long floats, RangeTask task) {
        int groups = Math.ceilDiv(channels, CHANNEL_GROUP);
        tasks.forEach(groups, floats, k -> task.run(k * CHANNEL_GROUP, Tasks.end(k, CHANNEL_GROUP, channels)));
    }

    /**
     * Runs {@code task} on every (channel, block). Groups of whole channels make a task when
     * there are enough of them for the threads, single blocks otherwise; each block's result is
     * the same either way.
     */
    void forEachBlock(Tasks tasks, long floats, BlockTask task) {
        if (byChannels(channels, floats, tasks)) {
            forEachChannelGroup(tasks, floats, (from, to) -> {
                for (int c = from; c < to; c++) {
                    for (int b = 0; b < count; b++) {
                        task.run(c, b);
                    }
                }
            });
        } else {
            tasks.forEach(channels * count, floats, t -> task.run(t / count, t % count));
        }
    }

    /**
     * Runs {@code task} on every (channel, block) like {@link #forEachBlock}, in memory order
     * where a block lies within one plane: over plane ranges, each plane's blocks in turn.
     * Blocks of several planes go by channel groups, as in forEachBlock.
     */
    void forEachBlockInMemoryOrder(Tasks tasks, long floats, BlockTask task) {
        if (segmentsPerBlock > 1) {
            forEachBlock(tasks, floats, task);
            return;
        }
        forEachPlaneRange(tasks, floats, (from, to) -> {
            for (int p = from; p < to; p++) {
                for (int q = 0; q < pieces; q++) {
                    task.run(p % channels, p / channels * pieces + q);
                }
            }
        });
    }

    /**
     * Runs {@code task} over the {@code outer * C} planes in ranges of about
     * {@link #PLANE_RANGE_FLOATS}, each range contiguous in memory: a sweep that writes walks
     * memory in order, as a copy does, which runs faster than writing a channel at a time.
     * Plane p is channel {@code p % C} of image {@code p / C}.
     */
    void forEachPlaneRange(Tasks tasks, long floats, RangeTask task) {
        // callers repeat the loop over a range's planes: a shared one calling a lambda per plane
        // costs a call per plane, which short planes feel
        int planes = Math.toIntExact((long) outer * channels);
        int perTask = Math.max(1, PLANE_RANGE_FLOATS / inner);
        tasks.forEach(Math.ceilDiv(planes, perTask), floats, k -> task.run(k * perTask, Tasks.end(k, perTask, planes)));
    }

    /**
     * {@code sums} of every plane, swept over ranges of planes in memory order, channel by
     * channel in the result: the two sums of channel c in image n at
     * {@code [2 (c outer + n)]} and the index after it.
     */
    double[] sumsOfPlanes(Tasks tasks, long floats, PlaneSums sums) {
        double[] out = new double[Math.toIntExact(2L * outer * channels)];
        forEachPlaneRange(tasks, floats, (from, to) -> {
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

    /**
     * Runs {@code task} over the images as rows of {@code C * inner} floats (planes too short
     * for a call each), in chunks of rows as the row family cuts them; per-channel values go
     * with {@link #spread}.
     */
    void forEachImageRows(Tasks tasks, long floats, RangeTask task) {
        RowChunks rows = RowChunks.of(new Geometry(outer, channels * inner, 1));
        tasks.forEach(rows.chunks(), floats, k -> rows.forEachSubBlock(k, task::run));
    }

    /**
     * Per-channel values spread over one image, value c at positions
     * {@code [c * inner, (c + 1) * inner)}, repeated for the whole-row loops.
     */
    float[] spread(float[] perChannel, int lanes) {
        float[] image = new float[channels * inner];
        for (int c = 0; c < channels; c++) {
            Arrays.fill(image, c * inner, (c + 1) * inner, perChannel[c]);
        }
        return PerChannel.repeated(image, image.length, lanes);
    }
}
