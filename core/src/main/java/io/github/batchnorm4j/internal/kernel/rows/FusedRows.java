package io.github.batchnorm4j.internal.kernel.rows;

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
 * FUSED on rows: the fewest trips through memory. Row chunks ({@link RowChunks}) reduce in
 * parallel, each sub-block in one sweep of both shifted sums, four rows a step; a chunk's sums
 * add up in double and become moments once, chunks merge in order. Then y = (x - center) *
 * scale + offset as on planar tensors ({@code FusedPlanar}), the last chunk first, while it is
 * still in cache; where every center is 0, through inference's loops. Keeping a block of
 * channels in L2 over all rows instead runs slower: reading part of each row at a stride costs
 * more than reading x again. Backward: {@link RowBackward}.
 */
public final class FusedRows implements LayoutKernels {
    private final Loops loops;
    private final Tasks tasks;
    private final RowInference inference;
    private final RowBackward backward;

    public FusedRows(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
        this.inference = new RowInference(loops, tasks);
        this.backward = new RowBackward(loops, tasks);
    }

    @Override
    public void forwardTraining(TrainingCall call, Plan plan) {
        Geometry g = call.geometry();
        int channels = g.channels();
        int lanes = loops.lanes();
        RowChunks rows = RowChunks.of(g);
        float[] shift = Statistics.shifts(g, call.x(), lanes);

        ChunkMoments[] chunks = new ChunkMoments[rows.chunks()];
        tasks.forEach(rows.chunks(), g.size(), k -> {
            ChunkMoments chunk = new ChunkMoments(call, shift);
            rows.forEachSumSlice(k, chunk::add);
            chunks[k] = chunk;
        });
        Moments total = new Moments(channels);
        for (ChunkMoments chunk : chunks) {
            chunk.mergeInto(total);
        }

        int padded = PerChannel.paddedLength(channels, lanes);
        float[] scale = new float[padded];
        float[] center = new float[padded];
        float[] offset = new float[padded];
        boolean everyCenterIsZero = true;
        for (int c = 0; c < channels; c++) {
            double exactMean = Statistics.finish(call, c, c, total.mean[c], total.variance(c), call.mean(),
                    call.variance(), call.invStd(), scale);
            boolean multiplyAdd = ChannelMath.multiplyAddKeepsDigits(call.mean()[c], call.variance()[c],
                    call.invStd()[c]);
            center[c] = multiplyAdd ? 0f : call.mean()[c];
            offset[c] = ChannelMath.offset(call.beta()[c], exactMean, center[c], scale[c]);
            everyCenterIsZero &= center[c] == 0f;
        }
        if (everyCenterIsZero) {
            // the same bits as (x - 0) * scale + offset, one load and one subtract fewer
            inference.run(new InferenceCall(g, call.x(), call.y(), scale, offset, call.relu()));
            return;
        }
        MemorySegment in = call.x().segment();
        MemorySegment out = call.y().segment();
        long xo = call.x().offset();
        long yo = call.y().offset();
        float[] centerR = PerChannel.repeated(center, channels, lanes);
        float[] scaleR = PerChannel.repeated(scale, channels, lanes);
        float[] offsetR = PerChannel.repeated(offset, channels, lanes);
        rows.forEachSubBlockLastChunkFirst(tasks, 2L * g.size(), (from, to) -> loops.normalizeRows(in,
                xo + (long) from * channels, out, yo + (long) from * channels, to - from, channels, centerR, scaleR, offsetR,
                call.relu()));
    }

    @Override
    public void backward(BackwardCall call, Plan plan) {
        backward.run(call);
    }

    /**
     * One row chunk's statistics. Its sub-blocks all sum x - K with the same shift K, so their
     * sums add up in double and become a mean and an M2 once, at the end; a channel whose sums
     * cancel in a sub-block is swept again around its own mean there and Chan-merged on its
     * own. (If no sub-block cancels, their union cannot: its M2 is at least the sum of theirs.)
     * Whether one channel cancels (or is NaN) never changes how another is summed, so its bits
     * do not depend on the other channels.
     */
    private final class ChunkMoments {
        final MemorySegment in;
        final long xo;
        final int channels;
        final float[] shift;
        final double[] s1;
        final double[] s2;
        final long[] n;
        /** Moments of the sub-blocks swept again around their means; null while there are none. */
        Moments swept;
        final float[] sums;
        final float[] squares;

        ChunkMoments(TrainingCall call, float[] shift) {
            this.in = call.x().segment();
            this.xo = call.x().offset();
            this.channels = call.geometry().channels();
            this.shift = shift;
            s1 = new double[channels];
            s2 = new double[channels];
            n = new long[channels];
            sums = new float[shift.length];
            squares = new float[shift.length];
        }

        void add(int from, int to) {
            int rows = to - from;
            long base = xo + (long) from * channels;
            loops.deviationSumsRows(in, base, rows, channels, channels, shift, sums, squares, 0);
            boolean again = false;
            for (int c = 0; c < channels; c++) {
                again |= Moments.cancelled(sums[c], squares[c], rows);
            }
            float[] centers = null;
            float[] again1 = null;
            float[] again2 = null;
            if (again) {
                centers = new float[shift.length];
                for (int c = 0; c < channels; c++) {
                    centers[c] = (float) (shift[c] + (double) sums[c] / rows);
                }
                again1 = new float[shift.length];
                again2 = new float[shift.length];
                loops.deviationSumsRows(in, base, rows, channels, channels, centers, again1, again2, 0);
                swept = swept == null ? new Moments(channels) : swept;
            }
            for (int c = 0; c < channels; c++) {
                if (again && Moments.cancelled(sums[c], squares[c], rows)) {
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

    @Override
    public String toString() {
        return "FusedRows[" + loops.getClass().getSimpleName() + "]";
    }
}
