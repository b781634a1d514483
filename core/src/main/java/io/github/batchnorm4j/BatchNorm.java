package io.github.batchnorm4j;

import static io.github.batchnorm4j.internal.check.Checks.requireChannels;
import static io.github.batchnorm4j.internal.check.Checks.requireChannelsOrNull;
import static io.github.batchnorm4j.internal.check.Checks.requireInPlaceOrDisjoint;
import static io.github.batchnorm4j.internal.check.Checks.requireNonNull;
import static io.github.batchnorm4j.internal.check.Checks.requireOutput;
import static io.github.batchnorm4j.internal.check.Checks.requireTensor;
import static io.github.batchnorm4j.internal.check.Checks.requireTrainable;
import static io.github.batchnorm4j.internal.check.Checks.requireUnaliased;

import io.github.batchnorm4j.internal.check.Checks;
import io.github.batchnorm4j.internal.check.Checks.Use;
import io.github.batchnorm4j.internal.kernel.BackwardCall;
import io.github.batchnorm4j.internal.kernel.ChannelMath;
import io.github.batchnorm4j.internal.kernel.InferenceCall;
import io.github.batchnorm4j.internal.kernel.KernelProvider;
import io.github.batchnorm4j.internal.kernel.Kernels;
import io.github.batchnorm4j.internal.kernel.TrainingCall;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Batch normalization over the channels of a float32 tensor: forward in training and inference
 * mode, and backward with batch or frozen statistics.
 *
 * <pre>{@code
 * BatchNorm bn = BatchNorm.builder().variant(Variant.FUSED).threads(2).build();
 * Geometry g = Geometry.nchw(32, 64, 56, 56);
 * Parameters p = Parameters.affine(gamma, beta);
 * RunningStatistics running = RunningStatistics.initial(64, RunningUpdate.pytorch(0.1));
 * BatchStatistics saved = BatchStatistics.allocate(64);
 * bn.forwardTraining(g, x, y, p, saved, running);
 * bn.backward(g, x, y, dy, dx, p, saved, ParameterGradients.of(dgamma, dbeta));
 * }</pre>
 *
 * <p>Immutable and thread-safe: one instance may serve many layers and threads at once. Every
 * call checks all its arguments before it writes anything, sizes and aliasing included (no
 * array it writes may be another of its arguments, but for y in place of x and dx in place of
 * dy or x); a call that throws has changed no output and no running statistic. A NaN or an
 * infinity stays in its channel: every other channel's results keep their bits.
 */
public final class BatchNorm {
    private final Variant variant;
    private final Parallelism parallelism;
    /** For tensors in different kinds of memory. */
    private final Kernels kernels;
    /** The same, for a call with a segment confined to the calling thread, which no pool thread may touch. */
    private final Kernels callingThreadOnly;
    /** For tensors all in one class of segment (arrays are heap segments too): their own compiled loops. */
    private final ClassValue<Kernels> byMemory;
    private final ClassValue<Kernels> byMemoryCallingThreadOnly;

    private BatchNorm(Variant variant, Parallelism parallelism) {
        this.variant = variant;
        this.parallelism = parallelism;
        Tasks tasks = parallelism.tasks();
        Tasks callingThread = parallelism.threads() == 1 ? tasks : Parallelism.sequential().tasks();
        this.kernels = KernelProvider.kernels(variant, tasks);
        this.callingThreadOnly = KernelProvider.kernels(variant, callingThread);
        this.byMemory = kernelsByMemory(variant, tasks);
        this.byMemoryCallingThreadOnly = kernelsByMemory(variant, callingThread);
    }

    private static ClassValue<Kernels> kernelsByMemory(Variant variant, Tasks tasks) {
        return new ClassValue<>() {
            @Override
            protected Kernels computeValue(Class<?> segmentClass) {
                return KernelProvider.kernels(variant, tasks, segmentClass);
            }
        };
    }

