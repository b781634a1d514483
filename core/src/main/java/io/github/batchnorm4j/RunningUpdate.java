package io.github.batchnorm4j;

/**
 * How training folds each batch's statistics into the running statistics used at inference.
 *
 * <p>The two frameworks spell "momentum" in opposite ways. Here every rule is written with the
 * weight {@code w} that the <em>new batch</em> gets: {@code run = (1 - w) * run + w * batch}.
 *
 * <table>
 *   <caption>Presets</caption>
 *   <tr><th>preset</th><th>w</th><th>running variance takes</th></tr>
 *   <tr><td>{@link #pytorch(double) pytorch(momentum)}</td><td>momentum (default 0.1)</td>
 *       <td>unbiased batch variance, var * M / (M - 1)</td></tr>
 *   <tr><td>{@link #keras(double) keras(momentum)}</td><td>1 - momentum (default 0.99)</td>
 *       <td>biased batch variance</td></tr>
 *   <tr><td>{@link #pytorchCumulativeAverage()}</td><td>1 / t for the t-th batch</td>
 *       <td>unbiased batch variance</td></tr>
 * </table>
 */
public final class RunningUpdate {
    /** PyTorch's default {@code momentum}: the new batch's weight. */
    public static final double PYTORCH_DEFAULT_MOMENTUM = 0.1;
    /** Keras' default {@code momentum}: the old running value's weight. */
    public static final double KERAS_DEFAULT_MOMENTUM = 0.99;

    /** How the rule was spelled when it was made, so that it can be written out and read back. */
    public enum Convention {
        /** {@link #keras(double)}: momentum is the old value's weight. */
        KERAS,
        /** {@link #pytorch(double)}: momentum is the new batch's weight. */
        PYTORCH,
        /** {@link #exponential(double, boolean)}: the new batch's weight, said as such. */
        NEW_BATCH_WEIGHT,
        /** {@link #cumulativeAverage(boolean)}: no momentum, w = 1/t. */
        CUMULATIVE_AVERAGE
    }

    private final Convention convention;
    private final double momentum;
    private final double newBatchWeight;
    private final boolean unbiasedVariance;

    private RunningUpdate(Convention convention, double momentum, double newBatchWeight,
            boolean unbiasedVariance) {
        this.convention = convention;
        this.momentum = momentum;
        this.newBatchWeight = newBatchWeight;
        this.unbiasedVariance = unbiasedVariance;
    }

    /**
     * Exponential moving average: {@code run = (1 - w) * run + w * batch}.
     *
     * @param newBatchWeight w, the weight of the new batch, in [0, 1]
     * @param unbiasedVariance whether the running variance takes {@code var * M / (M - 1)}
     */
    public static RunningUpdate exponential(double newBatchWeight, boolean unbiasedVariance) {
        requireUnitInterval("newBatchWeight", newBatchWeight);
        return new RunningUpdate(Convention.NEW_BATCH_WEIGHT, newBatchWeight, newBatchWeight,
                unbiasedVariance);
    }

    /**
     * Cumulative (equal-weight) average over every batch seen: w = 1/t for the t-th batch.
     *
     * @param unbiasedVariance whether the running variance takes {@code var * M / (M - 1)}
     */
    public static RunningUpdate cumulativeAverage(boolean unbiasedVariance) {
        return new RunningUpdate(Convention.CUMULATIVE_AVERAGE, Double.NaN, Double.NaN,
                unbiasedVariance);
    }

    /**
     * PyTorch's {@code BatchNorm(momentum=m)}: the new batch gets weight {@code m}, the running
     * variance takes the unbiased batch variance.
     *
     * @param momentum in [0, 1]; PyTorch's default is {@value #PYTORCH_DEFAULT_MOMENTUM}
     */
    public static RunningUpdate pytorch(double momentum) {
        requireUnitInterval("momentum", momentum);
        return new RunningUpdate(Convention.PYTORCH, momentum, momentum, true);
    }

    /** PyTorch's {@code BatchNorm(momentum=None)}: cumulative average, unbiased variance. */
    public static RunningUpdate pytorchCumulativeAverage() {
        return cumulativeAverage(true);
    }

    /**
     * Keras' {@code BatchNormalization(momentum=m)}: the <em>old</em> value keeps weight {@code m},
     * so the new batch gets {@code 1 - m}; the running variance takes the biased batch variance.
     *
     * @param momentum in [0, 1]; Keras' default is {@value #KERAS_DEFAULT_MOMENTUM}
     */
    public static RunningUpdate keras(double momentum) {
        requireUnitInterval("momentum", momentum);
        return new RunningUpdate(Convention.KERAS, momentum, 1.0 - momentum, false);
    }

    /** True for the cumulative average, false for the exponential rule. */
    public boolean cumulative() {
        return convention == Convention.CUMULATIVE_AVERAGE;
    }

    /** How the rule was made: which framework's momentum {@link #momentum()} is. */
    public Convention convention() {
        return convention;
    }

    /**
     * The momentum as it was given, in the sense of {@link #convention()} (Keras: the old
     * value's weight; PyTorch and {@code NEW_BATCH_WEIGHT}: the new batch's); NaN for the
     * cumulative average.
     */
    public double momentum() {
        return momentum;
    }

    /**
     * The weight the t-th batch gets (t counts from 1).
     */
    public double newBatchWeight(long t) {
        return cumulative() ? 1.0 / t : newBatchWeight;
    }

    /** Whether the running variance takes the unbiased batch variance {@code var * M/(M-1)}. */
    public boolean unbiasedVariance() {
        return unbiasedVariance;
    }

    private static void requireUnitInterval(String name, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], got " + value);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RunningUpdate that && convention == that.convention
                && Double.compare(momentum, that.momentum) == 0
                && unbiasedVariance == that.unbiasedVariance;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(convention, momentum, unbiasedVariance);
    }

    @Override
    public String toString() {
        return cumulative()
                ? "RunningUpdate[cumulative average, unbiasedVariance=" + unbiasedVariance + "]"
                : "RunningUpdate[run = (1 - " + newBatchWeight + ") * run + " + newBatchWeight
                        + " * batch, unbiasedVariance=" + unbiasedVariance + "]";
    }
}
