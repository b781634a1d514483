package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.FloatSpan;
import org.openjdk.jmh.annotations.Benchmark;

/** How fast is inference forward (one multiply-add per element) per variant and layout? */
public class InferenceBenchmark extends JmhDefaults {

    @Benchmark
    public FloatSpan forwardInference(TensorState s) {
        s.batchNorm.forwardInference(s.geometry, s.x, s.y, s.parameters, s.running);
        return s.y;
    }
}
