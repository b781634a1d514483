package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's policy for NaN and infinity: a non-finite value in one channel makes that
 * channel's statistics, outputs and gradients non-finite, and leaves every other channel's bits
 * exactly as they are without it, in every variant, layout, path and thread count.
 */
class NonFiniteTest {
    /** Shapes that reach each way through the kernels: in cache, by planes, by blocks, short planes, row chunks. */
    static final List<Geometry> SHAPES = List.of(
            Geometry.nchw(4, 8, 6, 6),
            Geometry.nchw(16, 8, 20, 20),
            Geometry.nchw(2, 4, 200, 200),
            Geometry.nchw(512, 16, 4, 4),
            Geometry.nhwc(4, 6, 6, 8),
            Geometry.nhwc(64, 16, 16, 40),
            Geometry.matrix(3000, 5));

    static final float[] SPOILERS = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Variant v : Variant.values()) {
            for (Geometry g : SHAPES) {
                for (int threads : new int[] {1, 3}) {
                    cases.add(Arguments.of(v, g, threads));
                }
            }
        }
        return cases.stream();
    }

    /** Channel {@code c}'s value at its k-th position, in any layout. */
    static int at(Geometry g, int c, int k) {
        return Reference.index(g.channels(), g.inner(), k / g.inner(), c, k % g.inner());
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("cases")
    void trainingForwardKeepsANonFiniteValueInItsChannel(Variant variant, Geometry g, int threads) {
        BatchNorm bn = Variants.batchNorm(variant, threads);
        float[] x = Data.gaussian(11, g.size(), 3, 2);
        Forward clean = Forward.run(bn, g, x);
        int spoiled = g.channels() / 2;
        for (float spoiler : SPOILERS) {
            float[] bad = x.clone();
            bad[at(g, spoiled, (int) g.reductionSize() / 3)] = spoiler;
            Forward got = Forward.run(bn, g, bad);
            for (int c = 0; c < g.channels(); c++) {
                if (c == spoiled) {
                    assertFalse(Float.isFinite(got.mean[c] * got.invStd[c]), "the spoiled channel's statistics are finite");
                    assertFalse(Float.isFinite(got.running.mean()[c] * got.running.variance()[c]),
                            "the spoiled channel's running statistics are finite");
                    for (int k = 0; k < g.reductionSize(); k++) {
                        assertFalse(Float.isFinite(got.y[at(g, c, k)]), "a y of the spoiled channel is finite");
                    }
                    continue;
                }
                String where = spoiler + " in channel " + spoiled + ", channel " + c;
                assertEquals(clean.mean[c], got.mean[c], where + ": mean");
                assertEquals(clean.invStd[c], got.invStd[c], where + ": invStd");
                assertEquals(clean.running.variance()[c], got.running.variance()[c], where + ": running variance");
                for (int k = 0; k < g.reductionSize(); k++) {
                    int i = at(g, c, k);
                    assertEquals(clean.y[i], got.y[i], where + ": y[" + i + "]");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("cases")
    void backwardKeepsANonFiniteGradientInItsChannel(Variant variant, Geometry g, int threads) {
        BatchNorm bn = Variants.batchNorm(variant, threads);
        float[] x = Data.gaussian(12, g.size(), -1, 3);
        float[] dy = Data.gaussian(13, g.size(), 0, 1);
        Forward forward = Forward.run(bn, g, x);
        float[][] clean = backward(bn, g, x, dy, forward);
        int spoiled = g.channels() - 1;
        for (float spoiler : SPOILERS) {
            float[] bad = dy.clone();
            bad[at(g, spoiled, (int) g.reductionSize() - 1)] = spoiler;
            float[][] got = backward(bn, g, x, bad, forward);
            for (int c = 0; c < g.channels(); c++) {
                if (c == spoiled) {
                    assertFalse(Float.isFinite(got[1][c] * got[2][c]), "the spoiled channel's gradients are finite");
                    continue;
                }
                String where = spoiler + " in dy of channel " + spoiled + ", channel " + c;
                assertEquals(clean[1][c], got[1][c], where + ": dgamma");
                assertEquals(clean[2][c], got[2][c], where + ": dbeta");
                for (int k = 0; k < g.reductionSize(); k++) {
                    int i = at(g, c, k);
                    assertEquals(clean[0][i], got[0][i], where + ": dx[" + i + "]");
                }
            }
        }
    }

    /** dx, dgamma, dbeta. */
    static float[][] backward(BatchNorm bn, Geometry g, float[] x, float[] dy, Forward forward) {
        float[] dx = new float[Math.toIntExact(g.size())];
        ParameterGradients gradients = ParameterGradients.allocate(g.channels());
        bn.backward(g, x, null, dy, dx, forward.parameters, BatchStatistics.of(forward.mean, forward.invStd), gradients);
        return new float[][] {dx, gradients.dgamma(), gradients.dbeta()};
    }

    record Forward(Parameters parameters, float[] y, float[] mean, float[] invStd, RunningStatistics running) {
        static Forward run(BatchNorm bn, Geometry g, float[] x) {
            Parameters p = Parameters.affine(Data.uniform(1, g.channels(), 0.5, 2), Data.uniform(2, g.channels(), -1, 1));
            float[] y = new float[Math.toIntExact(g.size())];
            BatchStatistics saved = BatchStatistics.allocate(g.channels());
            RunningStatistics running = RunningStatistics.initial(g.channels(), RunningUpdate.pytorch(0.1));
            bn.forwardTraining(g, x, y, p, saved, running);
            return new Forward(p, y, saved.mean(), saved.invStd(), running);
        }
    }
}
