package io.github.batchnorm4j.internal.kernel.planar;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.InferenceCall;
import io.github.batchnorm4j.internal.kernel.Plan;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.foreign.MemorySegment;

/**
 * Inference on planar tensors for both fast variants, {@code y = x * scale + shift}: one
 * multiply-add per element is already the fewest trips through memory. Fused training forward
 * writes through it too where every channel takes that form.
 */
public final class PlanarInference {
    private final Loops loops;
    private final Tasks tasks;

    public PlanarInference(Loops loops, Tasks tasks) {
        this.loops = loops;
        this.tasks = tasks;
    }

    public void run(InferenceCall call, Plan.Write write) {
        Geometry g = call.geometry();
        Planes planes = Planes.of(g);
        MemorySegment in = call.x().segment();
        MemorySegment out = call.y().segment();
        long xo = call.x().offset();
        long yo = call.y().offset();
        boolean relu = call.relu();
        long floats = 2L * g.size();
        switch (write) {
            case IMAGE_ROWS -> {
                int width = g.channels() * g.inner();
                float[] scale = planes.spread(call.scale(), loops.lanes());
                float[] shift = planes.spread(call.shift(), loops.lanes());
                planes.forEachImageRows(tasks, floats, (from, to) -> loops.scaleShiftRows(in, xo + (long) from * width,
                        out, yo + (long) from * width, to - from, width, scale, shift, relu));
            }
            case PLANE_RANGES -> {
                int channels = g.channels();
                int inner = g.inner();
                float[] scale = call.scale();
                float[] shift = call.shift();
                planes.forEachPlaneRange(tasks, floats, (from, to) -> {
                    for (int p = from; p < to; p++) {
                        int c = p % channels;
                        loops.scaleShift(in, xo + (long) p * inner, out, yo + (long) p * inner, 1, inner, inner, scale[c],
                                shift[c], relu);
                    }
                });
            }
            default -> throw new IllegalArgumentException("planar inference writes image rows or plane ranges, not " + write);
        }
    }
}
