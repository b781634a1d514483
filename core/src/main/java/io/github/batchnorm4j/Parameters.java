package io.github.batchnorm4j;

import io.github.batchnorm4j.internal.check.Checks;

/**
 * What a batch-normalization layer applies after normalizing: the per-channel scale
 * {@code gamma} and shift {@code beta} (either may be off, as Keras' {@code scale=False} and
 * {@code center=False}), the {@code epsilon} added to the variance, and an optional ReLU fused
 * into the output.
 *
 * <p>Immutable; the arrays are the caller's, not copied, so an optimizer can update them in
 * place between steps. Their lengths are checked against the geometry at each call.
 */
public final class Parameters {
    /** PyTorch's default epsilon. Keras uses 1e-3: pass it with {@link #withEpsilon}. */
    public static final float DEFAULT_EPSILON = 1e-5f;

    private final float[] gamma;
    private final float[] beta;
    private final float epsilon;
    private final boolean relu;

    private Parameters(float[] gamma, float[] beta, float epsilon, boolean relu) {
        this.gamma = gamma;
        this.beta = beta;
        this.epsilon = Checks.requireEpsilon(epsilon);
        this.relu = relu;
    }

    /** Scale by {@code gamma} and shift by {@code beta}, each of length C. */
    public static Parameters affine(float[] gamma, float[] beta) {
        return new Parameters(
                requireArray("gamma", gamma), requireArray("beta", beta), DEFAULT_EPSILON, false);
    }

    /** Scale only (Keras {@code center=False}): beta is 0. */
    public static Parameters scaleOnly(float[] gamma) {
        return new Parameters(requireArray("gamma", gamma), null, DEFAULT_EPSILON, false);
    }

    /** Shift only (Keras {@code scale=False}): gamma is 1. */
    public static Parameters centerOnly(float[] beta) {
        return new Parameters(null, requireArray("beta", beta), DEFAULT_EPSILON, false);
    }

    /** Neither scale nor shift (PyTorch {@code affine=False}): y = xhat. */
    public static Parameters none() {
        return new Parameters(null, null, DEFAULT_EPSILON, false);
    }

    /** The same parameters with another epsilon, which must be finite and > 0. */
    public Parameters withEpsilon(float epsilon) {
        return new Parameters(gamma, beta, epsilon, relu);
    }

    /** The same parameters with ReLU fused into the output on or off. */
    public Parameters withRelu(boolean relu) {
        return new Parameters(gamma, beta, epsilon, relu);
    }

    /** The scale, or null when scale is off (gamma = 1). */
    public float[] gamma() {
        return gamma;
    }

    /** The shift, or null when center is off (beta = 0). */
    public float[] beta() {
        return beta;
    }

    public float epsilon() {
        return epsilon;
    }

    public boolean relu() {
        return relu;
    }

    private static float[] requireArray(String name, float[] array) {
        if (array == null) {
            throw new NullPointerException(name + " must not be null");
        }
        return array;
    }

    @Override
    public String toString() {
        return "Parameters[scale=" + (gamma != null) + ", center=" + (beta != null)
                + ", epsilon=" + epsilon + ", relu=" + relu + "]";
    }
}
