package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.FloatSpan;
import org.openjdk.jmh.annotations.Benchmark;

/** How fast is training forward (statistics, normalize, running update) per variant and layout? */
public class ForwardTrainingBenchmark extends JmhDefaults {

    @Benchmark
    public FloatSpan forwardTraining(TensorState s) {
        s.batchNorm.forwardTraining(s.geometry, s.x, s.y, s.parameters, s.saved, s.running);
        return s.y;
    }
}
