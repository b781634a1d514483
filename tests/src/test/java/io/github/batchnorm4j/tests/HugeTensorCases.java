package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tensors near or past 2^31 floats, as rows (the row family, few channels) and as long planes
 * (the planar family, one channel), in every variant: every index and count stays exact, and
 * the last values are reduced and written like the first. They run in a test execution of
 * their own (tag "huge"), and are skipped, saying why, on a smaller machine.
 *
 * <p>x is 0 except its last {@link #ONES} values, which alternate 1 and -1 row by row: every
 * channel's mean is 0 and its variance {@code ONES / size}, which would be 0 if the last rows
 * went missing, and every sum is exact in float, so the tests see indices and counts, not
 * rounding. Every call works in place (y = x, dx = dy = x), so one tensor is enough.
 */
@Tag("huge")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class HugeTensorCases {
    static final int ONES = 1 << 20;
    static final float EPSILON = 1e-5f;

    /** The tensor every case works on, in place. */
    abstract FloatSpan tensor();

    /** Its floats. */
    long size() {
        return tensor().available();
    }

    /** (variant, family, geometry of {@link #size()} floats). */
    abstract Stream<Arguments> cases();

    static boolean machineHas(long physicalBytes, long heapBytes) {
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        return physical >= physicalBytes && Runtime.getRuntime().maxMemory() >= heapBytes;
    }

    static String machine() {
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        return "this machine has " + (physical >> 20) + " MiB and a heap of "
                + (Runtime.getRuntime().maxMemory() >> 20) + " MiB";
    }

    static Stream<Arguments> bothFamilies(Geometry rows, Geometry plane) {
        return Variants.all().flatMap(v -> Stream.of(Arguments.of(v, "rows", rows), Arguments.of(v, "plane", plane)));
    }

    private void fill(int channels) {
        FloatSpan t = tensor();
        long size = size();
        t.segment().asSlice(t.offset() * Float.BYTES, (size - ONES) * Float.BYTES).fill((byte) 0);
        for (long i = size - ONES; i < size; i++) {
            t.set(i, sign(i, channels));
        }
    }

    /** The tail's values: 1 on even rows, -1 on odd ones. */
    private static float sign(long i, int channels) {
        return i / channels % 2 == 0 ? 1f : -1f;
    }

    /** Every value below size - ONES is 0, every one from there {@code unit} times its x, to 1e-5 relative. */
    private void assertScaled(String what, int channels, double unit) {
        FloatSpan t = tensor();
        long size = size();
        for (long i = 0; i < size; i++) {
            double expected = i < size - ONES ? 0 : sign(i, channels) * unit;
            float got = t.get(i);
            // the zeros may move by the mean's rounding (up to 1e-12) times invStd; a lost or
            // misplaced value moves them by about invStd
            if (!(Math.abs(got - expected) <= 1e-5 * Math.abs(expected) + 1e-9)) {
                fail(what + "[" + i + "] = " + got + ", expected " + expected);
            }
        }
    }

    private static BatchNorm batchNorm(Variant variant) {
        return Variants.batchNorm(variant, 2);
    }

    /** Values per channel. */
    private double perChannel(Geometry g) {
        return size() / (double) g.channels();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void trainingReducesAndWritesTheLastValues(Variant variant, String family, Geometry g) {
        int c = g.channels();
        fill(c);
        BatchStatistics saved = BatchStatistics.allocate(c);
        batchNorm(variant).forwardTraining(g, tensor(), tensor(), Parameters.none().withEpsilon(EPSILON), saved, null);
        double invStd = 1 / Math.sqrt(ONES / (double) size() + EPSILON);
        for (int ch = 0; ch < c; ch++) {
            // merging per-plane means rounds in double; one lost value would move the mean by 1 / size
            assertEquals(0, saved.mean()[ch], 1e-12, "mean[" + ch + "]");
            assertEquals(invStd, saved.invStd()[ch], 1e-5 * invStd, "invStd[" + ch + "]");
        }
        assertScaled("y", c, invStd);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void inferenceWritesTheLastValues(Variant variant, String family, Geometry g) {
        int c = g.channels();
        fill(c);
        float[] variance = new float[c];
        Arrays.fill(variance, 0.25f);
        RunningStatistics running = RunningStatistics.of(new float[c], variance, RunningUpdate.pytorch(0.1));
        batchNorm(variant).forwardInference(g, tensor(), tensor(), Parameters.none().withEpsilon(EPSILON), running);
        assertScaled("y", c, 1 / Math.sqrt(0.25 + EPSILON));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardSumsAndWritesTheLastValues(Variant variant, String family, Geometry g) {
        int c = g.channels();
        fill(c);
        float invStd = 2;
        float[] invStds = new float[c];
        Arrays.fill(invStds, invStd);
        float[] dgamma = new float[c];
        float[] dbeta = new float[c];
        // dy = x and dx in place of both
        batchNorm(variant).backward(g, tensor(), null, tensor(), tensor(), Parameters.none().withEpsilon(EPSILON),
                BatchStatistics.of(new float[c], invStds), ParameterGradients.of(dgamma, dbeta));
        // per channel: sum dy = 0, sum dy * (x - 0) * invStd = ONES / C * invStd
        double dg = (double) ONES / c * invStd;
        double m = perChannel(g);
        for (int ch = 0; ch < c; ch++) {
            assertEquals(0, dbeta[ch], "dbeta[" + ch + "]");
            assertEquals(dg, dgamma[ch], 1e-5 * dg, "dgamma[" + ch + "]");
        }
        assertScaled("dx", c, invStd / m * (m - invStd * dg));
    }
}
