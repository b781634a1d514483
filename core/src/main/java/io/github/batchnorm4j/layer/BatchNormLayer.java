package io.github.batchnorm4j.layer;

import static io.github.batchnorm4j.internal.check.Checks.requireEpsilon;
import static io.github.batchnorm4j.internal.check.Checks.requireInPlaceOrDisjoint;
import static io.github.batchnorm4j.internal.check.Checks.requireNonNull;
import static io.github.batchnorm4j.internal.check.Checks.requireOutput;
import static io.github.batchnorm4j.internal.check.Checks.requireTensor;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.internal.kernel.ChannelMath;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A batch-normalization layer as Keras and PyTorch have it: the kernels of {@link BatchNorm}
 * plus the state they leave to the caller (gamma, beta, running statistics, gradients, the
 * training phase, what forward saved for backward) and every option of the two frameworks.
 *
 * <pre>{@code
 * BatchNormLayer bn = BatchNormLayer.pytorch().channels(16).build();   // axis 1, momentum 0.1
 * bn.forward(new int[] {8, 16, 32, 32}, x, y);                         // training phase
 * bn.backward(dy, dx);                                                 // dx; gradients add up
 * bn.eval();
 * bn.forward(new int[] {8, 16, 32, 32}, x, y);                         // running statistics
 * }</pre>
 *
 * <p>Per channel c, with the batch's mean {@code mu} and biased variance {@code var}:
 * {@code y = gamma * (x - mu) / sqrt(var + eps) + beta} in training, with the running
 * statistics in inference. The options change this as their javadoc in {@link Builder} says.
 *
 * <p>Not thread-safe: one layer belongs to one training step at a time. Every call checks its
 * arguments before it writes anything; a call that throws has changed no output, weight,
 * gradient or running statistic.
 */
public final class BatchNormLayer {
    private final Builder config;
    private final BatchNorm kernels;
    private final int channels;
    private final float[] gamma;
    private final float[] beta;
    private final float[] movingMean;
    private final float[] movingVariance;
    private final RunningStatistics running;
    private final float[] renormMean;
    private final float[] renormStddev;
    private final float[] gammaGradient;
    private final float[] betaGradient;
    private boolean training = true;
    private Saved saved;

    private BatchNormLayer(Builder config) {
        this.config = config;
        this.kernels = config.kernels;
        this.channels = config.channels;
        this.gamma = config.scale ? filled(config.gammaInitializer) : null;
        this.beta = config.center ? filled(config.betaInitializer) : null;
        this.gammaGradient = config.scale ? new float[channels] : null;
        this.betaGradient = config.center ? new float[channels] : null;
        if (config.trackRunningStats) {
            this.movingMean = filled(config.movingMeanInitializer);
            this.movingVariance = filled(config.movingVarianceInitializer);
            this.running = RunningStatistics.of(movingMean, movingVariance, config.runningUpdate);
        } else {
            this.movingMean = null;
            this.movingVariance = null;
            this.running = null;
        }
        if (config.renorm) {
            this.renormMean = filled(config.movingMeanInitializer);
            this.renormStddev = filled((float) Math.sqrt(config.movingVarianceInitializer));
        } else {
            this.renormMean = null;
            this.renormStddev = null;
        }
    }

    /** A builder with Keras' defaults: axis -1, momentum 0.99 on the old value, epsilon 1e-3. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Keras' {@code BatchNormalization()} defaults: axis -1 (channels last), momentum 0.99 (the
     * old value's weight), epsilon 1e-3, biased running variance.
     */
    public static Builder keras() {
        return new Builder();
    }

    /**
     * PyTorch's {@code BatchNorm2d(C)} defaults: axis 1 (channels first), momentum 0.1 (the new
     * batch's weight), epsilon 1e-5, unbiased running variance.
     */
    public static Builder pytorch() {
        return new Builder().axis(1).epsilon(1e-5f)
                .runningUpdate(RunningUpdate.pytorch(RunningUpdate.PYTORCH_DEFAULT_MOMENTUM));
    }

    /**
     * Rebuilds a layer from {@link #getConfig()}'s map (fresh weights, as Keras'
     * {@code from_config}). Keys left out take the Keras default; {@code channels} is required.
     *
     * @throws IllegalArgumentException naming the key, for an unknown key or a bad value
     */
    public static BatchNormLayer fromConfig(Map<String, String> config) {
        return LayerConfig.read(config, new Builder()).build();
    }

    // ---- phase ---------------------------------------------------------------------------

    /** Switches to the training phase (PyTorch {@code train()}, Keras learning phase 1): the default. */
    public BatchNormLayer train() {
        training = true;
        return this;
    }

    /** Switches to the inference phase (PyTorch {@code eval()}, Keras learning phase 0). */
    public BatchNormLayer eval() {
        training = false;
        return this;
    }

    public boolean isTraining() {
        return training;
    }

    // ---- forward and backward ------------------------------------------------------------

    /** {@link #forward(int[], FloatSpan, FloatSpan, boolean)} in the current phase. */
    public void forward(int[] shape, FloatSpan x, FloatSpan y) {
        forward(shape, x, y, training);
    }

    /** {@link #forward(int[], FloatSpan, FloatSpan, boolean)} on whole arrays, in the current phase. */
    public void forward(int[] shape, float[] x, float[] y) {
        forward(shape, span("x", x), span("y", y), training);
    }

    /** {@link #forward(int[], FloatSpan, FloatSpan, boolean)} on whole arrays. */
    public void forward(int[] shape, float[] x, float[] y, boolean training) {
        forward(shape, span("x", x), span("y", y), training);
    }

