package io.github.batchnorm4j.internal.kernel.rows;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.BackwardCall;
import io.github.batchnorm4j.internal.kernel.LayoutKernels;
import io.github.batchnorm4j.internal.kernel.PerChannel;
import io.github.batchnorm4j.internal.kernel.Plan;
import io.github.batchnorm4j.internal.kernel.Statistics;
import io.github.batchnorm4j.internal.kernel.TrainingCall;
import io.github.batchnorm4j.internal.kernel.TwoPassStatistics;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.foreign.MemorySegment;

/**
 * VECTORIZED on rows: the textbook passes over row chunks ({@link RowChunks}), vectorized
 * across the channels of a row. Forward: a mean pass, a variance pass, a normalize pass, each
 * chunk's sums kept apart and added up in chunk order, so any thread count gives the same bits.
 * Backward sums both its sums in one sweep ({@link RowBackward}, shared with FUSED).
 */
public final class VectorizedRows implements LayoutKernels {
    private final Loops loops;
    private final Tasks tasks;
    private final RowBackward backward;

    public VectorizedRows(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
        this.backward = new RowBackward(loops, tasks);
    }

    @Override
    public void forwardTraining(TrainingCall call, Plan plan) {
        Geometry g = call.geometry();
        int channels = g.channels();
        int lanes = loops.lanes();
        RowChunks rows = RowChunks.of(g);
        MemorySegment in = call.x().segment();
        long xo = call.x().offset();

        float[] shift = Statistics.shifts(g, call.x(), lanes);
        double[] mean = TwoPassStatistics.means(perChannel(rows, (part, from, to) -> loops.sumDeviationsRows(in,
                xo + (long) from * channels, to - from, channels, channels, shift, part, 0)), shift, g.reductionSize());
        float[] rounded = PerChannel.padded(TwoPassStatistics.rounded(mean), lanes);

        double[] squares = perChannel(rows, (part, from, to) -> loops.sumSquaredDeviationsRows(in,
                xo + (long) from * channels, to - from, channels, channels, rounded, part, 0));
        float[] scale = new float[PerChannel.paddedLength(channels, lanes)];
        float[] offset = TwoPassStatistics.finish(call, mean, rounded, squares, scale);

        MemorySegment out = call.y().segment();
        long yo = call.y().offset();
        float[] meanR = PerChannel.repeated(call.mean(), channels, lanes);
        float[] scaleR = PerChannel.repeated(scale, channels, lanes);
        float[] offsetR = PerChannel.repeated(offset, channels, lanes);
        rows.forEachSubBlockLastChunkFirst(tasks, 2L * g.size(), (from, to) -> loops.normalizeRows(in,
                xo + (long) from * channels, out, yo + (long) from * channels, to - from, channels, meanR, scaleR, offsetR,
                call.relu()));
    }

    @Override
    public void backward(BackwardCall call, Plan plan) {
        backward.run(call);
    }

    /** A row loop's per-channel float sums of rows [from, to), into {@code part}. */
    private interface RowSums {
        void into(float[] part, int from, int to);
    }

    /** Per channel, the sum over all rows: float within a sub-block, then double, chunks in order. */
    private double[] perChannel(RowChunks rows, RowSums sums) {
        int channels = rows.channels();
        double[][] partial = new double[rows.chunks()][channels];
        tasks.forEach(rows.chunks(), 1L * rows.outer() * channels, k -> {
            float[] part = new float[PerChannel.paddedLength(channels, loops.lanes())];
            rows.forEachSumSlice(k, (from, to) -> {
                sums.into(part, from, to);
                for (int c = 0; c < channels; c++) {
                    partial[k][c] += part[c];
                }
            });
        });
        double[] total = new double[channels];
        for (double[] chunk : partial) {
            for (int c = 0; c < channels; c++) {
                total[c] += chunk[c];
            }
        }
        return total;
    }

    @Override
    public String toString() {
        return "VectorizedRows[" + loops.getClass().getSimpleName() + "]";
    }
}
