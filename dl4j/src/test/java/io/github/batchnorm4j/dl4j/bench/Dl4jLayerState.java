package io.github.batchnorm4j.dl4j.bench;

import io.github.batchnorm4j.dl4j.Batchnorm4jBatchNormalization;
import java.util.Arrays;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One DL4J BatchNormalization layer, its own code or batchnorm4j's helper, and random x and dy
 * of a quick-profile shape. Both use every core: ND4J its OpenMP threads, batchnorm4j its pool.
 */
@State(Scope.Thread)
public abstract class Dl4jLayerState extends Dl4jJmhDefaults {
    @Param({"32x64x56x56", "32x256x14x14", "2048x512"})
    public String shape;

    @Param({"NCHW", "NHWC"})
    public String layout;

    @Param({"DL4J", "BATCHNORM4J"})
    public String implementation;

    protected Layer layer;
    protected INDArray x;
    protected INDArray dy;
    protected final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

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
}
