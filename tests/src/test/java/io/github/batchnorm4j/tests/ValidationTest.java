package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parallelism;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input gets an exception that names the argument and the expected value, and changes
 * nothing: no output, no saved or running statistic, no gradient.
 */
class ValidationTest {

    /** Valid arguments for every operation on an NCHW (2, 3, 2, 2) tensor; a bad call spoils one. */
    static final class Scenario {
        final Geometry g = Geometry.nchw(2, 3, 2, 2);
        final float[] x = Data.gaussian(1, 24, 0, 1);
        final float[] y = Data.gaussian(2, 24, 0, 1);
        final float[] dy = Data.gaussian(3, 24, 0, 1);
        final float[] dx = Data.gaussian(4, 24, 0, 1);
        final float[] gamma = {1, 2, 3};
        final float[] beta = {0, 1, 2};
        final float[] dgamma = {7, 7, 7};
        final float[] dbeta = {8, 8, 8};
        /** One array holding two overlapping tensors, at offsets 0 and 2. */
        final float[] shared = Data.gaussian(5, 30, 0, 1);
        final BatchStatistics saved = BatchStatistics.of(new float[] {0.1f, 0.2f, 0.3f}, new float[] {1, 2, 3});
        final RunningStatistics running = RunningStatistics.of(new float[] {5, 5, 5}, new float[] {6, 6, 6},
                RunningUpdate.pytorch(0.1));
        final Parameters parameters = Parameters.affine(gamma, beta);
        final ParameterGradients gradients = ParameterGradients.of(dgamma, dbeta);
        final BatchNorm bn;

        Scenario(Variant variant) {
            bn = Variants.batchNorm(variant);
        }

        List<float[]> arrays() {
            return List.of(x, y, dy, dx, gamma, beta, dgamma, dbeta, shared, saved.mean(), saved.invStd(),
                    running.mean(), running.variance());
        }
    }

