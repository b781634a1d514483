package io.github.batchnorm4j.dl4j.bench;

import org.deeplearning4j.nn.gradient.Gradient;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * DL4J's BatchNormalization layer alone, its own code against batchnorm4j's helper, on the quick
 * profile's shapes: training forward, inference forward, and a training step (forward then
 * backward); {@link Dl4jBackwardBenchmark} times backward alone.
 */
public class Dl4jBatchNormBenchmark extends Dl4jLayerState {
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
