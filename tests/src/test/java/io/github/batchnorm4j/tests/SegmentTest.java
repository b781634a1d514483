package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Layouts;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.layer.BatchNormLayer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tensors in memory segments give the bits of the same tensors in arrays: every variant, at 1
 * and 7 threads, every operation (training forward, inference, backward with batch and with
 * frozen statistics), ReLU on and off, on shapes that reach every path of every plan. The
 * segments are native, heap (over a float[]) and a mix of both with arrays in one call, each
 * starting a few floats into its memory, as an array span starts at an offset.
 */
class SegmentTest {
    /** Where each tensor of a call lives. */
    enum Memory { HEAP_SEGMENT, NATIVE, MIXED }

    private static final int OFFSET = 3;
    /** One thread and several: the plans differ between them, not between several and more. */
    private static final int[] THREADS = {1, 7};

    /** Channel tails and inner sizes, both layouts. */
    static List<Geometry> smallShapes() {
        return Case.geometries(new int[] {1, 17, 64}, new int[] {1, 7, 259}, new int[] {2, 33});
    }

    /** Small and large shapes together take every path (see {@link #theShapesReachEveryPath}). */
    static List<Geometry> shapes() {
        List<Geometry> shapes = new ArrayList<>(smallShapes());
        AgreementTest.largePlanes().map(Case::geometry).distinct().forEach(shapes::add);
        return shapes;
    }

    /** ReLU's masked loops on the small shapes; the large ones for their paths, without ReLU. */
    static Stream<Case> cases() {
        return Stream.concat(Case.withAndWithoutRelu(smallShapes()),
                AgreementTest.largePlanes().filter(c -> !c.relu()));
    }

    @Test
    void theShapesReachEveryPath() {
        List<Geometry> all = Stream.of(AgreementTest.withAndWithoutRelu(), AgreementTest.largePlanes(),
                AgreementTest.affineOff()).flatMap(s -> s).map(Case::geometry).distinct().toList();
        for (Variant variant : new Variant[] {Variant.VECTORIZED, Variant.FUSED}) {
            assertEquals(AgreementTest.paths(variant, all, Variants.THREADS),
                    AgreementTest.paths(variant, shapes(), THREADS), variant + ": paths these shapes take");
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void segmentsGiveTheBitsOfArrays(Case c) {
        for (Variant variant : Variant.values()) {
            for (int threads : THREADS) {
                if (variant == Variant.NAIVE && threads > 1) {
                    continue; // naive runs on the calling thread alone
                }
                Case at = c.with(variant, threads);
                Outcome arrays = new Outcome(at, null);
                for (Memory memory : Memory.values()) {
                    arrays.assertSameBits(new Outcome(at, memory), variant + " at " + threads + " threads, "
                            + memory + ", " + c);
                }
            }
        }
    }

    /** Layout conversion between segments and arrays in any mix gives the array's result. */
    @ParameterizedTest
    @MethodSource("memories")
    void layoutsConvertSegments(Memory memory) {
        int n = 3;
        int c = 19;
        int h = 5;
        int w = 7;
        float[] x = Data.gaussian(8, n * c * h * w, 0, 1);
        float[] nhwc = new float[x.length];
        float[] back = new float[x.length];
        Layouts.nchwToNhwc(n, c, h, w, x, nhwc);
        Layouts.nhwcToNchw(n, h, w, c, nhwc, back);
        FloatSpan src = Outcome.place(x, memory, 0);
        FloatSpan mid = Outcome.place(new float[x.length], memory, 1);
        FloatSpan dst = Outcome.place(new float[x.length], memory, 2);
        Layouts.nchwToNhwc(n, c, h, w, src, mid);
        Layouts.nhwcToNchw(n, h, w, c, mid, dst);
        assertArrayEquals(nhwc, values(mid, x.length), memory + ": NCHW to NHWC");
        assertArrayEquals(back, values(dst, x.length), memory + ": and back");
        assertArrayEquals(x, back, "the round trip gives x");
    }

    static Stream<Memory> memories() {
        return Stream.of(Memory.values());
    }

    /** The layer's own paths (virtual batches, renorm, sample-wise mode) read and write spans alike. */
    @ParameterizedTest
    @MethodSource("layers")
    void theLayerTakesSegments(String name) {
        int[] shape = {8, 6, 5, 3};
        float[] x = Data.gaussian(3, 8 * 6 * 5 * 3, 0.5, 2);
        float[] dy = Data.gaussian(4, x.length, 0, 1);
        List<float[]> want = layerRun(name, shape, FloatSpan.of(x), FloatSpan.of(dy), false);
        List<float[]> got = layerRun(name, shape, offHeap(x), offHeap(dy), true);
        for (int k = 0; k < want.size(); k++) {
            assertArrayEquals(want.get(k), got.get(k), name + ": output " + k);
        }
    }

    static Stream<String> layers() {
        return Stream.of("pytorch", "keras", "renorm", "ghost", "sample-wise");
    }

    private static List<float[]> layerRun(String name, int[] shape, FloatSpan x, FloatSpan dy, boolean segments) {
        BatchNormLayer layer = switch (name) {
            case "pytorch" -> BatchNormLayer.pytorch().channels(6).build();
            case "keras" -> BatchNormLayer.keras().channels(3).build();
            case "renorm" -> BatchNormLayer.keras().channels(3).renorm(true).build();
            case "ghost" -> BatchNormLayer.keras().channels(3).virtualBatchSize(4).build();
            case "sample-wise" -> BatchNormLayer.keras().channels(3).mode(1).build();
            default -> throw new IllegalArgumentException(name);
        };
        int n = Math.toIntExact(x.available());
        FloatSpan y = segments ? offHeap(new float[n]) : FloatSpan.of(new float[n]);
        FloatSpan dx = segments ? offHeap(new float[n]) : FloatSpan.of(new float[n]);
        layer.forward(shape, x, y, true);
        layer.backward(dy, dx);
        FloatSpan inference = segments ? offHeap(new float[n]) : FloatSpan.of(new float[n]);
        layer.forward(shape, x, inference, false);
        List<float[]> outputs = new ArrayList<>(List.of(values(y, n), values(dx, n), layer.gammaGradient(),
                layer.betaGradient(), values(inference, n)));
        outputs.addAll(layer.getWeights());
        return outputs;
    }

    private static FloatSpan offHeap(float[] values) {
        MemorySegment segment = Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, values.length);
        MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, values.length);
        return FloatSpan.of(segment);
    }

