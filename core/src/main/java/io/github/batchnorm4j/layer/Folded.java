package io.github.batchnorm4j.layer;

/**
 * A dense or convolution layer's weights and bias with a frozen batch norm after it folded in:
 * {@code W'[o] = W[o] * s[o]}, {@code b'[o] = (b[o] - runningMean[o]) * s[o] + beta[o]}, with
 * {@code s = gamma / sqrt(runningVar + eps)}. See {@link BatchNormLayer#fold}.
 *
 * @param weights the folded weights, in the shape and order of the weights given
 * @param bias the folded bias, one per output channel
 */
public record Folded(float[] weights, float[] bias) {}
