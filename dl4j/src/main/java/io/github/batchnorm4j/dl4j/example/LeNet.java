package io.github.batchnorm4j.dl4j.example;

import io.github.batchnorm4j.dl4j.Batchnorm4jBatchNormalization;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * LeNet with batch normalization after each convolution and hidden dense layer, as d2l builds it:
 * conv 6@5x5, BN, sigmoid, max-pool 2; conv 16@5x5, BN, sigmoid, max-pool 2; dense 120, BN,
 * sigmoid; dense 84, BN, sigmoid; dense 10. Keras' defaults where it trains it: RMSprop at 0.001,
 * BN momentum 0.99 and epsilon 0.001. The output is softmax with cross-entropy.
 */
public final class LeNet {
    private LeNet() {}

    /** Which batch norm the network has. */
    public enum Norm {
        /** No batch norm layers: the network d2l compares against. */
        NONE,
        /** DL4J's own BatchNormalization. */
        DL4J,
        /** DL4J's BatchNormalization on batchnorm4j. */
        BATCHNORM4J
    }

    /** The network for images of height x width x channels in the given format. */
    public static MultiLayerConfiguration configuration(Norm norm, CNN2DFormat format, int height, int width,
            int channels, int classes, long seed) {
        return configuration(norm, format, height, width, channels, classes, seed, new RmsProp(0.001));
    }

    /** The network with another updater. */
    public static MultiLayerConfiguration configuration(Norm norm, CNN2DFormat format, int height, int width,
            int channels, int classes, long seed, IUpdater updater) {
        var layers = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(WeightInit.XAVIER)
                .list();
        layers.layer(new ConvolutionLayer.Builder(5, 5).nOut(6).activation(Activation.IDENTITY).dataFormat(format).build());
        addNorm(layers, norm, format);
        layers.layer(new ActivationLayer(Activation.SIGMOID));
        layers.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                .dataFormat(format).build());
        layers.layer(new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.IDENTITY).dataFormat(format).build());
        addNorm(layers, norm, format);
        layers.layer(new ActivationLayer(Activation.SIGMOID));
        layers.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                .dataFormat(format).build());
        layers.layer(new DenseLayer.Builder().nOut(120).activation(Activation.IDENTITY).build());
        addNorm(layers, norm, format);
        layers.layer(new ActivationLayer(Activation.SIGMOID));
        layers.layer(new DenseLayer.Builder().nOut(84).activation(Activation.IDENTITY).build());
        addNorm(layers, norm, format);
        layers.layer(new ActivationLayer(Activation.SIGMOID));
        layers.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes)
                .activation(Activation.SOFTMAX).build());
        return layers.setInputType(InputType.convolutional(height, width, channels, format)).build();
    }

    private static void addNorm(NeuralNetConfiguration.ListBuilder layers, Norm norm, CNN2DFormat format) {
        if (norm == Norm.NONE) {
            return;
        }
        BatchNormalization.Builder builder = norm == Norm.BATCHNORM4J
                ? new Batchnorm4jBatchNormalization.Builder() : new BatchNormalization.Builder();
        // an exception in batchnorm4j surfaces instead of DL4J quietly running its own code
        layers.layer(builder.decay(0.99).eps(1e-3).cudnnAllowFallback(false).build());
    }
}
