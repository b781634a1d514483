package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;

/** One inference forward: {@code y = x * scale[c] + shift[c]}, ReLU when asked. */
public record InferenceCall(Geometry geometry, FloatSpan x, FloatSpan y, float[] scale, float[] shift,
        boolean relu) {

    /** The same call on another view of the same memory (see {@link Plan#geometry}). */
    public InferenceCall on(Geometry view) {
        return new InferenceCall(view, x, y, scale, shift, relu);
    }
}
