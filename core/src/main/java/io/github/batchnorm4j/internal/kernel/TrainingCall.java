package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;

/**
 * One training forward's arguments: x and its parameters in, y and the per-channel mean,
 * biased variance and invStd out.
 */
public record TrainingCall(Geometry geometry, FloatSpan x, FloatSpan y, float[] gamma, float[] beta,
        float epsilon, boolean relu, float[] mean, float[] variance, float[] invStd) {

    /** The same call on another view of the same memory (see {@link Plan#geometry}). */
    public TrainingCall on(Geometry view) {
        return new TrainingCall(view, x, y, gamma, beta, epsilon, relu, mean, variance, invStd);
    }
}
