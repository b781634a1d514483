package io.github.batchnorm4j.dl4j.bench;

import org.deeplearning4j.nn.gradient.Gradient;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;

/**
 * DL4J's layer's backward alone, its own code against batchnorm4j's helper. Each call consumes
 * what a training forward cached, so one runs, untimed, before each (the calls take milliseconds,
 * far above what a per-invocation setup adds to the measurement).
 */
public class Dl4jBackwardBenchmark extends Dl4jLayerState {
    @Setup(Level.Invocation)
    public void forward() {
        layer.activate(x, true, workspaces);
    }

    @Benchmark
    public Pair<Gradient, INDArray> backward() {
        return layer.backpropGradient(dy, workspaces);
    }
}