    /**
     * The kernels for these tensors (null ones are not read): copies specialized to their
     * segment class when they share one, and on the calling thread alone when a segment is
     * confined to it.
     */
    private Kernels kernelsFor(FloatSpan... tensors) {
        boolean shareable = true;
        Class<?> memory = null;
        boolean mixed = false;
        for (FloatSpan tensor : tensors) {
            if (tensor != null) {
                MemorySegment segment = tensor.segment();
                shareable &= Checks.shareable(segment);
                mixed |= memory != null && segment.getClass() != memory;
                memory = segment.getClass();
            }
        }
        if (mixed) {
            return shareable ? kernels : callingThreadOnly;
        }
        return (shareable ? byMemory : byMemoryCallingThreadOnly).get(memory);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Float lanes per vector in the vectorized and fused kernels: 16 with 512-bit vectors, 8
     * with 256-bit, 1 when they run on the scalar path (the vector module is missing, or
     * {@code -Dbatchnorm4j.vector=false}).
     */
    public static int vectorLanes() {
        return KernelProvider.vectorLanes();
    }

    public Variant variant() {
        return variant;
    }

    public Parallelism parallelism() {
        return parallelism;
    }

    /**
     * Training forward: normalizes x with its own batch statistics, writes y, saves the
     * per-channel mean and invStd for backward, and folds them into {@code running}.
     *
     * @param running the running statistics to update, or null not to track any
     * @throws IllegalArgumentException if a channel has a single value (outer * inner == 1)
     */
    public void forwardTraining(Geometry geometry, FloatSpan x, FloatSpan y, Parameters parameters,
            BatchStatistics saved, RunningStatistics running) {
        requireNonNull("geometry", geometry);
        requireTensor("x", x, geometry);
        requireOutput("y", y, geometry);
        requireInPlaceOrDisjoint("y", y, "x", x, geometry);
        int channels = requireParameters(parameters, geometry);
        requireNonNull("saved", saved);
        requireChannels("saved mean", saved.mean(), channels);
        requireChannels("saved invStd", saved.invStd(), channels);
        if (running != null) {
            requireRunning(running, channels);
        }
        requireTrainable(geometry);
        requireUnaliased(Use.readsTensor("x", x), Use.writesTensor("y", y),
                Use.reads("gamma", parameters.gamma()), Use.reads("beta", parameters.beta()),
                Use.writes("saved mean", saved.mean()), Use.writes("saved invStd", saved.invStd()),
                Use.writes("running mean", running == null ? null : running.mean()),
                Use.writes("running variance", running == null ? null : running.variance()));

        float[] variance = new float[channels];
        kernelsFor(x, y).forwardTraining(new TrainingCall(geometry, x, y, gammaOrOnes(parameters, channels),
                betaOrZeros(parameters, channels), parameters.epsilon(), parameters.relu(),
                saved.mean(), variance, saved.invStd()));
        if (running != null) {
            running.fold(saved.mean(), variance, channels, geometry.reductionSize());
        }
    }

    /** {@link #forwardTraining(Geometry, FloatSpan, FloatSpan, Parameters, BatchStatistics, RunningStatistics)} on whole arrays. */
    public void forwardTraining(Geometry geometry, float[] x, float[] y, Parameters parameters,
            BatchStatistics saved, RunningStatistics running) {
        forwardTraining(geometry, span("x", x), span("y", y), parameters, saved, running);
    }

    /**
     * Inference forward: normalizes x with the running statistics, one multiply-add per element.
     * Changes nothing but y.
     */
    public void forwardInference(Geometry geometry, FloatSpan x, FloatSpan y, Parameters parameters,
            RunningStatistics running) {
        requireNonNull("geometry", geometry);
        requireTensor("x", x, geometry);
        requireOutput("y", y, geometry);
        requireInPlaceOrDisjoint("y", y, "x", x, geometry);
        int channels = requireParameters(parameters, geometry);
        requireRunning(running, channels);
        requireUnaliased(Use.readsTensor("x", x), Use.writesTensor("y", y),
                Use.reads("gamma", parameters.gamma()), Use.reads("beta", parameters.beta()),
                Use.reads("running mean", running.mean()), Use.reads("running variance", running.variance()));

        float[] gamma = gammaOrOnes(parameters, channels);
        float[] beta = betaOrZeros(parameters, channels);
        float[] scale = new float[channels];
        float[] shift = new float[channels];
        for (int c = 0; c < channels; c++) {
            float invStd = ChannelMath.invStd(running.variance()[c], parameters.epsilon());
            scale[c] = ChannelMath.scale(gamma[c], invStd);
            shift[c] = ChannelMath.shift(beta[c], running.mean()[c], gamma[c], invStd);
        }
        kernelsFor(x, y).forwardInference(new InferenceCall(geometry, x, y, scale, shift, parameters.relu()));
    }

    /** {@link #forwardInference(Geometry, FloatSpan, FloatSpan, Parameters, RunningStatistics)} on whole arrays. */
    public void forwardInference(Geometry geometry, float[] x, float[] y, Parameters parameters,
            RunningStatistics running) {
        forwardInference(geometry, span("x", x), span("y", y), parameters, running);
    }

    /**
     * Training backward, with the batch statistics that {@link #forwardTraining} saved. Writes dx,
     * and dgamma and dbeta where {@code gradients} has arrays for them.
     *
     * @param y the forward output, read only when ReLU is fused (its mask is {@code y > 0});
     *     may be null otherwise
     */
    public void backward(Geometry geometry, FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
            Parameters parameters, BatchStatistics saved, ParameterGradients gradients) {
        int channels = requireBackward(geometry, x, y, dy, dx, parameters, gradients);
        requireNonNull("saved", saved);
        requireChannels("saved mean", saved.mean(), channels);
        requireChannels("saved invStd", saved.invStd(), channels);
        requireUnaliasedBackward(x, y, dy, dx, parameters, gradients, "saved mean", saved.mean(),
                "saved invStd", saved.invStd());
        runBackward(geometry, x, y, dy, dx, parameters, saved.mean(), saved.invStd(), true, gradients);
    }

    /** {@link #backward(Geometry, FloatSpan, FloatSpan, FloatSpan, FloatSpan, Parameters, BatchStatistics, ParameterGradients)} on whole arrays. */
    public void backward(Geometry geometry, float[] x, float[] y, float[] dy, float[] dx,
            Parameters parameters, BatchStatistics saved, ParameterGradients gradients) {
        backward(geometry, span("x", x), y == null ? null : span("y", y), span("dy", dy),
                span("dx", dx), parameters, saved, gradients);
    }

    /**
     * Backward through a frozen layer (inference-mode statistics, as when fine-tuning with BN
     * frozen): {@code dx = dy' * gamma / sqrt(runningVar + eps)}; dgamma and dbeta use the
     * running statistics' xhat.
     *
     * @param y the forward output, read only when ReLU is fused; may be null otherwise
     */
    public void backwardFrozen(Geometry geometry, FloatSpan x, FloatSpan y, FloatSpan dy,
            FloatSpan dx, Parameters parameters, RunningStatistics running,
            ParameterGradients gradients) {
        int channels = requireBackward(geometry, x, y, dy, dx, parameters, gradients);
        requireRunning(running, channels);
        requireUnaliasedBackward(x, y, dy, dx, parameters, gradients, "running mean", running.mean(),
                "running variance", running.variance());
        float[] invStd = new float[channels];
        for (int c = 0; c < channels; c++) {
            invStd[c] = ChannelMath.invStd(running.variance()[c], parameters.epsilon());
        }
        runBackward(geometry, x, y, dy, dx, parameters, running.mean(), invStd, false, gradients);
    }

    /** {@link #backwardFrozen(Geometry, FloatSpan, FloatSpan, FloatSpan, FloatSpan, Parameters, RunningStatistics, ParameterGradients)} on whole arrays. */
    public void backwardFrozen(Geometry geometry, float[] x, float[] y, float[] dy, float[] dx,
            Parameters parameters, RunningStatistics running, ParameterGradients gradients) {
        backwardFrozen(geometry, span("x", x), y == null ? null : span("y", y), span("dy", dy),
                span("dx", dx), parameters, running, gradients);
    }

    private void runBackward(Geometry geometry, FloatSpan x, FloatSpan y, FloatSpan dy,
            FloatSpan dx, Parameters parameters, float[] mean, float[] invStd,
            boolean batchStatistics, ParameterGradients gradients) {
        int channels = geometry.channels();
        float[] dgamma = gradients.dgamma() != null ? gradients.dgamma() : new float[channels];
        float[] dbeta = gradients.dbeta() != null ? gradients.dbeta() : new float[channels];
        kernelsFor(x, parameters.relu() ? y : null, dy, dx).backward(new BackwardCall(geometry, x, y, dy, dx, gammaOrOnes(parameters, channels), mean,
                invStd, parameters.relu(), batchStatistics, dgamma, dbeta));
    }

    private static int requireBackward(Geometry geometry, FloatSpan x, FloatSpan y, FloatSpan dy,
            FloatSpan dx, Parameters parameters, ParameterGradients gradients) {
        requireNonNull("geometry", geometry);
        requireTensor("x", x, geometry);
        requireTensor("dy", dy, geometry);
        requireOutput("dx", dx, geometry);
        requireInPlaceOrDisjoint("dx", dx, "dy", dy, geometry);
        requireInPlaceOrDisjoint("dx", dx, "x", x, geometry);
        int channels = requireParameters(parameters, geometry);
        if (parameters.relu()) {
            if (y == null) {
                throw new NullPointerException(
                        "y (the forward output) must not be null when ReLU is fused: its mask is y > 0");
            }
            requireTensor("y", y, geometry);
            requireInPlaceOrDisjoint("dx", dx, "y", y, geometry);
        }
        requireNonNull("gradients", gradients);
        requireChannelsOrNull("dgamma", gradients.dgamma(), channels);
        requireChannelsOrNull("dbeta", gradients.dbeta(), channels);
        return channels;
    }

    /** Backward writes dx, dgamma and dbeta: none of them may be an array it reads. */
    private static void requireUnaliasedBackward(FloatSpan x, FloatSpan y, FloatSpan dy, FloatSpan dx,
            Parameters parameters, ParameterGradients gradients, String meanName, float[] mean,
            String invStdName, float[] invStdOrVariance) {
        requireUnaliased(Use.readsTensor("x", x), Use.readsTensor("y", parameters.relu() ? y : null),
                Use.readsTensor("dy", dy), Use.writesTensor("dx", dx), Use.reads("gamma", parameters.gamma()),
                Use.reads(meanName, mean), Use.reads(invStdName, invStdOrVariance),
                Use.writes("dgamma", gradients.dgamma()), Use.writes("dbeta", gradients.dbeta()));
    }

    private static int requireParameters(Parameters parameters, Geometry geometry) {
        requireNonNull("parameters", parameters);
        int channels = geometry.channels();
        if (parameters.gamma() != null) {
            requireChannels("gamma", parameters.gamma(), channels);
        }
        if (parameters.beta() != null) {
            requireChannels("beta", parameters.beta(), channels);
        }
        return channels;
    }

    private static void requireRunning(RunningStatistics running, int channels) {
        requireNonNull("running", running);
        requireChannels("running mean", running.mean(), channels);
        requireChannels("running variance", running.variance(), channels);
    }

    private static float[] gammaOrOnes(Parameters parameters, int channels) {
        if (parameters.gamma() != null) {
            return parameters.gamma();
        }
        float[] ones = new float[channels];
        Arrays.fill(ones, 1f);
        return ones;
    }

    private static float[] betaOrZeros(Parameters parameters, int channels) {
        return parameters.beta() != null ? parameters.beta() : new float[channels];
    }

    private static FloatSpan span(String name, float[] array) {
        return FloatSpan.of(requireNonNull(name, array));
    }

    @Override
    public String toString() {
        return "BatchNorm[" + variant + ", " + parallelism + "]";
    }

    /** Chooses the variant and the threads. */
    public static final class Builder {
        private Variant variant = Variant.FUSED;
        private Parallelism parallelism = Parallelism.machine();

        private Builder() {}

        /** Which kernels run; see {@link Variant}. The default is {@link Variant#FUSED}. */
        public Builder variant(Variant variant) {
            this.variant = requireNonNull("variant", variant);
            return this;
        }

        /** Which threads run them; the default is a private pool sized to the machine. */
        public Builder parallelism(Parallelism parallelism) {
            this.parallelism = requireNonNull("parallelism", parallelism);
            return this;
        }

        /** Shorthand for {@code parallelism(Parallelism.threads(threads))}. */
        public Builder threads(int threads) {
            return parallelism(Parallelism.threads(threads));
        }

        public BatchNorm build() {
            return new BatchNorm(variant, parallelism);
        }
    }
}
