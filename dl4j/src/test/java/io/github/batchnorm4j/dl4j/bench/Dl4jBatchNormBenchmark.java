package io.github.batchnorm4j.dl4j.bench;

import io.github.batchnorm4j.dl4j.Batchnorm4jBatchNormalization;
import java.util.Arrays;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * DL4J's BatchNormalization layer alone, its own code against batchnorm4j's helper, on the quick
 * profile's shapes: training forward, inference forward, and a training step (forward then
 * backward: DL4J's backward needs what its forward cached, once). Both use every core: ND4J its
 * OpenMP threads, batchnorm4j its pool.
 */
@State(Scope.Thread)
public class Dl4jBatchNormBenchmark extends Dl4jJmhDefaults {
    @Param({"32x64x56x56", "32x256x14x14", "2048x512"})
    public String shape;

    @Param({"NCHW", "NHWC"})
    public String layout;

    @Param({"DL4J", "BATCHNORM4J"})
    public String implementation;

    private Layer layer;
    private INDArray x;
    private INDArray dy;
    private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

    @Setup
    public void setUp() {
        long[] dims = Arrays.stream(shape.split("x")).mapToLong(Long::parseLong).toArray();
        CNN2DFormat format = CNN2DFormat.valueOf(layout);
        InputType input;
        long[] tensor;
        if (dims.length == 2) {
            input = InputType.feedForward(dims[1]);
            tensor = dims;
        } else {
            // the shape names N, C, H, W; NHWC holds the same sizes channels last
            input = InputType.convolutional(dims[2], dims[3], dims[1], format);
            tensor = format == CNN2DFormat.NCHW ? dims : new long[] {dims[0], dims[2], dims[3], dims[1]};
        }
        BatchNormalization.Builder builder = implementation.equals("BATCHNORM4J")
                ? new Batchnorm4jBatchNormalization.Builder() : new BatchNormalization.Builder();
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).seed(1)
                .list().layer(builder.cudnnAllowFallback(false).build()).setInputType(input).build());
        net.init();
        net.initGradientsView(); // where backprop writes the parameter gradients
        layer = net.getLayer(0);
        Nd4j.getRandom().setSeed(7);
        x = Nd4j.randn(DataType.FLOAT, tensor);
        dy = Nd4j.randn(DataType.FLOAT, tensor);
    }

    @Benchmark
    public INDArray forwardTraining() {
        return layer.activate(x, true, workspaces);
    }

    @Benchmark
    public INDArray forwardInference() {
        return layer.activate(x, false, workspaces);
    }

    @Benchmark
    public Pair<Gradient, INDArray> trainingStep() {
        layer.activate(x, true, workspaces);
        return layer.backpropGradient(dy, workspaces);
    }
}
