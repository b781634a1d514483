package io.github.batchnorm4j.dl4j;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import java.util.Arrays;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's batch-norm helper on batchnorm4j: the forward and backward passes of DL4J's
 * {@code BatchNormalization} layer for float data, NCHW, NHWC and 2-D input. DL4J keeps its own
 * semantics: it updates the running mean and variance itself, from the batch mean and biased
 * batch variance this helper reports ({@link #getMeanCache}, {@link #getVarCache}).
 *
 * <p>Tensors are read and written in ND4J's native memory, without a copy, when they are densely
 * packed in C order (as DL4J's activations are); other views are copied first. Returns null, so
 * that DL4J runs its own code, for data that is not float.
 *
 * <p>One helper belongs to one layer and is not thread-safe, like the layer.
 */
public final class Batchnorm4jHelper implements BatchNormalizationHelper {
    /** One for every helper: its kernels share the machine's pool. */
    private static final BatchNorm DEFAULT = BatchNorm.builder().build();

    private final BatchNorm batchNorm;
    /** What the last training forward saved for backward, and the geometry it ran on. */
    private BatchStatistics saved;
    private Geometry savedGeometry;
    private INDArray meanCache;
    private INDArray varCache;

    /** The constructor DL4J's helper loading calls. */
    public Batchnorm4jHelper(DataType dataType) {
        this(DEFAULT);
    }

    /** A helper on a given batchnorm4j instance (variant, threads). */
    public Batchnorm4jHelper(BatchNorm batchNorm) {
        if (batchNorm == null) {
            throw new NullPointerException("batchNorm must not be null");
        }
        this.batchNorm = batchNorm;
    }

    public BatchNorm batchNorm() {
        return batchNorm;
    }

    @Override
    public boolean checkSupported() {
        return true;
    }

    /** Any epsilon that is positive as a float; fixed gamma and beta too (DL4J passes them as arrays). */
    @Override
    public boolean checkSupported(double eps, boolean fixedGammaBeta) {
        return (float) eps > 0 && Float.isFinite((float) eps);
    }

    @Override
    public INDArray preOutput(INDArray x, boolean training, long[] shape, INDArray gamma, INDArray beta,
            INDArray mean, INDArray var, double decay, double eps, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        if (x.dataType() != DataType.FLOAT) {
            return null;
        }
        Geometry geometry = geometry(x, format, Math.toIntExact(mean.length()));
        INDArray y = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, x.shape(), 'c');
        Parameters parameters = parameters(gamma, beta, eps, geometry.channels());
        if (training) {
            int channels = geometry.channels();
            BatchStatistics statistics = BatchStatistics.allocate(channels);
            // weight 1 on the batch and no correction: the "running" statistics are exactly the
            // batch mean and biased variance, which DL4J folds into its own
            RunningStatistics batch = RunningStatistics.of(new float[channels], new float[channels],
                    RunningUpdate.exponential(1, false));
            batchNorm.forwardTraining(geometry, NdSpans.read(x), NdSpans.write(y), parameters, statistics, batch);
            saved = statistics;
            savedGeometry = geometry;
            try (MemoryWorkspace outside = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                meanCache = Nd4j.createFromArray(batch.mean());
                varCache = Nd4j.createFromArray(batch.variance());
            }
        } else {
            RunningStatistics running = RunningStatistics.of(mean.toFloatVector(), var.toFloatVector(),
                    RunningUpdate.exponential(1, false));
            batchNorm.forwardInference(geometry, NdSpans.read(x), NdSpans.write(y), parameters, running);
        }
        return y;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, long[] shape, INDArray gamma,
            INDArray beta, INDArray dGammaView, INDArray dBetaView, double eps, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        if (input.dataType() != DataType.FLOAT) {
            return null;
        }
        Geometry geometry = geometry(input, format, Math.toIntExact(dGammaView.length()));
        if (saved == null || !geometry.equals(savedGeometry)) {
            throw new IllegalStateException("backprop needs the training forward of the same input first: this helper "
                    + (saved == null ? "has not run one" : "last ran one on " + savedGeometry + ", not " + geometry));
        }
        if (!Arrays.equals(epsilon.shape(), input.shape())) {
            throw new IllegalArgumentException("epsilon must have the input's shape " + Arrays.toString(input.shape())
                    + ", got " + Arrays.toString(epsilon.shape()));
        }
        int channels = geometry.channels();
        INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, input.shape(), 'c');
        ParameterGradients gradients = ParameterGradients.allocate(channels);
        batchNorm.backward(geometry, NdSpans.read(input), null, NdSpans.read(epsilon), NdSpans.write(dx),
                parameters(gamma, beta, eps, channels), saved, gradients);
        for (int c = 0; c < channels; c++) {
            dGammaView.putScalar(c, gradients.dgamma()[c]);
            dBetaView.putScalar(c, gradients.dbeta()[c]);
        }
        Gradient gradient = new DefaultGradient();
        gradient.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGammaView);
        gradient.setGradientFor(BatchNormalizationParamInitializer.BETA, dBetaView);
        return new Pair<>(gradient, dx);
    }

    /** The batch mean of the last training forward (rank 1, one per channel). */
    @Override
    public INDArray getMeanCache(DataType dataType) {
        return meanCache;
    }

    /** The biased batch variance of the last training forward (rank 1, one per channel). */
    @Override
    public INDArray getVarCache(DataType dataType) {
        return varCache;
    }

    @Override
    public Map<String, Long> helperMemoryUse() {
        return Map.of();
    }

    /**
     * The geometry of DL4J's input: rank 4 in its format, or 2-D data, which DL4J hands over as
     * [N, C, 1, 1] or [N, 1, 1, C].
     */
    static Geometry geometry(INDArray x, CNN2DFormat format, int channels) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("batch norm input must have rank 4 here (DL4J reshapes 2-D input),"
                    + " got shape " + Arrays.toString(x.shape()));
        }
        int n = Math.toIntExact(x.size(0));
        if (x.length() == (long) n * channels) {
            return Geometry.matrix(n, channels);
        }
        return format == CNN2DFormat.NHWC
                ? Geometry.nhwc(n, Math.toIntExact(x.size(1)), Math.toIntExact(x.size(2)), Math.toIntExact(x.size(3)))
                : Geometry.nchw(n, Math.toIntExact(x.size(1)), Math.toIntExact(x.size(2)), Math.toIntExact(x.size(3)));
    }

    /** Gamma and beta as DL4J passes them (beta may be null in backprop, where it is not used). */
    private static Parameters parameters(INDArray gamma, INDArray beta, double eps, int channels) {
        float[] g = gamma == null ? ones(channels) : gamma.toFloatVector();
        float[] b = beta == null ? new float[channels] : beta.toFloatVector();
        return Parameters.affine(g, b).withEpsilon((float) eps);
    }

    private static float[] ones(int channels) {
        float[] ones = new float[channels];
        Arrays.fill(ones, 1f);
        return ones;
    }
}
