package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.FloatSpan;
import org.openjdk.jmh.annotations.Benchmark;

/** How fast is training backward (dbeta, dgamma, dx) per variant and layout? */
public class BackwardBenchmark extends JmhDefaults {

    @Benchmark
    public FloatSpan backward(TensorState s) {
        s.batchNorm.backward(s.geometry, s.x, s.y, s.dy, s.dx, s.parameters, s.saved, s.gradients);
        return s.dx;
    }
}
