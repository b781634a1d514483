package io.github.batchnorm4j.internal.kernel.planar;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.BackwardCall;
import io.github.batchnorm4j.internal.kernel.ChannelMath;
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
 * VECTORIZED on planar tensors: the textbook passes, each over the whole tensor, block by block
 * ({@link Planes}) over the threads. Forward: a mean pass, a variance pass, a normalize pass;
 * backward: a dbeta pass, a dgamma pass, a dx pass. Each block's sum is kept apart and the
 * blocks add up in order, so any thread count gives the same bits.
 */
public final class VectorizedPlanar implements LayoutKernels {
    private final Loops loops;
    private final Tasks tasks;

    public VectorizedPlanar(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
    }

    @Override
    public void forwardTraining(TrainingCall call, Plan plan) {
        Geometry g = call.geometry();
        Planes planes = Planes.of(g);
        int channels = g.channels();
        int blocks = planes.count();
        MemorySegment in = call.x().segment();
        long xo = call.x().offset();
        double[] partial = new double[channels * blocks];

        float[] shift = Statistics.shifts(g, call.x(), loops.lanes());
        planes.forEachBlock(tasks, g.size(), (c, b) -> partial[c * blocks + b] = loops.sumDeviations(
                in, xo + planes.from(c, b), planes.runs(b), planes.length(b), planes.stride(), shift[c]));
        double[] mean = TwoPassStatistics.means(perChannel(partial, channels, blocks), shift, g.reductionSize());
        float[] rounded = TwoPassStatistics.rounded(mean);

        planes.forEachBlock(tasks, g.size(), (c, b) -> partial[c * blocks + b] = loops.sumSquaredDeviations(
                in, xo + planes.from(c, b), planes.runs(b), planes.length(b), planes.stride(), rounded[c]));
        float[] scale = new float[PerChannel.paddedLength(channels, loops.lanes())];
        float[] offset = TwoPassStatistics.finish(call, mean, rounded, perChannel(partial, channels, blocks), scale);

        MemorySegment out = call.y().segment();
        long yo = call.y().offset();
        float[] center = call.mean();
        planes.forEachBlock(tasks, 2L * g.size(), (c, b) -> {
            long at = planes.from(c, b);
            loops.normalize(in, xo + at, out, yo + at, planes.runs(b), planes.length(b), planes.stride(),
                    center[c], scale[c], offset[c], call.relu());
        });
    }

    @Override
    public void backward(BackwardCall call, Plan plan) {
        Geometry g = call.geometry();
        Planes planes = Planes.of(g);
        int channels = g.channels();
        int blocks = planes.count();
        int stride = planes.stride();
        MemorySegment in = call.x().segment();
        MemorySegment grad = call.dy().segment();
        MemorySegment mask = call.mask();
        long xo = call.x().offset();
        long dyo = call.dy().offset();
        long yo = call.maskOffset();
        float[] mean = call.mean();

        double[] partialDy = new double[channels * blocks];
        planes.forEachBlock(tasks, g.size(), (c, b) -> {
            long at = planes.from(c, b);
            partialDy[c * blocks + b] = loops.sumGradient(grad, dyo + at, mask, yo + at, planes.runs(b),
                    planes.length(b), stride);
        });
        double[] partialDev = new double[channels * blocks];
        planes.forEachBlock(tasks, 2L * g.size(), (c, b) -> {
            long at = planes.from(c, b);
            partialDev[c * blocks + b] = loops.sumGradientDeviation(in, xo + at, grad, dyo + at, mask, yo + at,
                    planes.runs(b), planes.length(b), stride, mean[c]);
        });

        float[] a = new float[channels];
        float[] b = new float[channels];
        float[] cc = new float[channels];
        double[] sumDy = perChannel(partialDy, channels, blocks);
        double[] sumDyDev = perChannel(partialDev, channels, blocks);
        for (int c = 0; c < channels; c++) {
            ChannelMath.backwardCoefficients(c, call.gamma()[c], call.invStd()[c], sumDy[c], sumDyDev[c],
                    g.reductionSize(), call.batchStatistics(), a, b, cc, call.dgamma(), call.dbeta());
        }

        MemorySegment out = call.dx().segment();
        long dxo = call.dx().offset();
        planes.forEachBlock(tasks, 3L * g.size(), (c, k) -> {
            long at = planes.from(c, k);
            loops.gradientApply(in, xo + at, grad, dyo + at, mask, yo + at, out, dxo + at, planes.runs(k),
                    planes.length(k), stride, mean[c], a[c], b[c], cc[c]);
        });
    }

    /** Each channel's blocks added up in block order. */
    private static double[] perChannel(double[] partial, int channels, int blocks) {
        double[] total = new double[channels];
        for (int c = 0; c < channels; c++) {
            for (int b = 0; b < blocks; b++) {
                total[c] += partial[c * blocks + b];
            }
        }
        return total;
    }

    @Override
    public String toString() {
        return "VectorizedPlanar[" + loops.getClass().getSimpleName() + "]";
    }
}
