package io.github.batchnorm4j.internal.kernel.rows;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.BackwardCall;
import io.github.batchnorm4j.internal.kernel.ChannelMath;
import io.github.batchnorm4j.internal.kernel.PerChannel;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.foreign.MemorySegment;

/**
 * Backward on rows for both fast variants: each chunk sums dy' and dy' * (x - mean) over its
 * rows for all channels, both in one sweep (a row holds every channel, so a pass per sum would
 * read every row twice for nothing), chunks add up in order, then dx row by row, the last chunk
 * first.
 */
final class RowBackward {
    private final Loops loops;
    private final Tasks tasks;

    RowBackward(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
    }

    void run(BackwardCall call) {
        Geometry g = call.geometry();
        int channels = g.channels();
        int lanes = loops.lanes();
        RowChunks rows = RowChunks.of(g);
        MemorySegment in = call.x().segment();
        MemorySegment grad = call.dy().segment();
        MemorySegment mask = call.mask();
        long xo = call.x().offset();
        long dyo = call.dy().offset();
        long yo = call.maskOffset();
        float[] meanP = PerChannel.padded(call.mean(), lanes);
        int padded = PerChannel.paddedLength(channels, lanes);
        // each task fills arrays of its own: lines the caller allocated would move between cores
        double[][] sumDy = new double[rows.chunks()][];
        double[][] sumDyDev = new double[rows.chunks()][];
        tasks.forEach(rows.chunks(), 2L * g.size(), k -> {
            float[] partDy = new float[padded];
            float[] partDev = new float[padded];
            double[] chunkDy = new double[channels];
            double[] chunkDev = new double[channels];
            rows.forEachSumSlice(k, (from, to) -> {
                long at = (long) from * channels;
                loops.gradientSumsRows(in, xo + at, grad, dyo + at, mask, yo + at, to - from, channels, channels,
                        meanP, partDy, partDev, 0);
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
            ChannelMath.backwardCoefficients(c, call.gamma()[c], call.invStd()[c], totalDy, totalDev,
                    g.reductionSize(), call.batchStatistics(), a, b, cc, call.dgamma(), call.dbeta());
        }

        MemorySegment out = call.dx().segment();
        long dxo = call.dx().offset();
        float[] meanR = PerChannel.repeated(call.mean(), channels, lanes);
        float[] aR = PerChannel.repeated(a, channels, lanes);
        float[] bR = PerChannel.repeated(b, channels, lanes);
        float[] cR = PerChannel.repeated(cc, channels, lanes);
        rows.forEachSubBlockLastChunkFirst(tasks, 3L * g.size(), (from, to) -> {
            long at = (long) from * channels;
            loops.gradientApplyRows(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, to - from, channels,
                    meanR, aR, bR, cR);
        });
    }
}
