package io.github.batchnorm4j;

import io.github.batchnorm4j.internal.check.Checks;

/**
 * Where backward writes the gradients of the loss with respect to gamma and beta. Either array
 * may be null when that gradient is not wanted (for example with scale or center off).
 */
public final class ParameterGradients {
    private final float[] dgamma;
    private final float[] dbeta;

    private ParameterGradients(float[] dgamma, float[] dbeta) {
        this.dgamma = dgamma;
        this.dbeta = dbeta;
    }

    /** Fresh arrays for {@code channels} channels. */
    public static ParameterGradients allocate(int channels) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be at least 1, got " + channels);
        }
        return new ParameterGradients(new float[channels], new float[channels]);
    }

    /**
     * The caller's arrays, each null when not wanted or else of length exactly C, the channels
     * of the geometry they are used with (each call checks it); two arrays must be distinct.
     */
    public static ParameterGradients of(float[] dgamma, float[] dbeta) {
        if (dgamma != null) {
            Checks.requireDistinct("dgamma", dgamma, "dbeta", dbeta);
        }
        return new ParameterGradients(dgamma, dbeta);
    }

    /** Gradient with respect to gamma, sum of dy * xhat; null when not wanted. */
    public float[] dgamma() {
        return dgamma;
    }

    /** Gradient with respect to beta, sum of dy; null when not wanted. */
    public float[] dbeta() {
        return dbeta;
    }
}
