package io.github.batchnorm4j.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings every benchmark class inherits (JMH's annotations are {@code @Inherited}):
 * average time in milliseconds, one fork with the vector module and a fixed, pre-touched heap
 * so runs compare.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsPrepend = {Defaults.VECTOR, "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public abstract class JmhDefaults {
}
