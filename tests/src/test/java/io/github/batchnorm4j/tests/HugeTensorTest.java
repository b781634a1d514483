package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The largest tensor a {@code float[]} holds, one channel, as rows (C = 1, the longest row
 * blocking) and as one plane (the longest run): every index and count near 2^31 stays exact, and
 * the last values are reduced and written like the first. Needs about 9 GB of heap: it runs in
 * a test execution of its own (tag "huge"), and is skipped, saying why, on a smaller machine.
 *
 * <p>x is 0 except its last {@link #ONES} values, which alternate 1 and -1: the mean is 0 and
 * the variance {@code ONES / SIZE}, which would be 0 if the last rows went missing, and every
 * sum is exact in float, so the test sees indices and counts, not rounding. Every call works in
 * place (y = x, dx = dy = x), so one array is enough.
 */
@Tag("huge")
class HugeTensorTest {
    /** Past 63 * 2^25 rows, where the 64th row chunk starts and ends beyond 2^31 - 2^25. */
    static final int SIZE = Integer.MAX_VALUE - 63;
    static final int ONES = 1 << 20;
    static final float EPSILON = 1e-5f;
    private static float[] tensor;

    @BeforeAll
    static void allocate() {
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        assumeTrue(physical >= 16L << 30 && Runtime.getRuntime().maxMemory() >= 9L << 30,
                "needs 16 GiB of memory and a 9 GiB heap for a tensor of 2^31 - 64 floats; this machine has "
                        + (physical >> 20) + " MiB and a heap of " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB");
        tensor = new float[SIZE];
    }

    @AfterAll
    static void release() {
        tensor = null;
    }

    static Stream<Arguments> cases() {
        return Variants.all().flatMap(v -> Stream.of(
                Arguments.of(v, "rows", Geometry.matrix(SIZE, 1)),
                Arguments.of(v, "plane", Geometry.ncl(1, 1, SIZE))));
    }

    private static void fill() {
        Arrays.fill(tensor, 0, SIZE - ONES, 0f);
        for (int i = SIZE - ONES; i < SIZE; i++) {
            tensor[i] = i % 2 == 0 ? 1f : -1f;
        }
    }

    private static BatchNorm batchNorm(Variant variant) {
        return Variants.batchNorm(variant, 2);
    }

    /**
     * Every value below SIZE - ONES is 0, every one from there {@code unit} times its x (1 or
     * -1), to 1e-5 relative.
     */
    private static void assertScaled(String what, double unit) {
        for (int i = 0; i < SIZE; i++) {
            double expected = i < SIZE - ONES ? 0 : i % 2 == 0 ? unit : -unit;
            if (!(Math.abs(tensor[i] - expected) <= 1e-5 * Math.abs(expected))) {
                fail(what + "[" + i + "] = " + tensor[i] + ", expected " + expected);
            }
        }
    }

    private static double variance() {
        return ONES / (double) SIZE;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void trainingReducesAndWritesTheLastValues(Variant variant, String layout, Geometry g) {
        fill();
        BatchStatistics saved = BatchStatistics.allocate(1);
        batchNorm(variant).forwardTraining(g, tensor, tensor, Parameters.none().withEpsilon(EPSILON), saved, null);
        double invStd = 1 / Math.sqrt(variance() + EPSILON);
        assertEquals(0, saved.mean()[0], "mean");
        assertEquals(invStd, saved.invStd()[0], 1e-5 * invStd, "invStd");
        assertScaled("y", invStd);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void inferenceWritesTheLastValues(Variant variant, String layout, Geometry g) {
        fill();
        RunningStatistics running = RunningStatistics.of(new float[] {0}, new float[] {0.25f},
                RunningUpdate.pytorch(0.1));
        batchNorm(variant).forwardInference(g, tensor, tensor, Parameters.none().withEpsilon(EPSILON), running);
        assertScaled("y", 1 / Math.sqrt(0.25 + EPSILON));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardSumsAndWritesTheLastValues(Variant variant, String layout, Geometry g) {
        fill();
        float invStd = 2;
        float[] dgamma = new float[1];
        float[] dbeta = new float[1];
        // dy = x and dx in place of both
        batchNorm(variant).backward(g, tensor, null, tensor, tensor, Parameters.none().withEpsilon(EPSILON),
                BatchStatistics.of(new float[] {0}, new float[] {invStd}), ParameterGradients.of(dgamma, dbeta));
        // sum dy = 0, sum dy * (x - 0) * invStd = ONES * invStd
        double dg = (double) ONES * invStd;
        assertEquals(0, dbeta[0], "dbeta");
        assertEquals(dg, dgamma[0], 1e-5 * dg, "dgamma");
        assertScaled("dx", invStd / (double) SIZE * (SIZE - invStd * dg));
    }
}
