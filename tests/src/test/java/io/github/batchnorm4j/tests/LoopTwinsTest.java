package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.loops.ScalarLoops;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each Vector API loop against its scalar twin, method by method, at lengths around the vector
 * width and its multiples (every tail of the 4-accumulator body, the single-vector loop and the
 * masked end) and around the row loops' four-row step. Elementwise loops must agree bit for
 * bit (the same operations per element); sums, whose order differs, within a bound that grows
 * with the number of terms. Every method of {@link Loops} must be covered: a new loop without a
 * twin check fails the build.
 */
class LoopTwinsTest {
    private static final Set<String> COVERED = new TreeSet<>();
    private static Loops panama;
    private static final Loops SCALAR = new ScalarLoops();
    private static int lanes;

    @BeforeAll
    static void vectorLoops() throws ReflectiveOperationException {
        assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "jdk.incubator.vector is not on this JVM: no vector loops to compare");
        panama = (Loops) Class.forName("io.github.batchnorm4j.internal.loops.PanamaLoops")
                .getConstructor().newInstance();
        lanes = panama.lanes();
        System.out.println("LoopTwinsTest: vector loops with " + lanes + " lanes against scalar loops");
    }

    /** Lengths around 1, L, 2L, 4L (the body's step) and multiples, and a few odd sizes. */
    private static int[] lengths() {
        int l = lanes;
        return Arrays.stream(new int[] {1, 2, 3, l - 1, l, l + 1, 2 * l - 1, 2 * l, 2 * l + 1, 3 * l + 2,
                4 * l - 1, 4 * l, 4 * l + 1, 5 * l + 3, 8 * l, 8 * l + 7, 13, 207, 300, 702, 4098})
                .filter(n -> n >= 1).distinct().sorted().toArray();
    }

    /** Row counts around the row loops' four-row step. */
    private static final int[] ROWS = {1, 3, 4, 5, 8, 9, 31};

    private static float[] data(int seed, int n) {
        return Data.uniform(seed, n, -2, 2);
    }

    /** Sums of n terms of magnitude up to `scale` differ by at most a few roundings of each. */
    private static void assertSumClose(String what, double want, double got, int n, double scale) {
        assertEquals(want, got, 8 * Math.ulp(1f) * n * scale, what);
    }

    @Test
    void runLoops() {
        for (int length : lengths()) {
            for (int runs : new int[] {1, 3}) {
                int stride = length + 5;
                int from = 2;
                int size = from + (runs - 1) * stride + length + 3;
                MemorySegment x = tensor(1, size);
                MemorySegment dy = tensor(2, size);
                MemorySegment y = tensor(3, size);
                String at = " at length " + length + ", runs " + runs;
                int n = runs * length;

                COVERED.add("sumDeviations");
                assertSumClose("sumDeviations" + at, SCALAR.sumDeviations(x, from, runs, length, stride, 0.3f),
                        panama.sumDeviations(x, from, runs, length, stride, 0.3f), n, 3);
                COVERED.add("deviationSums");
                double[] want = new double[2];
                double[] got = new double[2];
                SCALAR.deviationSums(x, from, runs, length, stride, 0.3f, want);
                panama.deviationSums(x, from, runs, length, stride, 0.3f, got);
                assertSumClose("deviationSums[0]" + at, want[0], got[0], n, 3);
                assertSumClose("deviationSums[1]" + at, want[1], got[1], n, 9);
                COVERED.add("sumSquaredDeviations");
                assertSumClose("sumSquaredDeviations" + at,
                        SCALAR.sumSquaredDeviations(x, from, runs, length, stride, 0.3f),
                        panama.sumSquaredDeviations(x, from, runs, length, stride, 0.3f), n, 9);
                for (boolean relu : new boolean[] {false, true}) {
                    MemorySegment mask = relu ? y : null;
                    String where = at + (relu ? ", relu" : "");
                    COVERED.add("normalize");
                    assertArrayEquals(elementwise(size, (l, out) -> l.normalize(x, from, out, from, runs, length,
                            stride, 0.1f, 1.7f, -0.4f, relu), SCALAR), elementwise(size, (l, out) -> l.normalize(x,
                            from, out, from, runs, length, stride, 0.1f, 1.7f, -0.4f, relu), panama), "normalize" + where);
                    COVERED.add("scaleShift");
                    assertArrayEquals(elementwise(size, (l, out) -> l.scaleShift(x, from, out, from, runs, length,
                            stride, 1.7f, -0.4f, relu), SCALAR), elementwise(size, (l, out) -> l.scaleShift(x, from,
                            out, from, runs, length, stride, 1.7f, -0.4f, relu), panama), "scaleShift" + where);
                    COVERED.add("normalizeWithDeviationSums");
                    double[] sumsWant = new double[2];
                    double[] sumsGot = new double[2];
                    float[] yWant = elementwise(size, (l, out) -> l.normalizeWithDeviationSums(x, from, out, from,
                            runs, length, stride, 0.1f, 1.7f, -0.4f, relu, from + 1, 0.2f, sumsWant), SCALAR);
                    float[] yGot = elementwise(size, (l, out) -> l.normalizeWithDeviationSums(x, from, out, from,
                            runs, length, stride, 0.1f, 1.7f, -0.4f, relu, from + 1, 0.2f, sumsGot), panama);
                    assertArrayEquals(yWant, yGot, "normalizeWithDeviationSums y" + where);
                    double[] alone = new double[2];
                    panama.deviationSums(x, from + 1, runs, length, stride, 0.2f, alone);
                    assertArrayEquals(alone, sumsGot, "normalizeWithDeviationSums: the bits of deviationSums" + where);
                    assertSumClose("normalizeWithDeviationSums[0]" + where, sumsWant[0], sumsGot[0], n, 3);

                    COVERED.add("sumGradient");
                    assertSumClose("sumGradient" + where, SCALAR.sumGradient(dy, from, mask, from, runs, length, stride),
                            panama.sumGradient(dy, from, mask, from, runs, length, stride), n, 2);
                    COVERED.add("sumGradientDeviation");
                    assertSumClose("sumGradientDeviation" + where,
                            SCALAR.sumGradientDeviation(x, from, dy, from, mask, from, runs, length, stride, 0.1f),
                            panama.sumGradientDeviation(x, from, dy, from, mask, from, runs, length, stride, 0.1f), n, 5);
                    COVERED.add("gradientSums");
                    SCALAR.gradientSums(x, from, dy, from, mask, from, runs, length, stride, 0.1f, want);
                    panama.gradientSums(x, from, dy, from, mask, from, runs, length, stride, 0.1f, got);
                    assertSumClose("gradientSums[0]" + where, want[0], got[0], n, 2);
                    assertSumClose("gradientSums[1]" + where, want[1], got[1], n, 5);
                    COVERED.add("gradientApply");
                    assertArrayEquals(elementwise(size, (l, out) -> l.gradientApply(x, from, dy, from, mask, from, out,
                            from, runs, length, stride, 0.1f, 1.3f, 0.2f, -0.05f), SCALAR), elementwise(size,
                            (l, out) -> l.gradientApply(x, from, dy, from, mask, from, out, from, runs, length, stride,
                                    0.1f, 1.3f, 0.2f, -0.05f), panama), "gradientApply" + where);
                }
            }
        }
    }

    @Test
    void rowLoops() {
        for (int width : lengths()) {
            if (width > 702) {
                continue;
            }
            for (int rows : ROWS) {
                int stride = width + 3;
                int base = 1;
                int size = base + rows * stride + 2 * lanes;
                MemorySegment x = tensor(4, size);
                MemorySegment dy = tensor(5, size);
                MemorySegment y = tensor(6, size);
                int cFrom = 2;
                int padded = cFrom + (width + lanes - 1) / lanes * lanes;
                float[] perChannel = data(7, padded);
                String at = " at width " + width + ", rows " + rows;
                int n = rows;

                COVERED.add("sumDeviationsRows");
                float[][] want = rowSums(padded, (l, out) -> l.sumDeviationsRows(x, base, rows, stride, width,
                        perChannel, out[0], cFrom), SCALAR);
                float[][] got = rowSums(padded, (l, out) -> l.sumDeviationsRows(x, base, rows, stride, width,
                        perChannel, out[0], cFrom), panama);
                assertRowSums("sumDeviationsRows" + at, want[0], got[0], cFrom, width, n, 4);
                COVERED.add("deviationSumsRows");
                want = rowSums(padded, (l, out) -> l.deviationSumsRows(x, base, rows, stride, width, perChannel,
                        out[0], out[1], cFrom), SCALAR);
                got = rowSums(padded, (l, out) -> l.deviationSumsRows(x, base, rows, stride, width, perChannel,
                        out[0], out[1], cFrom), panama);
                assertRowSums("deviationSumsRows sums" + at, want[0], got[0], cFrom, width, n, 4);
                assertRowSums("deviationSumsRows squares" + at, want[1], got[1], cFrom, width, n, 16);
                COVERED.add("sumSquaredDeviationsRows");
                want = rowSums(padded, (l, out) -> l.sumSquaredDeviationsRows(x, base, rows, stride, width,
                        perChannel, out[0], cFrom), SCALAR);
                got = rowSums(padded, (l, out) -> l.sumSquaredDeviationsRows(x, base, rows, stride, width,
                        perChannel, out[0], cFrom), panama);
                assertRowSums("sumSquaredDeviationsRows" + at, want[0], got[0], cFrom, width, n, 16);
                for (boolean relu : new boolean[] {false, true}) {
                    MemorySegment mask = relu ? y : null;
                    String where = at + (relu ? ", relu" : "");
                    COVERED.add("gradientSumsRows");
                    want = rowSums(padded, (l, out) -> l.gradientSumsRows(x, base, dy, base, mask, base, rows, stride,
                            width, perChannel, out[0], out[1], cFrom), SCALAR);
                    got = rowSums(padded, (l, out) -> l.gradientSumsRows(x, base, dy, base, mask, base, rows, stride,
                            width, perChannel, out[0], out[1], cFrom), panama);
                    assertRowSums("gradientSumsRows dy" + where, want[0], got[0], cFrom, width, n, 2);
                    assertRowSums("gradientSumsRows dy * dev" + where, want[1], got[1], cFrom, width, n, 8);

                    // whole rows: back to back from `base`, per-channel arrays repeated
                    float[] m = repeated(data(8, width), width);
                    float[] s = repeated(data(9, width), width);
                    float[] b = repeated(data(10, width), width);
                    float[] c = repeated(data(11, width), width);
                    COVERED.add("normalizeRows");
                    assertArrayEquals(elementwise(size, (l, out) -> l.normalizeRows(x, base, out, base, rows, width, m, s,
                            b, relu), SCALAR), elementwise(size, (l, out) -> l.normalizeRows(x, base, out, base, rows,
                            width, m, s, b, relu), panama), "normalizeRows" + where);
                    COVERED.add("scaleShiftRows");
                    assertArrayEquals(elementwise(size, (l, out) -> l.scaleShiftRows(x, base, out, base, rows, width, s,
                            b, relu), SCALAR), elementwise(size, (l, out) -> l.scaleShiftRows(x, base, out, base, rows,
                            width, s, b, relu), panama), "scaleShiftRows" + where);
                    COVERED.add("gradientApplyRows");
                    assertArrayEquals(elementwise(size, (l, out) -> l.gradientApplyRows(x, base, dy, base, mask, base,
                            out, base, rows, width, m, s, b, c), SCALAR), elementwise(size, (l, out) ->
                            l.gradientApplyRows(x, base, dy, base, mask, base, out, base, rows, width, m, s, b, c),
                            panama), "gradientApplyRows" + where);
                }
                COVERED.add("transpose");
                int cols = width;
                MemorySegment src = tensor(12, base + rows * cols);
                assertArrayEquals(elementwise(rows * cols + 4, (l, out) -> l.transpose(src, base, out, 2, rows, cols),
                        SCALAR), elementwise(rows * cols + 4, (l, out) -> l.transpose(src, base, out, 2, rows, cols),
                        panama), "transpose" + at);
            }
        }
    }

    @AfterAll
    static void everyLoopHasItsTwinChecked() {
        if (panama == null) {
            return;
        }
        Set<String> loops = Arrays.stream(Loops.class.getDeclaredMethods()).map(Method::getName)
                .filter(name -> !name.equals("lanes")).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(loops, COVERED, "every method of Loops is checked against its scalar twin");
    }

    private interface Write {
        void run(Loops loops, MemorySegment out);
    }

    private interface WriteSums {
        void run(Loops loops, float[][] out);
    }

    /** The output of one elementwise loop, written into native memory of NaN (untouched stays NaN). */
    private static float[] elementwise(int size, Write write, Loops loops) {
        float[] nan = new float[size];
        Arrays.fill(nan, Float.NaN);
        MemorySegment out = offHeap(nan);
        write.run(loops, out);
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Tensors live in native memory here: the loops read and write segments of either kind alike. */
    private static MemorySegment tensor(int seed, int n) {
        return offHeap(data(seed, n));
    }

    private static MemorySegment offHeap(float[] values) {
        MemorySegment segment = Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, values.length);
        MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, values.length);
        return segment;
    }

    private static float[][] rowSums(int padded, WriteSums write, Loops loops) {
        float[][] out = {new float[padded], new float[padded]};
        write.run(loops, out);
        return out;
    }

    private static void assertRowSums(String what, float[] want, float[] got, int cFrom, int width, int n, double scale) {
        for (int j = 0; j < width; j++) {
            assertSumClose(what + ", channel " + j, want[cFrom + j], got[cFrom + j], n, scale);
        }
    }

    private static float[] repeated(float[] values, int width) {
        float[] out = new float[width + lanes];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[i % width];
        }
        return out;
    }
}