    record BadCall(String name, Class<? extends RuntimeException> type, String message, Consumer<Scenario> call) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<BadCall> badCalls() {
        List<BadCall> calls = new ArrayList<>();
        // forward training
        calls.add(new BadCall("training: null geometry", NullPointerException.class, "geometry must not be null",
                s -> s.bn.forwardTraining(null, s.x, s.y, s.parameters, s.saved, s.running)));
        calls.add(new BadCall("training: null x", NullPointerException.class, "x must not be null",
                s -> s.bn.forwardTraining(s.g, (float[]) null, s.y, s.parameters, s.saved, s.running)));
        calls.add(new BadCall("training: x too short", IllegalArgumentException.class, "x must hold at least 24 floats",
                s -> s.bn.forwardTraining(s.g, new float[23], s.y, s.parameters, s.saved, s.running)));
        calls.add(new BadCall("training: y too short from its offset", IllegalArgumentException.class,
                "y must hold at least 24 floats from offset 1",
                s -> s.bn.forwardTraining(s.g, FloatSpan.of(s.x), FloatSpan.of(s.y, 1), s.parameters, s.saved, s.running)));
        calls.add(new BadCall("training: y overlaps x", IllegalArgumentException.class,
                "y must either be x itself (same memory and offset) or not overlap it",
                s -> s.bn.forwardTraining(s.g, FloatSpan.of(s.shared, 0), FloatSpan.of(s.shared, 2), s.parameters, s.saved, s.running)));
        calls.add(new BadCall("training: gamma length", IllegalArgumentException.class, "gamma must have length 3 (the channels), got 2",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, Parameters.affine(new float[2], s.beta), s.saved, s.running)));
        calls.add(new BadCall("training: beta length", IllegalArgumentException.class, "beta must have length 3 (the channels), got 4",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, Parameters.affine(s.gamma, new float[4]), s.saved, s.running)));
        calls.add(new BadCall("training: null parameters", NullPointerException.class, "parameters must not be null",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, null, s.saved, s.running)));
        calls.add(new BadCall("training: null saved", NullPointerException.class, "saved must not be null",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, s.parameters, null, s.running)));
        calls.add(new BadCall("training: saved mean length", IllegalArgumentException.class, "saved mean must have length 3",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, s.parameters, BatchStatistics.of(new float[1], new float[3]), s.running)));
        calls.add(new BadCall("training: running variance length", IllegalArgumentException.class, "running variance must have length 3",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, s.parameters, s.saved,
                        RunningStatistics.of(new float[3], new float[5], RunningUpdate.pytorch(0.1)))));
        calls.add(new BadCall("training: one value per channel", IllegalArgumentException.class,
                "training needs more than 1 value per channel",
                s -> s.bn.forwardTraining(Geometry.nchw(1, 3, 1, 1), s.x, s.y, s.parameters, s.saved, s.running)));
        // forward inference
        calls.add(new BadCall("inference: null running", NullPointerException.class, "running must not be null",
                s -> s.bn.forwardInference(s.g, s.x, s.y, s.parameters, null)));
        calls.add(new BadCall("inference: running mean length", IllegalArgumentException.class, "running mean must have length 3",
                s -> s.bn.forwardInference(s.g, s.x, s.y, s.parameters,
                        RunningStatistics.of(new float[2], new float[3], RunningUpdate.keras(0.99)))));
        calls.add(new BadCall("inference: y too short", IllegalArgumentException.class, "y must hold at least 24 floats",
                s -> s.bn.forwardInference(s.g, s.x, new float[20], s.parameters, s.running)));
        // backward
        calls.add(new BadCall("backward: dy too short", IllegalArgumentException.class, "dy must hold at least 24 floats",
                s -> s.bn.backward(s.g, s.x, s.y, new float[3], s.dx, s.parameters, s.saved, s.gradients)));
        calls.add(new BadCall("backward: dx too short", IllegalArgumentException.class, "dx must hold at least 24 floats",
                s -> s.bn.backward(s.g, s.x, s.y, s.dy, new float[3], s.parameters, s.saved, s.gradients)));
        calls.add(new BadCall("backward: dx overlaps dy", IllegalArgumentException.class,
                "dx must either be dy itself (same memory and offset) or not overlap it",
                s -> s.bn.backward(s.g, FloatSpan.of(s.x), null, FloatSpan.of(s.shared, 2), FloatSpan.of(s.shared, 0),
                        s.parameters, s.saved, s.gradients)));
        calls.add(new BadCall("backward: relu without y", NullPointerException.class,
                "y (the forward output) must not be null when ReLU is fused",
                s -> s.bn.backward(s.g, s.x, null, s.dy, s.dx, s.parameters.withRelu(true), s.saved, s.gradients)));
        calls.add(new BadCall("backward: dgamma length", IllegalArgumentException.class, "dgamma must have length 3",
                s -> s.bn.backward(s.g, s.x, s.y, s.dy, s.dx, s.parameters, s.saved, ParameterGradients.of(new float[4], null))));
        calls.add(new BadCall("backward: saved invStd length", IllegalArgumentException.class, "saved invStd must have length 3",
                s -> s.bn.backward(s.g, s.x, s.y, s.dy, s.dx, s.parameters, BatchStatistics.of(new float[3], new float[2]), s.gradients)));
        calls.add(new BadCall("backward: null gradients", NullPointerException.class, "gradients must not be null",
                s -> s.bn.backward(s.g, s.x, s.y, s.dy, s.dx, s.parameters, s.saved, null)));
        calls.add(new BadCall("frozen backward: null running", NullPointerException.class, "running must not be null",
                s -> s.bn.backwardFrozen(s.g, s.x, s.y, s.dy, s.dx, s.parameters, null, s.gradients)));
        // aliasing: an array the call writes is also another of its arguments
        calls.add(new BadCall("training: saved mean is the running mean", IllegalArgumentException.class,
                "saved mean must not be the same array as running mean: the call writes saved mean and also writes running mean",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, s.parameters, BatchStatistics.of(s.running.mean(), s.saved.invStd()),
                        s.running)));
        calls.add(new BadCall("training: saved invStd is gamma", IllegalArgumentException.class,
                "saved invStd must not be the same array as gamma: the call writes saved invStd and reads gamma",
                s -> s.bn.forwardTraining(s.g, s.x, s.y, s.parameters, BatchStatistics.of(s.saved.mean(), s.gamma), s.running)));
        calls.add(new BadCall("inference: y is the running mean", IllegalArgumentException.class,
                "y must not be the same array as running mean: the call writes y and reads running mean",
                s -> s.bn.forwardInference(new Geometry(1, 3, 1), s.x, s.running.mean(), s.parameters, s.running)));
        calls.add(new BadCall("backward: dgamma is gamma", IllegalArgumentException.class,
                "dgamma must not be the same array as gamma: the call writes dgamma and reads gamma",
                s -> s.bn.backward(s.g, s.x, s.y, s.dy, s.dx, s.parameters, s.saved, ParameterGradients.of(s.gamma, s.dbeta))));
        calls.add(new BadCall("backward: dbeta is the saved mean", IllegalArgumentException.class,
                "dbeta must not be the same array as saved mean: the call writes dbeta and reads saved mean",
                s -> s.bn.backward(s.g, s.x, s.y, s.dy, s.dx, s.parameters, s.saved,
                        ParameterGradients.of(s.dgamma, s.saved.mean()))));
        calls.add(new BadCall("backward: dx is dgamma", IllegalArgumentException.class,
                "dx must not be the same array as dgamma: the call writes dx and also writes dgamma",
                s -> s.bn.backward(new Geometry(1, 3, 1), s.x, s.y, s.dy, s.dgamma, s.parameters, s.saved, s.gradients)));
        calls.add(new BadCall("frozen backward: dgamma is the running variance", IllegalArgumentException.class,
                "dgamma must not be the same array as running variance: the call writes dgamma and reads running variance",
                s -> s.bn.backwardFrozen(s.g, s.x, s.y, s.dy, s.dx, s.parameters, s.running,
                        ParameterGradients.of(s.running.variance(), null))));
        calls.add(new BadCall("running update: batchMean is the running variance", IllegalArgumentException.class,
                "running variance must not be the same array as batchMean: the call writes running variance and reads batchMean",
                s -> s.running.update(s.running.variance(), s.gamma, 10)));
        calls.add(new BadCall("frozen backward: x too short", IllegalArgumentException.class, "x must hold at least 24 floats",
                s -> s.bn.backwardFrozen(s.g, new float[1], s.y, s.dy, s.dx, s.parameters, s.running, s.gradients)));
        return calls;
    }

    static Stream<Arguments> cases() {
        List<Arguments> result = new ArrayList<>();
        Variants.all().forEach(v -> badCalls().forEach(call -> result.add(Arguments.of(v, call))));
        return result.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void badCallThrowsAndChangesNothing(Variant variant, BadCall call) {
        Scenario s = new Scenario(variant);
        List<float[]> before = s.arrays().stream().map(float[]::clone).toList();
        long batches = s.running.batchesTracked();

        RuntimeException e = assertThrows(call.type(), () -> call.call().accept(s));
        assertTrue(e.getMessage().contains(call.message()),
                () -> "message '" + e.getMessage() + "' should contain '" + call.message() + "'");
        for (int k = 0; k < before.size(); k++) {
            assertArrayEquals(before.get(k), s.arrays().get(k), "array " + k + " changed");
        }
        assertEquals(batches, s.running.batchesTracked());
    }

    @Test
    void parameterFactoriesRejectBadValues() {
        expect(IllegalArgumentException.class, "epsilon must be finite and > 0, got 0.0", () -> Parameters.none().withEpsilon(0f));
        expect(IllegalArgumentException.class, "epsilon must be finite and > 0, got -1.0", () -> Parameters.none().withEpsilon(-1f));
        expect(IllegalArgumentException.class, "epsilon must be finite and > 0, got NaN", () -> Parameters.none().withEpsilon(Float.NaN));
        expect(IllegalArgumentException.class, "epsilon must be finite and > 0, got Infinity",
                () -> Parameters.none().withEpsilon(Float.POSITIVE_INFINITY));
        expect(NullPointerException.class, "gamma must not be null", () -> Parameters.affine(null, new float[1]));
        expect(IllegalArgumentException.class, "momentum must be in [0, 1], got 1.5", () -> RunningUpdate.pytorch(1.5));
        expect(IllegalArgumentException.class, "momentum must be in [0, 1], got -0.1", () -> RunningUpdate.keras(-0.1));
        expect(IllegalArgumentException.class, "momentum must be in [0, 1], got NaN", () -> RunningUpdate.keras(Double.NaN));
        expect(IllegalArgumentException.class, "newBatchWeight must be in [0, 1], got 2.0", () -> RunningUpdate.exponential(2, true));
        expect(IllegalArgumentException.class, "offset must be in [0, 4] (the array's length), got 5", () -> FloatSpan.of(new float[4], 5));
        expect(IllegalArgumentException.class, "threads must be in [1, 32768] (the calling thread and a fork-join pool's at most 32767), got 0",
                () -> BatchNorm.builder().threads(0));
        expect(IllegalArgumentException.class, "threads must be in [1, 32768] (the calling thread and a fork-join pool's at most 32767), got 100000",
                () -> Parallelism.threads(100000));
        float[] same = new float[3];
        expect(IllegalArgumentException.class, "running mean and running variance must be different arrays, got the same one for both",
                () -> RunningStatistics.of(same, same, RunningUpdate.pytorch(0.1)));
        expect(IllegalArgumentException.class, "mean and invStd must be different arrays, got the same one for both",
                () -> BatchStatistics.of(same, same));
        expect(IllegalArgumentException.class, "dgamma and dbeta must be different arrays, got the same one for both",
                () -> ParameterGradients.of(same, same));
    }

    @Test
    void geometryRejectsBadShapes() {
        expect(IllegalArgumentException.class, "channels must be at least 1, got 0", () -> new Geometry(2, 0, 3));
        expect(IllegalArgumentException.class, "outer must be at least 1, got -1", () -> new Geometry(-1, 2, 3));
        expect(IllegalArgumentException.class, "shape[2] must be at least 1, got 0", () -> Geometry.nchw(2, 3, 0, 4));
        // past 2^31 floats is a segment's tensor; an array is too short for it, and says so
        assertEquals(1L << 32, Geometry.nchw(65536, 64, 32, 32).size());
        assertEquals(1L << 32, new Geometry(65536, 65536, 1).size());
        expect(IllegalArgumentException.class, "x must hold at least 4294967296 floats from offset 0 for "
                + "Geometry[outer=65536, channels=65536, inner=1], but its array has length 10",
                () -> BatchNorm.builder().build().forwardInference(new Geometry(65536, 65536, 1), new float[10],
                        new float[10], Parameters.none(), RunningStatistics.initial(65536, RunningUpdate.pytorch(0.1))));
        // one sample past an int, and products past 2^63 that a long would wrap: 2^30 cubed
        expect(IllegalArgumentException.class, "channels * inner (one sample) must be at most 2147483647 floats, got 1073741824 * 1073741824",
                () -> new Geometry(1 << 30, 1 << 30, 1 << 30));
        expect(IllegalArgumentException.class, "channels * inner (one sample) must be at most 2147483647 floats, got 2097152 * 4194304",
                () -> new Geometry(1 << 21, 1 << 21, 1 << 22));
        expect(IllegalArgumentException.class, "outer * channels * inner must be at most 2305843009213693951 (the floats a memory segment can address), got 2147483647 * 32768 * 65535",
                () -> new Geometry(Integer.MAX_VALUE, 1 << 15, 65535));
        expect(IllegalArgumentException.class, "channels * inner (one sample) must be at most 2147483647 floats",
                () -> Geometry.ofShape(new int[] {1 << 30, 1 << 30, 1 << 30}, 1));
        expect(IllegalArgumentException.class, "shape [65536, 65536, 2]: the product of the dimensions before the channel axis must be at most 2147483647",
                () -> Geometry.ofShape(new int[] {65536, 65536, 2}, 2));
        expect(IllegalArgumentException.class, "axis must be in [-3, 3) for shape [2, 3, 4], got 3",
                () -> Geometry.ofShape(new int[] {2, 3, 4}, 3));
        expect(NullPointerException.class, "shape must not be null", () -> Geometry.ofShape(null, 1));
    }

    private static void expect(Class<? extends RuntimeException> type, String message, Runnable call) {
        RuntimeException e = assertThrows(type, call::run);
        assertTrue(e.getMessage().contains(message), () -> "message '" + e.getMessage() + "' should contain '" + message + "'");
    }
}