    /**
     * Normalizes x, a row-major tensor of {@code shape} (rank 2 to 5, the channel axis at
     * {@code axis}), into y (which may be x itself). Training uses the batch's statistics (per
     * virtual batch with {@code virtualBatchSize}) and updates the running statistics; inference
     * uses the running statistics, unless mode 2 or {@code trackRunningStats(false)} asks for
     * batch statistics there too. Keeps a reference to x for {@link #backward}: do not change x
     * in between.
     *
     * @throws IllegalArgumentException if the shape's rank is not 2 to 5, its channel axis is not
     *     {@code channels} long, a span is too small, or a virtual batch size does not divide the
     *     batch
     */
    public void forward(int[] shape, FloatSpan x, FloatSpan y, boolean training) {
        Geometry geometry = geometryOf(shape);
        requireTensor("x", x, geometry);
        requireOutput("y", y, geometry);
        requireInPlaceOrDisjoint("y", y, "x", x, geometry);
        if (config.mode == 1) {
            int rows = Math.toIntExact(geometry.size() / channels);
            SampleWise.Saved sampleWise = SampleWise.forward(x, y, rows, channels, gamma, beta,
                    config.epsilon);
            saved = new Saved(Kind.SAMPLE_WISE, geometry, geometry, 1, x, null, null,
                    null, null, sampleWise, 0);
            return;
        }
        boolean batchStatistics = training || config.mode == 2 || !config.trackRunningStats;
        if (!batchStatistics) {
            kernels.forwardInference(geometry, x, y, parameters(), running);
            saved = new Saved(Kind.FROZEN, geometry, geometry, 1, x, null, null, null,
                    null, null, 0);
            return;
        }
        int groups = virtualBatches(shape);
        Geometry group = groupGeometry(shape, geometry, groups);
        boolean renormNow = config.renorm && training;
        float[][] mean = new float[groups][channels];
        float[][] invStd = new float[groups][channels];
        float[][] variance = new float[groups][channels];
        float[][] r = renormNow ? new float[groups][channels] : null;
        float[][] d = renormNow ? new float[groups][channels] : null;
        for (int k = 0; k < groups; k++) {
            FloatSpan xk = slice(x, k, group);
            FloatSpan yk = slice(y, k, group);
            // A rule with weight 1 on a zero start leaves exactly the batch's mean and variance.
            RunningStatistics batch = RunningStatistics.of(new float[channels], variance[k],
                    RunningUpdate.exponential(1.0, false));
            BatchStatistics stats = BatchStatistics.of(mean[k], invStd[k]);
            if (renormNow) {
                kernels.forwardTraining(group, xk, yk, Parameters.none().withEpsilon(config.epsilon),
                        stats, batch);
                renormCorrection(mean[k], variance[k], r[k], d[k]);
                applyRenorm(group, yk, r[k], d[k]);
            } else {
                kernels.forwardTraining(group, xk, yk, parameters(), stats, batch);
            }
        }
        if (training && config.mode == 0) {
            updateStatistics(mean, variance, group.reductionSize(), renormNow);
        }
        saved = new Saved(Kind.BATCH, geometry, group, groups, x, mean, invStd, r, d,
                null, 0);
    }

    /** {@link #backward(FloatSpan, FloatSpan)} on whole arrays. */
    public void backward(float[] dy, float[] dx) {
        backward(span("dy", dy), span("dx", dx));
    }

    /**
     * Gradients through the last {@link #forward}: writes dx (which may be dy itself) and adds
     * dgamma and dbeta to {@link #gammaGradient()} and {@link #betaGradient()} until
     * {@link #zeroGradients()}, as PyTorch's {@code .grad}. After a training forward, through the
     * batch statistics (r and d of renorm held constant); after an inference forward, through the
     * frozen running statistics.
     *
     * @throws IllegalStateException if no forward ran yet, or the last was synchronized
     */
    public void backward(FloatSpan dy, FloatSpan dx) {
        Saved s = requireSaved("backward");
        if (s.kind == Kind.SYNCHRONIZED) {
            throw new IllegalStateException(
                    "backward after forwardSynchronized: call backwardPartials and backwardSynchronized");
        }
        requireBackwardTensors(s, dy, dx);
        double[] dgamma = new double[channels];
        double[] dbeta = new double[channels];
        switch (s.kind) {
            case SAMPLE_WISE -> SampleWise.backward(s.x, dy, dx, Math.toIntExact(s.geometry.size() / channels),
                    channels, gamma, s.sampleWise, dgamma, dbeta);
            case FROZEN -> {
                ParameterGradients sums = ParameterGradients.allocate(channels);
                kernels.backwardFrozen(s.geometry, s.x, null, dy, dx, parameters(), running, sums);
                addTo(dgamma, sums.dgamma());
                addTo(dbeta, sums.dbeta());
            }
            default -> {
                for (int k = 0; k < s.groups; k++) {
                    ParameterGradients sums = ParameterGradients.allocate(channels);
                    Parameters p = s.r == null ? parameters() : renormParameters(s.r[k]);
                    kernels.backward(s.group, slice(s.x, k, s.group), null, slice(dy, k, s.group),
                            slice(dx, k, s.group), p, BatchStatistics.of(s.mean[k], s.invStd[k]), sums);
                    if (s.r == null) {
                        addTo(dgamma, sums.dgamma());
                    } else {
                        // y = gamma (r xhat + d) + beta: dgamma = r sum(dy xhat) + d sum(dy).
                        for (int c = 0; c < channels; c++) {
                            dgamma[c] += (double) s.r[k][c] * sums.dgamma()[c]
                                    + (double) s.d[k][c] * sums.dbeta()[c];
                        }
                    }
                    addTo(dbeta, sums.dbeta());
                }
            }
        }
        accumulate(dgamma, dbeta);
    }

