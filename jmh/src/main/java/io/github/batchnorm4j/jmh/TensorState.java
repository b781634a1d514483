package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** One tensor and its layer, set up once per trial: what every operation benchmark reads. */
@State(Scope.Benchmark)
public class TensorState {
    @Param({"NAIVE", "VECTORIZED", "FUSED"})
    public String variant;

    @Param({"NCHW", "NHWC"})
    public String layout;

    @Param({"32x64x56x56", "32x256x14x14", "8x64x16x16", "2048x512", "7x17x13x13"})
    public String shape;

    /** A thread count, or "all" for the machine's processors. */
    @Param({"1", "2", "all"})
    public String threads;

    /** Fused ReLU: forward writes max(y, 0), backward masks dy by y > 0. Off unless -p relu=true. */
    @Param({"false"})
    public boolean relu;

    Geometry geometry;
    BatchNorm batchNorm;
    Parameters parameters;
    float[] x;
    float[] y;
    float[] dy;
    float[] dx;
    BatchStatistics saved;
    RunningStatistics running;
    ParameterGradients gradients;

    @Setup(Level.Trial)
    public void setUp() {
        geometry = Shapes.geometry(shape, layout);
        batchNorm = BatchNorm.builder().variant(Variant.valueOf(variant)).threads(Defaults.threads(threads)).build();
        int channels = geometry.channels();
        SplittableRandom random = new SplittableRandom(42);
        x = randomArray(random, geometry.size());
        dy = randomArray(random, geometry.size());
        y = new float[geometry.size()];
        dx = new float[geometry.size()];
        parameters = Parameters.affine(randomArray(random, channels), randomArray(random, channels)).withRelu(relu);
        saved = BatchStatistics.allocate(channels);
        running = RunningStatistics.initial(channels, RunningUpdate.pytorch(0.1));
        gradients = ParameterGradients.allocate(channels);
        batchNorm.forwardTraining(geometry, x, y, parameters, saved, running);
    }

    private static float[] randomArray(SplittableRandom random, int n) {
        float[] a = new float[n];
        for (int k = 0; k < n; k++) {
            a[k] = (float) random.nextDouble(-2, 2);
        }
        return a;
    }
}