    private static float[] values(FloatSpan span, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = span.get(i);
        }
        return out;
    }

    /** Every output of the four operations for one case, with its tensors in one kind of memory. */
    private static final class Outcome {
        final List<float[]> outputs = new ArrayList<>();

        Outcome(Case c, Memory memory) {
            Geometry g = c.geometry();
            int size = Math.toIntExact(g.size());
            BatchNorm bn = c.batchNorm();
            Parameters p = c.parameters(c.gamma(), c.beta());
            FloatSpan x = place(Data.gaussian(42, size, 1.5, 2.0), memory, 0);
            FloatSpan y = place(new float[size], memory, 1);
            FloatSpan dy = place(Data.gaussian(45, size, 0.1, 1.0), memory, 2);
            FloatSpan dx = place(new float[size], memory, 3);

            BatchStatistics saved = BatchStatistics.allocate(g.channels());
            RunningStatistics running = RunningStatistics.initial(g.channels(), RunningUpdate.pytorch(0.1));
            bn.forwardTraining(g, x, y, p, saved, running);
            record(y, size);
            outputs.add(saved.mean().clone());
            outputs.add(saved.invStd().clone());
            outputs.add(running.mean().clone());
            outputs.add(running.variance().clone());

            ParameterGradients gradients = ParameterGradients.allocate(g.channels());
            bn.backward(g, x, y, dy, dx, p, saved, gradients);
            record(dx, size);
            outputs.add(gradients.dgamma());
            outputs.add(gradients.dbeta());
            ParameterGradients frozen = ParameterGradients.allocate(g.channels());
            bn.backwardFrozen(g, x, y, dy, dx, p, running, frozen);
            record(dx, size);
            outputs.add(frozen.dgamma());
            outputs.add(frozen.dbeta());

            bn.forwardInference(g, x, y, p, running);
            record(y, size);
        }

        private void record(FloatSpan span, int size) {
            outputs.add(values(span, size));
        }

        /** The tensor's values at {@link #OFFSET} into memory of the kind asked; {@code which} picks MIXED's. */
        private static FloatSpan place(float[] values, Memory memory, int which) {
            float[] padded = new float[OFFSET + values.length];
            System.arraycopy(values, 0, padded, OFFSET, values.length);
            Memory kind = memory == Memory.MIXED ? (which % 2 == 0 ? Memory.NATIVE : Memory.HEAP_SEGMENT) : memory;
            if (kind == null || memory == Memory.MIXED && which == 2) {
                return FloatSpan.of(padded, OFFSET);
            }
            MemorySegment segment = kind == Memory.NATIVE
                    ? Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, padded.length)
                    : MemorySegment.ofArray(new float[padded.length]);
            MemorySegment.copy(padded, 0, segment, ValueLayout.JAVA_FLOAT, 0, padded.length);
            return which % 2 == 0 ? FloatSpan.of(segment).from(OFFSET) : FloatSpan.of(segment.asSlice(OFFSET * 4L));
        }

        void assertSameBits(Outcome other, String where) {
            for (int k = 0; k < outputs.size(); k++) {
                assertArrayEquals(outputs.get(k), other.outputs.get(k), where + ": output " + k + " differs from arrays");
            }
        }
    }
}
