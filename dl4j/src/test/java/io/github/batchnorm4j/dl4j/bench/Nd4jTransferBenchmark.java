package io.github.batchnorm4j.dl4j.bench;

import io.github.batchnorm4j.FloatSpan;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What handing an ND4J tensor to batchnorm4j costs: a copy into a float[] and one back (what a
 * helper on arrays pays per tensor, each way), against the memory segment over ND4J's own buffer
 * that the helper uses.
 */
@State(Scope.Thread)
public class Nd4jTransferBenchmark extends Dl4jJmhDefaults {
    @Param({"32x64x56x56", "32x256x14x14", "2048x512"})
    public String shape;

    private INDArray tensor;
    private float[] array;

    @Setup
    public void setUp() {
        long[] dims = Arrays.stream(shape.split("x")).mapToLong(Long::parseLong).toArray();
        tensor = Nd4j.rand(DataType.FLOAT, dims);
        array = new float[Math.toIntExact(tensor.length())];
    }

    /** ND4J's buffer into a Java array. */
    @Benchmark
    public float[] copyToArray() {
        return tensor.data().asFloat();
    }

    /** A Java array into ND4J's buffer. */
    @Benchmark
    public INDArray copyFromArray() {
        tensor.data().setData(array);
        return tensor;
    }

    /** The helper's way: a segment over ND4J's buffer, nothing copied. */
    @Benchmark
    public FloatSpan segmentView() {
        return FloatSpan.of(MemorySegment.ofBuffer(tensor.data().asNio())).from(tensor.offset());
    }
}
