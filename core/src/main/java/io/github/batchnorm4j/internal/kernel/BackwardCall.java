package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import java.lang.foreign.MemorySegment;

/**
 * One backward's arguments: x, dy and the statistics of the forward in (y too when ReLU is
 * fused: its mask), dx, dgamma and dbeta out.
 *
 * @param batchStatistics whether mean and invStd are the batch's (training) or frozen (running)
 */
public record BackwardCall(Geometry geometry, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
        float[] gamma, float[] mean, float[] invStd, boolean relu, boolean batchStatistics,
        float[] dgamma, float[] dbeta) {

    /** The same call on another view of the same memory (see {@link Plan#geometry}). */
    public BackwardCall on(Geometry view) {
        return new BackwardCall(view, x, y, dy, dx, gamma, mean, invStd, relu, batchStatistics, dgamma, dbeta);
    }

    /** The memory of y when ReLU needs it for the mask, else null: the loops read no mask then. */
    public MemorySegment mask() {
        return relu ? y.segment() : null;
    }

    /** The offset of y in {@link #mask}, 0 without one. */
    public long maskOffset() {
        return relu ? y.offset() : 0;
    }
}