    /** Sets the accumulated dgamma and dbeta to 0 (PyTorch {@code zero_grad()}). */
    public void zeroGradients() {
        if (gammaGradient != null) {
            Arrays.fill(gammaGradient, 0f);
        }
        if (betaGradient != null) {
            Arrays.fill(betaGradient, 0f);
        }
    }

    // ---- cross-replica (synchronized) batch norm -------------------------------------------

    /** {@link #partialStatistics(int[], FloatSpan)} on a whole array. */
    public PartialStatistics partialStatistics(int[] shape, float[] x) {
        return partialStatistics(shape, span("x", x));
    }

    /**
     * This replica's share of the batch statistics: per channel, the count, mean and M2 of its
     * part of the batch, in double. All-gather them, {@link PartialStatistics#merge} them in rank
     * order, and pass the result to {@link #forwardSynchronized}. Changes nothing.
     */
    public PartialStatistics partialStatistics(int[] shape, FloatSpan x) {
        Geometry g = geometryOf(shape);
        requireTensor("x", x, g);
        double[] mean = new double[channels];
        double[] m2 = new double[channels];
        long count = g.reductionSize();
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                long base = ((long) o * channels + c) * g.inner();
                for (int i = 0; i < g.inner(); i++) {
                    mean[c] += x.get(base + i);
                }
            }
        }
        for (int c = 0; c < channels; c++) {
            mean[c] /= count;
        }
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                long base = ((long) o * channels + c) * g.inner();
                for (int i = 0; i < g.inner(); i++) {
                    double u = x.get(base + i) - mean[c];
                    m2[c] += u * u;
                }
            }
        }
        return new PartialStatistics(count, mean, m2);
    }

    /** {@link #forwardSynchronized(int[], FloatSpan, FloatSpan, PartialStatistics)} on whole arrays. */
    public void forwardSynchronized(int[] shape, float[] x, float[] y, PartialStatistics merged) {
        forwardSynchronized(shape, span("x", x), span("y", y), merged);
    }

    /**
     * Training forward with statistics merged across replicas: normalizes this replica's x with
     * them, folds them into the running statistics once (every replica does the same, so all
     * keep the same bits), and saves what {@link #backwardPartials} and
     * {@link #backwardSynchronized} need.
     *
     * @param merged the merge of every replica's {@link #partialStatistics}, at least 2 values
     * @throws IllegalArgumentException if merged has other channels or fewer than 2 values
     * @throws IllegalStateException in mode 1, with renorm or with a virtual batch size
     */
    public void forwardSynchronized(int[] shape, FloatSpan x, FloatSpan y, PartialStatistics merged) {
        if (config.mode == 1 || config.renorm || config.virtualBatchSize > 0) {
            throw new IllegalStateException("synchronized batch norm takes mode 0 or 2 without renorm"
                    + " and without a virtual batch size; this layer has " + describe());
        }
        Geometry geometry = geometryOf(shape);
        requireTensor("x", x, geometry);
        requireOutput("y", y, geometry);
        requireInPlaceOrDisjoint("y", y, "x", x, geometry);
        requireNonNull("merged", merged);
        if (merged.channels() != channels) {
            throw new IllegalArgumentException("merged must have " + channels + " channels, got "
                    + merged.channels());
        }
        if (merged.count() < 2) {
            throw new IllegalArgumentException("merged must cover at least 2 values per channel"
                    + " (training needs more than one), got " + merged.count());
        }
        float[] mean = new float[channels];
        float[] variance = new float[channels];
        float[] invStd = new float[channels];
        double[] mergedMean = merged.mean();
        for (int c = 0; c < channels; c++) {
            mean[c] = (float) mergedMean[c];
            variance[c] = (float) merged.variance(c);
            invStd[c] = ChannelMath.invStd(variance[c], config.epsilon);
        }
        kernels.forwardInference(geometry, x, y, parameters(),
                RunningStatistics.of(mean, variance, RunningUpdate.exponential(1.0, false)));
        if (config.mode == 0) {
            updateStatistics(new float[][] {mean}, new float[][] {variance}, merged.count(), false);
        }
        saved = new Saved(Kind.SYNCHRONIZED, geometry, geometry, 1, x,
                new float[][] {mean}, new float[][] {invStd}, null, null, null, merged.count());
    }

    /** {@link #backwardPartials(FloatSpan)} on a whole array. */
    public BackwardPartials backwardPartials(float[] dy) {
        return backwardPartials(span("dy", dy));
    }

    /**
     * This replica's share of backward's sums after {@link #forwardSynchronized}: per channel
     * {@code sum dy} and {@code sum dy * xhat}, in double. Changes nothing.
     */
    public BackwardPartials backwardPartials(FloatSpan dy) {
        Saved s = requireSynchronized("backwardPartials");
        requireTensor("dy", dy, s.geometry);
        Geometry g = s.geometry;
        double[] sumDy = new double[channels];
        double[] sumDyXhat = new double[channels];
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                long at = ((long) o * channels + c) * g.inner();
                double mean = s.mean[0][c];
                double invStd = s.invStd[0][c];
                for (int i = 0; i < g.inner(); i++) {
                    double grad = dy.get(at + i);
                    sumDy[c] += grad;
                    sumDyXhat[c] += grad * (s.x.get(at + i) - mean) * invStd;
                }
            }
        }
        return new BackwardPartials(g.reductionSize(), sumDy, sumDyXhat);
    }

    /** {@link #backwardSynchronized(FloatSpan, FloatSpan, BackwardPartials)} on whole arrays. */
    public void backwardSynchronized(float[] dy, float[] dx, BackwardPartials merged) {
        backwardSynchronized(span("dy", dy), span("dx", dx), merged);
    }

    /**
     * Synchronized backward: {@code dx = gamma * invStd / M * (M dy - sum dy - xhat sum(dy xhat))}
     * with the sums and M of the whole batch (every replica's {@link #backwardPartials} merged).
     * Adds the whole batch's dgamma and dbeta to this layer's gradients: every replica then
     * holds the same gradients, so a data-parallel trainer must not sum them across replicas
     * again.
     */
    public void backwardSynchronized(FloatSpan dy, FloatSpan dx, BackwardPartials merged) {
        Saved s = requireSynchronized("backwardSynchronized");
        requireBackwardTensors(s, dy, dx);
        requireNonNull("merged", merged);
        if (merged.channels() != channels || merged.count() != s.count) {
            throw new IllegalArgumentException("merged must have " + channels + " channels and count "
                    + s.count + " (the merged forward statistics'), got " + merged.channels()
                    + " channels and count " + merged.count());
        }
        Geometry g = s.geometry;
        double[] sumDy = merged.sumDy();
        double[] sumDyXhat = merged.sumDyXhat();
        double[] a = new double[channels];
        double[] b = new double[channels];
        double[] c0 = new double[channels];
        for (int c = 0; c < channels; c++) {
            double invStd = s.invStd[0][c];
            a[c] = (gamma == null ? 1.0 : gamma[c]) * invStd;
            b[c] = a[c] * invStd * sumDyXhat[c] / s.count;
            c0[c] = a[c] * sumDy[c] / s.count;
        }
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                long at = ((long) o * channels + c) * g.inner();
                double mean = s.mean[0][c];
                for (int i = 0; i < g.inner(); i++) {
                    double deviation = s.x.get(at + i) - mean;
                    dx.set(at + i, (float) (dy.get(at + i) * a[c] - deviation * b[c] - c0[c]));
                }
            }
        }
        accumulate(sumDyXhat, sumDy);
    }

    // ---- folding -----------------------------------------------------------------------------

    /**
     * Folds this frozen layer into the dense or convolution layer before it (PyTorch's
     * {@code fuse_conv_bn_weights} and {@code fuse_linear_bn_weights}): the returned weights and
     * bias give, without the batch norm, what the layer and the batch norm give in inference.
     *
     * @param weights the preceding layer's weights, row-major in {@code weightShape}
     * @param weightShape e.g. PyTorch conv (out, in, kh, kw) with outputAxis 0, Keras dense
     *     (in, out) with outputAxis 1 or -1, Keras conv (kh, kw, in, out) with outputAxis -1
     * @param outputAxis the axis of the output channels, {@code channels} long; negative counts
     *     from the end
     * @param bias the preceding layer's bias, one per output channel, or null for none
     * @throws IllegalStateException if the layer has no running statistics or is in mode 1 or 2
     */
    public Folded fold(float[] weights, int[] weightShape, int outputAxis, float[] bias) {
        if (!config.trackRunningStats || config.mode != 0) {
            throw new IllegalStateException("fold needs a layer that normalizes with running statistics"
                    + " in inference (mode 0, trackRunningStats); this layer has " + describe());
        }
        requireNonNull("weights", weights);
        requireNonNull("weightShape", weightShape);
        Geometry g;
        try {
            g = Geometry.ofShape(weightShape, outputAxis);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("weightShape and outputAxis: " + e.getMessage(), e);
        }
        if (g.channels() != channels) {
            throw new IllegalArgumentException("weightShape's output axis must be " + channels
                    + " long (the channels), got " + g.channels() + " in " + Arrays.toString(weightShape));
        }
        if (weights.length != g.size()) {
            throw new IllegalArgumentException("weights must have length " + g.size() + " (the product of "
                    + Arrays.toString(weightShape) + "), got " + weights.length);
        }
        if (bias != null && bias.length != channels) {
            throw new IllegalArgumentException("bias must have length " + channels + ", got " + bias.length);
        }
        double[] scaleOf = new double[channels];
        float[] foldedBias = new float[channels];
        for (int c = 0; c < channels; c++) {
            double s = (gamma == null ? 1.0 : gamma[c]) / Math.sqrt((double) movingVariance[c] + config.epsilon);
            scaleOf[c] = s;
            double b = bias == null ? 0 : bias[c];
            foldedBias[c] = (float) ((b - movingMean[c]) * s + (beta == null ? 0 : beta[c]));
        }
        float[] folded = new float[weights.length];
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                int at = (o * channels + c) * g.inner();
                for (int i = 0; i < g.inner(); i++) {
                    folded[at + i] = (float) (weights[at + i] * scaleOf[c]);
                }
            }
        }
        return new Folded(folded, foldedBias);
    }

    // ---- weights and configuration --------------------------------------------------------

    /**
     * Copies of the weights in Keras' order: gamma (if scale), beta (if center), moving mean and
     * moving variance (if tracked), then renorm's mean and standard deviation (if renorm).
     */
    public List<float[]> getWeights() {
        List<float[]> weights = new ArrayList<>();
        for (float[] w : weightArrays()) {
            weights.add(w.clone());
        }
        return weights;
    }

    /** {@link #setWeights(List)} with the arrays given one by one. */
    public void setWeights(float[]... weights) {
        setWeights(Arrays.asList(requireNonNull("weights", weights)));
    }

    /**
     * Copies weights in, in {@link #getWeights()}'s order.
     *
     * @throws IllegalArgumentException if the count or a length is wrong; nothing is changed then
     */
    public void setWeights(List<float[]> weights) {
        requireNonNull("weights", weights);
        List<float[]> targets = weightArrays();
        if (weights.size() != targets.size()) {
            throw new IllegalArgumentException("weights must hold " + targets.size() + " arrays ("
                    + String.join(", ", weightNames()) + "), got " + weights.size());
        }
        for (int k = 0; k < weights.size(); k++) {
            float[] w = weights.get(k);
            if (w == null || w.length != channels) {
                throw new IllegalArgumentException("weights[" + k + "] (" + weightNames().get(k)
                        + ") must have length " + channels + ", got "
                        + (w == null ? "null" : String.valueOf(w.length)));
            }
        }
        for (int k = 0; k < weights.size(); k++) {
            System.arraycopy(weights.get(k), 0, targets.get(k), 0, channels);
        }
    }

    /** Weights an optimizer trains: C for gamma, C for beta, each when on (Keras' count). */
    public int trainableParamCount() {
        return ((gamma != null ? 1 : 0) + (beta != null ? 1 : 0)) * channels;
    }

    /** Weights training updates without gradients: the moving mean and variance, renorm's two. */
    public int nonTrainableParamCount() {
        return weightArrays().size() * channels - trainableParamCount();
    }

    /**
     * The configuration under Keras' key names (and {@code channels}, {@code mode},
     * {@code track_running_stats}, the momentum's convention), every value as text;
     * {@link #fromConfig} reads it back into an equal layer.
     */
    public Map<String, String> getConfig() {
        return LayerConfig.write(config);
    }

    // ---- state ---------------------------------------------------------------------------------

    public int channels() {
        return channels;
    }

    /** epsilon, added to the variance under the square root. */
    public float epsilon() {
        return config.epsilon;
    }

    /**
     * The {@code (outer, C, inner)} view this layer takes of a tensor of {@code shape}, the
     * channel axis at the layer's axis.
     *
     * @throws IllegalArgumentException if the shape's rank is not 2 to 5 or its channel axis is
     *     not the layer's channels long
     */
    public Geometry geometry(int[] shape) {
        return geometryOf(shape);
    }

    /** gamma, live (an optimizer may update it in place); null with scale off. */
    public float[] gamma() {
        return gamma;
    }

    /** beta, live; null with center off. */
    public float[] beta() {
        return beta;
    }

    /** The running statistics (live arrays and batch count); null with trackRunningStats off. */
    public RunningStatistics runningStatistics() {
        return running;
    }

    /** dgamma accumulated since {@link #zeroGradients()}, live; null with scale off. */
    public float[] gammaGradient() {
        return gammaGradient;
    }

    /** dbeta accumulated since {@link #zeroGradients()}, live; null with center off. */
    public float[] betaGradient() {
        return betaGradient;
    }

    /** renorm's moving mean, live; null with renorm off. */
    public float[] renormMean() {
        return renormMean;
    }

    /** renorm's moving standard deviation {@code sqrt(var + eps)}, live; null with renorm off. */
    public float[] renormStddev() {
        return renormStddev;
    }

    @Override
    public String toString() {
        return "BatchNormLayer[" + describe() + "]";
    }

    // ---- internals ---------------------------------------------------------------------------

    private enum Kind { BATCH, FROZEN, SAMPLE_WISE, SYNCHRONIZED }

    /** What a forward keeps for backward. */
    private record Saved(Kind kind, Geometry geometry, Geometry group, int groups,
            FloatSpan x, float[][] mean, float[][] invStd, float[][] r, float[][] d,
            SampleWise.Saved sampleWise, long count) {}

    private String describe() {
        return LayerConfig.write(config).toString();
    }

    private float[] filled(float value) {
        float[] a = new float[channels];
        Arrays.fill(a, value);
        return a;
    }

    private Parameters parameters() {
        Parameters p;
        if (gamma != null && beta != null) {
            p = Parameters.affine(gamma, beta);
        } else if (gamma != null) {
            p = Parameters.scaleOnly(gamma);
        } else if (beta != null) {
            p = Parameters.centerOnly(beta);
        } else {
            p = Parameters.none();
        }
        return p.withEpsilon(config.epsilon);
    }

    /** gamma * r as the kernel's gamma: backward's dx through y = gamma (r xhat + d) + beta. */
    private Parameters renormParameters(float[] r) {
        float[] effective = new float[channels];
        for (int c = 0; c < channels; c++) {
            effective[c] = (float) ((gamma == null ? 1.0 : gamma[c]) * r[c]);
        }
        return Parameters.scaleOnly(effective).withEpsilon(config.epsilon);
    }

    private Geometry geometryOf(int[] shape) {
        requireNonNull("shape", shape);
        if (shape.length < 2 || shape.length > 5) {
            throw new IllegalArgumentException("shape must have rank 2 to 5, got "
                    + Arrays.toString(shape));
        }
        int axis = config.axis;
        if (axis < -shape.length || axis >= shape.length) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank "
                    + shape.length + ": it must be in [" + -shape.length + ", " + shape.length + ")");
        }
        Geometry g = Geometry.ofShape(shape, axis);
        if (g.channels() != channels) {
            throw new IllegalArgumentException("shape's channel axis (axis " + axis + ") must be "
                    + channels + " long (the layer's channels), got " + Arrays.toString(shape));
        }
        return g;
    }

    private int virtualBatches(int[] shape) {
        int size = config.virtualBatchSize;
        if (size == 0) {
            return 1;
        }
        int channelAxis = config.axis < 0 ? config.axis + shape.length : config.axis;
        if (channelAxis == 0) {
            throw new IllegalArgumentException("virtualBatchSize splits the batch axis (0), but"
                    + " axis 0 is the channel axis here: " + Arrays.toString(shape));
        }
        if (shape[0] % size != 0) {
            throw new IllegalArgumentException("virtualBatchSize " + size + " must divide the batch ("
                    + "shape[0] = " + shape[0] + ") in " + Arrays.toString(shape));
        }
        return shape[0] / size;
    }

    private Geometry groupGeometry(int[] shape, Geometry whole, int groups) {
        boolean virtual = config.virtualBatchSize > 0;
        Geometry group = whole;
        if (virtual) {
            int[] groupShape = shape.clone();
            groupShape[0] = shape[0] / groups;
            group = Geometry.ofShape(groupShape, config.axis);
        }
        if (group.reductionSize() < 2) {
            throw new IllegalArgumentException((virtual
                    ? "each virtual batch (virtualBatchSize " + config.virtualBatchSize + ")"
                    : "shape " + Arrays.toString(shape))
                    + " must hold more than 1 value per channel for batch statistics, got "
                    + group.reductionSize());
        }
        return group;
    }

    private static FloatSpan slice(FloatSpan span, int k, Geometry group) {
        return k == 0 ? span : span.from(k * group.size());
    }

    /** r = clip(sigma / sigma_renorm, rmin, rmax), d = clip((mu - mu_renorm) / sigma_renorm, +-dmax). */
    private void renormCorrection(float[] mean, float[] variance, float[] r, float[] d) {
        double floor = Math.sqrt(config.epsilon);
        for (int c = 0; c < channels; c++) {
            double stddev = Math.sqrt((double) variance[c] + config.epsilon);
            double renorm = Math.max(renormStddev[c], floor);
            double rc = stddev / renorm;
            double dc = (mean[c] - (double) renormMean[c]) / renorm;
            r[c] = (float) Math.min(Math.max(rc, config.rmin), config.rmax);
            d[c] = (float) Math.min(Math.max(dc, -config.dmax), config.dmax);
        }
    }

    /** y = gamma * (r * xhat + d) + beta on a tensor that holds xhat. */
    private void applyRenorm(Geometry g, FloatSpan y, float[] r, float[] d) {
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < channels; c++) {
                double gc = gamma == null ? 1.0 : gamma[c];
                double a = gc * r[c];
                double b = gc * d[c] + (beta == null ? 0 : beta[c]);
                long at = ((long) o * channels + c) * g.inner();
                for (int i = 0; i < g.inner(); i++) {
                    y.set(at + i, (float) (a * y.get(at + i) + b));
                }
            }
        }
    }

    /**
     * Folds a training step's statistics in: the mean over virtual batches of each one's mean and
     * variance (tf.keras' rule), skipped whole when skipNonFiniteUpdates is on and any is not
     * finite; renorm's moving mean and standard deviation follow with renormMomentum.
     */
    private void updateStatistics(float[][] mean, float[][] variance, long count, boolean renormNow) {
        if (running == null && !renormNow) {
            return;
        }
        int groups = mean.length;
        float[] batchMean = new float[channels];
        float[] batchVariance = new float[channels];
        double[] batchStddev = new double[channels];
        boolean finite = true;
        for (int c = 0; c < channels; c++) {
            double m = 0;
            double v = 0;
            double s = 0;
            for (int k = 0; k < groups; k++) {
                m += mean[k][c];
                v += variance[k][c];
                s += Math.sqrt((double) variance[k][c] + config.epsilon);
            }
            batchMean[c] = groups == 1 ? mean[0][c] : (float) (m / groups);
            batchVariance[c] = groups == 1 ? variance[0][c] : (float) (v / groups);
            batchStddev[c] = s / groups;
            finite &= Float.isFinite(batchMean[c]) && Float.isFinite(batchVariance[c]);
        }
        if (config.skipNonFiniteUpdates && !finite) {
            return;
        }
        if (running != null) {
            running.update(batchMean, batchVariance, count);
        }
        if (renormNow) {
            double keep = config.renormMomentum;
            for (int c = 0; c < channels; c++) {
                renormMean[c] = (float) (keep * renormMean[c] + (1 - keep) * batchMean[c]);
                renormStddev[c] = (float) (keep * renormStddev[c] + (1 - keep) * batchStddev[c]);
            }
        }
    }

    private Saved requireSaved(String operation) {
        if (saved == null) {
            throw new IllegalStateException(operation + " needs a forward first: it uses what forward saved");
        }
        return saved;
    }

    private Saved requireSynchronized(String operation) {
        Saved s = requireSaved(operation);
        if (s.kind != Kind.SYNCHRONIZED) {
            throw new IllegalStateException(operation + " needs forwardSynchronized first; the last forward was "
                    + s.kind.name().toLowerCase().replace('_', '-'));
        }
        return s;
    }

    private static void requireBackwardTensors(Saved s, FloatSpan dy, FloatSpan dx) {
        requireTensor("dy", dy, s.geometry);
        requireOutput("dx", dx, s.geometry);
        requireInPlaceOrDisjoint("dx", dx, "dy", dy, s.geometry);
        requireInPlaceOrDisjoint("dx", dx, "x", s.x, s.geometry);
    }

    private static void addTo(double[] sums, float[] values) {
        for (int c = 0; c < sums.length; c++) {
            sums[c] += values[c];
        }
    }

    private void accumulate(double[] dgamma, double[] dbeta) {
        for (int c = 0; c < channels; c++) {
            if (gammaGradient != null) {
                gammaGradient[c] = (float) (gammaGradient[c] + dgamma[c]);
            }
            if (betaGradient != null) {
                betaGradient[c] = (float) (betaGradient[c] + dbeta[c]);
            }
        }
    }

    private List<float[]> weightArrays() {
        List<float[]> arrays = new ArrayList<>();
        for (float[] w : new float[][] {gamma, beta, movingMean, movingVariance, renormMean, renormStddev}) {
            if (w != null) {
                arrays.add(w);
            }
        }
        return arrays;
    }

    private List<String> weightNames() {
        List<String> names = new ArrayList<>();
        String[] all = {"gamma", "beta", "moving_mean", "moving_variance", "renorm_mean", "renorm_stddev"};
        float[][] arrays = {gamma, beta, movingMean, movingVariance, renormMean, renormStddev};
        for (int k = 0; k < all.length; k++) {
            if (arrays[k] != null) {
                names.add(all[k]);
            }
        }
        return names;
    }

    private static FloatSpan span(String name, float[] array) {
        return FloatSpan.of(requireNonNull(name, array));
    }

    /**
     * The layer's options, named as Keras names them (PyTorch's where Keras has none). Each
     * checks its value at once and throws {@link IllegalArgumentException} naming the option and
     * the range it takes.
     */
    public static final class Builder {
        int channels;
        int axis = -1;
        float epsilon = 1e-3f;
        boolean center = true;
        boolean scale = true;
        float gammaInitializer = 1f;
        float betaInitializer = 0f;
        float movingMeanInitializer = 0f;
        float movingVarianceInitializer = 1f;
        RunningUpdate runningUpdate = RunningUpdate.keras(RunningUpdate.KERAS_DEFAULT_MOMENTUM);
        boolean trackRunningStats = true;
        boolean renorm;
        double rmax = Double.POSITIVE_INFINITY;
        double rmin = 0;
        double dmax = Double.POSITIVE_INFINITY;
        double renormMomentum = 0.99;
        int virtualBatchSize;
        int mode;
        boolean skipNonFiniteUpdates;
        BatchNorm kernels = BatchNorm.builder().build();

        private Builder() {}

        /** Number of channels (features) C, the length of the channel axis: required. */
        public Builder channels(int channels) {
            if (channels < 1) {
                throw new IllegalArgumentException("channels must be at least 1, got " + channels);
            }
            this.channels = channels;
            return this;
        }

        /** The channel axis, Keras-style: negative counts from the end (-1, the default: channels last). */
        public Builder axis(int axis) {
            if (axis < -5 || axis > 4) {
                throw new IllegalArgumentException("axis must be in [-5, 4] (ranks 2 to 5), got " + axis);
            }
            this.axis = axis;
            return this;
        }

        /** Added to the variance before the square root; finite and > 0 (Keras 1e-3, PyTorch 1e-5). */
        public Builder epsilon(float epsilon) {
            this.epsilon = requireEpsilon(epsilon);
            return this;
        }

        /** Keras {@code center}: whether beta is added (default true). */
        public Builder center(boolean center) {
            this.center = center;
            return this;
        }

        /** Keras {@code scale}: whether gamma multiplies (default true). */
        public Builder scale(boolean scale) {
            this.scale = scale;
            return this;
        }

        /** PyTorch {@code affine}: center and scale together. */
        public Builder affine(boolean affine) {
            return center(affine).scale(affine);
        }

        /** Keras {@code gamma_initializer}, a constant (default 1). */
        public Builder gammaInitializer(float value) {
            this.gammaInitializer = requireFinite("gammaInitializer", value);
            return this;
        }

        /** Keras {@code beta_initializer}, a constant (default 0). */
        public Builder betaInitializer(float value) {
            this.betaInitializer = requireFinite("betaInitializer", value);
            return this;
        }

        /** Keras {@code moving_mean_initializer}, a constant (default 0). */
        public Builder movingMeanInitializer(float value) {
            this.movingMeanInitializer = requireFinite("movingMeanInitializer", value);
            return this;
        }

        /** Keras {@code moving_variance_initializer}, a constant >= 0 (default 1). */
        public Builder movingVarianceInitializer(float value) {
            if (!(value >= 0) || !Float.isFinite(value)) {
                throw new IllegalArgumentException("movingVarianceInitializer must be finite and >= 0, got " + value);
            }
            this.movingVarianceInitializer = value;
            return this;
        }

        /**
         * How training folds batch statistics into the running ones: {@code RunningUpdate.keras(m)},
         * {@code pytorch(m)}, {@code pytorchCumulativeAverage()} (PyTorch {@code momentum=None}).
         */
        public Builder runningUpdate(RunningUpdate update) {
            this.runningUpdate = requireNonNull("runningUpdate", update);
            return this;
        }

        /**
         * The momentum in the convention of the current running update (Keras': the old value's
         * weight, after {@link BatchNormLayer#keras()}; PyTorch's: the new batch's, after
         * {@link BatchNormLayer#pytorch()}), in [0, 1].
         */
        public Builder momentum(double momentum) {
            return runningUpdate(switch (runningUpdate.convention()) {
                case KERAS -> RunningUpdate.keras(momentum);
                case PYTORCH, CUMULATIVE_AVERAGE -> runningUpdate.unbiasedVariance()
                        ? RunningUpdate.pytorch(momentum)
                        : RunningUpdate.exponential(momentum, false);
                case NEW_BATCH_WEIGHT -> RunningUpdate.exponential(momentum, runningUpdate.unbiasedVariance());
            });
        }

        /**
         * PyTorch {@code track_running_stats} (default true). Off: no running statistics, batch
         * statistics in inference too, and no moving weights.
         */
        public Builder trackRunningStats(boolean track) {
            this.trackRunningStats = track;
            return this;
        }

        /**
         * Batch Renormalization (tf.keras {@code renorm}): in training
         * {@code y = gamma * (xhat * r + d) + beta} with
         * {@code r = clip(sigma_B / sigma_R, rmin, rmax)},
         * {@code d = clip((mu_B - mu_R) / sigma_R, -dmax, dmax)}, {@code sigma = sqrt(var + eps)},
         * {@code sigma_R} at least {@code sqrt(eps)}; mu_R and sigma_R are moving averages kept
         * with {@link #renormMomentum}; r and d are constants in backward; inference as without.
         */
        public Builder renorm(boolean renorm) {
            this.renorm = renorm;
            return this;
        }

        /**
         * tf.keras {@code renorm_clipping}: rmax >= 1 (default infinity), rmin in [0, 1] (default
         * 0), dmax >= 0 (default infinity).
         */
        public Builder renormClipping(double rmax, double rmin, double dmax) {
            if (!(rmax >= 1)) {
                throw new IllegalArgumentException("renormClipping rmax must be >= 1, got " + rmax);
            }
            if (!(rmin >= 0 && rmin <= 1)) {
                throw new IllegalArgumentException("renormClipping rmin must be in [0, 1], got " + rmin);
            }
            if (!(dmax >= 0)) {
                throw new IllegalArgumentException("renormClipping dmax must be >= 0, got " + dmax);
            }
            this.rmax = rmax;
            this.rmin = rmin;
            this.dmax = dmax;
            return this;
        }

        /** tf.keras {@code renorm_momentum}, the old value's weight in [0, 1] (default 0.99). */
        public Builder renormMomentum(double momentum) {
            if (!(momentum >= 0 && momentum <= 1)) {
                throw new IllegalArgumentException("renormMomentum must be in [0, 1], got " + momentum);
            }
            this.renormMomentum = momentum;
            return this;
        }

        /**
         * Ghost Batch Normalization (tf.keras {@code virtual_batch_size}): batch statistics per
         * group of this many samples along axis 0, which must divide the batch; gamma, beta and
         * the running statistics are shared, the running update takes the mean of the groups'
         * means and variances. 0 (the default) turns it off.
         */
        public Builder virtualBatchSize(int size) {
            if (size < 0) {
                throw new IllegalArgumentException("virtualBatchSize must be at least 1 (or 0 for off), got " + size);
            }
            this.virtualBatchSize = size;
            return this;
        }

        /**
         * Keras 1 {@code mode}: 0 feature-wise (the default); 1 sample-wise, each sample over its
         * features, {@code (x - m) / (sqrt(v + eps) + eps)} as Keras 1 computes it, needs axis -1;
         * 2 feature-wise with batch statistics in inference too, no running update.
         */
        public Builder mode(int mode) {
            if (mode < 0 || mode > 2) {
                throw new IllegalArgumentException("mode must be 0, 1 or 2, got " + mode);
            }
            this.mode = mode;
            return this;
        }

        /**
         * Whether a training batch whose mean or variance is not finite in some channel leaves
         * the running statistics (and the batch count) as they were. Off by default, as PyTorch:
         * then a NaN or infinity in x makes that channel's running statistics NaN for good.
         */
        public Builder skipNonFiniteUpdates(boolean skip) {
            this.skipNonFiniteUpdates = skip;
            return this;
        }

        /** The kernels to run (variant and threads); the default is {@code BatchNorm.builder().build()}. */
        public Builder kernels(BatchNorm kernels) {
            this.kernels = requireNonNull("kernels", kernels);
            return this;
        }

        /**
         * The layer, with weights from the initializers.
         *
         * @throws IllegalArgumentException if channels is not set, or options conflict
         */
        public BatchNormLayer build() {
            if (channels < 1) {
                throw new IllegalArgumentException("channels must be set (the channel axis' length), e.g. channels(16)");
            }
            if (mode == 1 && axis != -1) {
                throw new IllegalArgumentException("mode 1 normalizes each sample over its last axis: axis must be -1, got " + axis);
            }
            if (mode == 1 && (renorm || virtualBatchSize > 0)) {
                throw new IllegalArgumentException("mode 1 takes neither renorm nor virtualBatchSize");
            }
            return new BatchNormLayer(copy());
        }

        private Builder copy() {
            Builder b = new Builder();
            b.channels = channels;
            b.axis = axis;
            b.epsilon = epsilon;
            b.center = center;
            b.scale = scale;
            b.gammaInitializer = gammaInitializer;
            b.betaInitializer = betaInitializer;
            b.movingMeanInitializer = movingMeanInitializer;
            b.movingVarianceInitializer = movingVarianceInitializer;
            b.runningUpdate = runningUpdate;
            b.trackRunningStats = trackRunningStats;
            b.renorm = renorm;
            b.rmax = rmax;
            b.rmin = rmin;
            b.dmax = dmax;
            b.renormMomentum = renormMomentum;
            b.virtualBatchSize = virtualBatchSize;
            b.mode = mode;
            b.skipNonFiniteUpdates = skipNonFiniteUpdates;
            b.kernels = kernels;
            return b;
        }

        private static float requireFinite(String name, float value) {
            if (!Float.isFinite(value)) {
                throw new IllegalArgumentException(name + " must be finite, got " + value);
            }
            return value;
        }
    }
}
