package io.github.batchnorm4j.internal.kernel;

/**
 * The operations every variant implements. Arguments are already checked: spans are large
 * enough, per-channel arrays have length C, gamma and beta are materialized (1 and 0 when off).
 * A kernel writes only its outputs.
 */
public interface Kernels {

    /**
     * Batch statistics and normalization. Writes y, and per channel the mean, the biased
     * variance and {@code invStd = 1/sqrt(var + eps)}.
     */
    void forwardTraining(TrainingCall call);

    /** {@code y = x * scale[c] + shift[c]}, then ReLU when asked. */
    void forwardInference(InferenceCall call);

    /**
     * Gradients. {@code dy' = relu ? dy * (y > 0) : dy}; {@code dbeta = sum dy'},
     * {@code dgamma = sum dy' * xhat} with {@code xhat = (x - mean) * invStd}. With batch
     * statistics {@code dx = gamma * invStd / M * (M dy' - dbeta - xhat dgamma)}; with frozen
     * (running) statistics {@code dx = dy' * gamma * invStd}. y is read only when relu is on.
     */
    void backward(BackwardCall call);
}
