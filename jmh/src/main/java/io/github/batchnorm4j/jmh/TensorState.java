package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

    /**
     * Where the tensors live: {@code ARRAY} (float[]), {@code HEAP_SEGMENT} (a MemorySegment over a
     * float[]) or {@code NATIVE_SEGMENT} (off-heap, 64-byte aligned). Arrays unless -p memory=....
     */
    @Param({"ARRAY"})
    public String memory;

    /**
     * Whether the JIT has also seen the other kind of memory (native segments for arrays and heap
     * segments, arrays for native ones) before the measurement, as in a process that uses both:
     * each operation runs on it first for a few seconds' worth of calls. Off unless -p mixed=true.
     */
    @Param({"false"})
    public boolean mixed;

    Geometry geometry;
    BatchNorm batchNorm;
    Parameters parameters;
    FloatSpan x;
    FloatSpan y;
    FloatSpan dy;
    FloatSpan dx;
    BatchStatistics saved;
    RunningStatistics running;
    ParameterGradients gradients;

    @Setup(Level.Trial)
    public void setUp() {
        geometry = Shapes.geometry(shape, layout);
        batchNorm = BatchNorm.builder().variant(Variant.valueOf(variant)).threads(Defaults.threads(threads)).build();
        int channels = geometry.channels();
        SplittableRandom random = new SplittableRandom(42);
        int size = Math.toIntExact(geometry.size());
        x = placed(randomArray(random, size));
        dy = placed(randomArray(random, size));
        y = placed(new float[size]);
        dx = placed(new float[size]);
        parameters = Parameters.affine(randomArray(random, channels), randomArray(random, channels)).withRelu(relu);
        saved = BatchStatistics.allocate(channels);
        running = RunningStatistics.initial(channels, RunningUpdate.pytorch(0.1));
        gradients = ParameterGradients.allocate(channels);
        batchNorm.forwardTraining(geometry, x, y, parameters, saved, running);
        if (mixed) {
            // enough calls for the loops to be compiled on the other memory first
            runOnOtherMemory(Math.max(20, (int) (50_000_000L / geometry.size())));
        }
    }

    private FloatSpan placed(float[] values) {
        return placed(values, memory);
    }

    /** Every operation, {@code calls} times, on copies of the tensors in the other kind of memory. */
    private void runOnOtherMemory(int calls) {
        String other = memory.equals("NATIVE_SEGMENT") ? "ARRAY" : "NATIVE_SEGMENT";
        int size = Math.toIntExact(geometry.size());
        FloatSpan ox = placed(values(x, size), other);
        FloatSpan ody = placed(values(dy, size), other);
        FloatSpan oy = placed(new float[size], other);
        FloatSpan odx = placed(new float[size], other);
        for (int k = 0; k < calls; k++) {
            batchNorm.forwardTraining(geometry, ox, oy, parameters, saved, running);
            batchNorm.forwardInference(geometry, ox, oy, parameters, running);
            batchNorm.backward(geometry, ox, oy, ody, odx, parameters, saved, gradients);
        }
    }

    private static float[] values(FloatSpan span, int size) {
        float[] out = new float[size];
        for (int i = 0; i < size; i++) {
            out[i] = span.get(i);
        }
        return out;
    }

    private static FloatSpan placed(float[] values, String memory) {
        return switch (memory) {
            case "ARRAY" -> FloatSpan.of(values);
            case "HEAP_SEGMENT" -> FloatSpan.of(MemorySegment.ofArray(values));
            case "NATIVE_SEGMENT" -> {
                MemorySegment segment = Arena.ofAuto().allocate((long) values.length * Float.BYTES, 64);
                MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, values.length);
                yield FloatSpan.of(segment);
            }
            default -> throw new IllegalArgumentException(
                    "memory must be ARRAY, HEAP_SEGMENT or NATIVE_SEGMENT, got " + memory);
        };
    }

    private static float[] randomArray(SplittableRandom random, int n) {
        float[] a = new float[n];
        for (int k = 0; k < n; k++) {
            a[k] = (float) random.nextDouble(-2, 2);
        }
        return a;
    }
}
