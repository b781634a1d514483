package io.github.batchnorm4j.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/** How fast is training forward (statistics, normalize, running update) per variant and layout? */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsPrepend = {Defaults.VECTOR, "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public class ForwardTrainingBenchmark {

    @Benchmark
    public float[] forwardTraining(TensorState s) {
        s.batchNorm.forwardTraining(s.geometry, s.x, s.y, s.parameters, s.saved, s.running);
        return s.y;
    }
}
