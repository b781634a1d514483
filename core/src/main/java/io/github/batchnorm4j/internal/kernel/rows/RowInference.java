package io.github.batchnorm4j.internal.kernel.rows;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.InferenceCall;
import io.github.batchnorm4j.internal.kernel.PerChannel;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.foreign.MemorySegment;

/**
 * Inference on rows for both fast variants, {@code y = x * scale + shift}: one multiply-add per
 * element is already the fewest trips through memory. Fused training forward writes through it
 * too where every channel takes that form.
 */
public final class RowInference {
    private final Loops loops;
    private final Tasks tasks;

    public RowInference(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
    }

    public void run(InferenceCall call) {
        Geometry g = call.geometry();
        int channels = g.channels();
        RowChunks rows = RowChunks.of(g);
        MemorySegment in = call.x().segment();
        MemorySegment out = call.y().segment();
        long xo = call.x().offset();
        long yo = call.y().offset();
        float[] scale = PerChannel.repeated(call.scale(), channels, loops.lanes());
        float[] shift = PerChannel.repeated(call.shift(), channels, loops.lanes());
        rows.forEachSubBlockLastChunkFirst(tasks, 2L * g.size(), (from, to) -> loops.scaleShiftRows(in,
                xo + (long) from * channels, out, yo + (long) from * channels, to - from, channels, scale, shift, call.relu()));
    }
}
