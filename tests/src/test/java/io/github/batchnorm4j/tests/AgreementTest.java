package io.github.batchnorm4j.tests;

import static io.github.batchnorm4j.tests.Tolerance.assertRelativeClose;
import static io.github.batchnorm4j.tests.Tolerance.assertSumsClose;
import static io.github.batchnorm4j.tests.Tolerance.assertTensorClose;
import static io.github.batchnorm4j.tests.Tolerance.assertTermsClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Variant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every operation of every variant against the double-precision reference, over shapes that
 * hit every loop tail, both layouts, ReLU on and off, scale and center off.
 */
class AgreementTest {

    static Stream<Case> cases() {
        List<Geometry> geometries = Case.geometries(
                new int[] {1, 3, 17, 64}, new int[] {1, 7, 33, 196}, new int[] {2, 5, 32});
        return Case.cases(List.of(Variant.NAIVE), new int[] {1}, geometries);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void forwardTrainingMatchesReference(Case c) {
        Run run = new Run(c, 42);
        run.forwardTraining();

        Geometry g = c.geometry();
        int m = g.reductionSize();
        double tol = Tolerance.forReduction(m);
        double[] x = run.input();
        Reference.Stats stats = Reference.statistics(x, g.outer(), g.channels(), g.inner());
        double eps = run.parameters.epsilon();
        double[] want = Reference.normalize(x, g.outer(), g.channels(), g.inner(), stats.mean(),
                stats.variance(), c.referenceGamma(run.gamma), c.referenceBeta(run.beta), eps, c.relu());
        assertTensorClose("y", run.y, Run.Y_OFFSET, want, tol);

        double[] invStd = new double[g.channels()];
        double[] runningMean = new double[g.channels()];
        double[] runningVar = new double[g.channels()];
        for (int ch = 0; ch < g.channels(); ch++) {
            invStd[ch] = stats.invStd(ch, eps);
            double std = Math.sqrt(stats.variance()[ch]);
            assertEquals(stats.mean()[ch], run.saved.mean()[ch], tol * (Math.abs(stats.mean()[ch]) + std), "mean");
            runningMean[ch] = 0.1 * stats.mean()[ch];
            runningVar[ch] = 0.9 + 0.1 * stats.variance()[ch] * m / (m - 1);
            assertEquals(runningMean[ch], run.running.mean()[ch], tol * (Math.abs(runningMean[ch]) + std), "running mean");
        }
        assertRelativeClose("invStd", run.saved.invStd(), invStd, tol);
        assertRelativeClose("running variance", run.running.variance(), runningVar, tol);
        assertEquals(1, run.running.batchesTracked());
    }

    @ParameterizedTest
    @MethodSource("cases")
    void forwardInferenceMatchesReference(Case c) {
        Run run = new Run(c, 43);
        Geometry g = c.geometry();
        float[] runningMean = Data.uniform(5, g.channels(), -1, 1);
        float[] runningVar = Data.uniform(6, g.channels(), 0.5, 2);
        System.arraycopy(runningMean, 0, run.running.mean(), 0, g.channels());
        System.arraycopy(runningVar, 0, run.running.variance(), 0, g.channels());
        run.forwardInference();

        double[] want = Reference.normalize(run.input(), g.outer(), g.channels(), g.inner(),
                Data.toDouble(runningMean), Data.toDouble(runningVar), c.referenceGamma(run.gamma),
                c.referenceBeta(run.beta), run.parameters.epsilon(), c.relu());
        assertTensorClose("y", run.y, Run.Y_OFFSET, want, Tolerance.forReduction(1));
        assertEquals(0, run.running.batchesTracked(), "inference must not count a batch");
    }

    @ParameterizedTest
    @MethodSource("cases")
    void backwardMatchesReference(Case c) {
        checkBackward(c, false);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void backwardFrozenMatchesReference(Case c) {
        checkBackward(c, true);
    }

    private static void checkBackward(Case c, boolean frozen) {
        Run run = new Run(c, 44);
        run.forwardTraining();
        Geometry g = c.geometry();
        float[] dy = Data.gaussian(45, g.size(), 0.1, 1.0);
        ParameterGradients gradients = ParameterGradients.allocate(g.channels());
        float[] dx = run.backward(dy, gradients, frozen);

        double[] x = run.input();
        double eps = run.parameters.epsilon();
        double[] mean;
        double[] variance;
        if (frozen) {
            mean = Data.toDouble(run.running.mean());
            variance = Data.toDouble(run.running.variance());
        } else {
            Reference.Stats stats = Reference.statistics(x, g.outer(), g.channels(), g.inner());
            mean = stats.mean();
            variance = stats.variance();
        }
        Reference.Gradients want = Reference.backward(x, Data.toDouble(dy), run.reluMask(),
                g.outer(), g.channels(), g.inner(), mean, variance, c.referenceGamma(run.gamma), eps, !frozen);
        double tol = Tolerance.forReduction(g.reductionSize());
        assertTermsClose("dx", dx, Run.DX_OFFSET, want.dx(), want.dxTerms(), tol);
        assertSumsClose("dbeta", gradients.dbeta(), want.dbeta(), want.dbetaAbs(), tol);
        assertSumsClose("dgamma", gradients.dgamma(), want.dgamma(), want.dgammaAbs(), tol);
    }
}
