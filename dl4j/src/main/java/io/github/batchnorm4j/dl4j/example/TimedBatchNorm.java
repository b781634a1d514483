package io.github.batchnorm4j.dl4j.example;

import io.github.batchnorm4j.dl4j.Batchnorm4jBatchNormalization;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.layers.normalization.Batchnorm4jBatchNormalizationLayer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batch norm layers that add the time they spend in forward and backward to one clock, DL4J's own
 * and batchnorm4j's alike, for the share of an epoch that batch norm takes. Training runs on one
 * thread at a time, so a plain counter does.
 */
final class TimedBatchNorm {
    private TimedBatchNorm() {}

    private static long nanos;

    /** Nanoseconds spent in batch norm layers since the last call, and starts again from 0. */
    static long takeNanos() {
        long taken = nanos;
        nanos = 0;
        return taken;
    }

    private static <T> T clocked(Supplier<T> call) {
        long start = System.nanoTime();
        try {
            return call.get();
        } finally {
            nanos += System.nanoTime() - start;
        }
    }

    /** Replaces each batch norm layer of the network by its timed twin: batchnorm4j's or DL4J's own. */
    static void install(MultiLayerConfiguration configuration, boolean batchnorm4j) {
        for (NeuralNetConfiguration layer : configuration.getConfs()) {
            if (layer.getLayer() instanceof org.deeplearning4j.nn.conf.layers.BatchNormalization settings) {
                layer.setLayer(batchnorm4j ? Ours.timed(settings) : Dl4jOwn.timed(settings));
            }
        }
    }

    /** Configuration of a timed layer on batchnorm4j. */
    static final class Ours extends Batchnorm4jBatchNormalization {
        static Ours timed(org.deeplearning4j.nn.conf.layers.BatchNormalization settings) {
            return copySettings(settings, new Ours());
        }

        @Override
        protected BatchNormalization newLayer(NeuralNetConfiguration conf, DataType dataType) {
            return new Layer(conf, dataType);
        }
    }

    /** Configuration of a timed layer running DL4J's own code. */
    static final class Dl4jOwn extends Batchnorm4jBatchNormalization {
        static Dl4jOwn timed(org.deeplearning4j.nn.conf.layers.BatchNormalization settings) {
            return copySettings(settings, new Dl4jOwn());
        }

        @Override
        protected BatchNormalization newLayer(NeuralNetConfiguration conf, DataType dataType) {
            return new Layer(conf, dataType) {
                @Override
                protected BatchNormalizationHelper newHelper() {
                    return null;
                }
            };
        }
    }

    /** A batch norm layer whose forward and backward run on the clock. */
    private static class Layer extends Batchnorm4jBatchNormalizationLayer {
        Layer(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        @Override
        public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
            return clocked(() -> super.activate(training, workspaceMgr));
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
            return clocked(() -> super.backpropGradient(epsilon, workspaceMgr));
        }
    }
}
