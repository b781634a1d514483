package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import java.util.Arrays;

/**
 * One case run through the library with tensors placed at odd offsets inside NaN-filled arrays,
 * so that a kernel writing outside its range is caught.
 */
final class Run {
    static final int X_OFFSET = 3;
    static final int Y_OFFSET = 5;
    static final int DY_OFFSET = 1;
    static final int DX_OFFSET = 7;

    final Case c;
    final Geometry g;
    final BatchNorm bn;
    final float[] gamma;
    final float[] beta;
    final Parameters parameters;
    final float[] x;
    /** The tensor's floats: an array's, so an int. */
    final int size;
    final float[] y;
    final BatchStatistics saved;
    final RunningStatistics running;

    Run(Case c, long seed) {
        this(c, Data.gaussian(seed, c.geometry().size(), 1.5, 2.0));
    }

    Run(Case c, float[] data) {
        this.c = c;
        this.g = c.geometry();
        this.size = Math.toIntExact(g.size());
        this.bn = c.batchNorm();
        this.gamma = c.gamma();
        this.beta = c.beta();
        this.parameters = c.parameters(gamma, beta);
        this.x = placed(data, X_OFFSET);
        this.y = nanArray(size + Y_OFFSET + 4);
        this.saved = BatchStatistics.allocate(g.channels());
        this.running = RunningStatistics.initial(g.channels(), RunningUpdate.pytorch(0.1));
    }

    double[] input() {
        return Data.toDouble(x, X_OFFSET, size);
    }

    void forwardTraining() {
        bn.forwardTraining(g, FloatSpan.of(x, X_OFFSET), FloatSpan.of(y, Y_OFFSET), parameters, saved, running);
        assertOnlyRangeWritten("y", y, Y_OFFSET, size);
    }

    void forwardInference() {
        bn.forwardInference(g, FloatSpan.of(x, X_OFFSET), FloatSpan.of(y, Y_OFFSET), parameters, running);
        assertOnlyRangeWritten("y", y, Y_OFFSET, size);
    }

    /** Backward after {@link #forwardTraining}: returns dx, placed at {@link #DX_OFFSET}. */
    float[] backward(float[] dy, ParameterGradients gradients, boolean frozen) {
        float[] dyPlaced = placed(dy, DY_OFFSET);
        float[] dx = nanArray(size + DX_OFFSET + 2);
        FloatSpan ySpan = FloatSpan.of(y, Y_OFFSET);
        if (frozen) {
            bn.backwardFrozen(g, FloatSpan.of(x, X_OFFSET), ySpan, FloatSpan.of(dyPlaced, DY_OFFSET),
                    FloatSpan.of(dx, DX_OFFSET), parameters, running, gradients);
        } else {
            bn.backward(g, FloatSpan.of(x, X_OFFSET), ySpan, FloatSpan.of(dyPlaced, DY_OFFSET),
                    FloatSpan.of(dx, DX_OFFSET), parameters, saved, gradients);
        }
        assertOnlyRangeWritten("dx", dx, DX_OFFSET, size);
        return dx;
    }

    /** ReLU's mask as the contract defines it: the forward output y > 0. */
    boolean[] reluMask() {
        if (!parameters.relu()) {
            return null;
        }
        boolean[] mask = new boolean[size];
        for (int k = 0; k < mask.length; k++) {
            mask[k] = y[Y_OFFSET + k] > 0;
        }
        return mask;
    }

    static float[] placed(float[] data, int offset) {
        float[] a = nanArray(data.length + offset + 3);
        System.arraycopy(data, 0, a, offset, data.length);
        return a;
    }

    static float[] nanArray(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    static void assertOnlyRangeWritten(String name, float[] a, int offset, int size) {
        for (int k = 0; k < a.length; k++) {
            if (k < offset || k >= offset + size) {
                int at = k;
                assertTrue(Float.isNaN(a[k]), () -> name + "[" + at + "] outside the tensor was written");
            }
        }
    }
}
