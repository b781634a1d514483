package io.github.batchnorm4j.internal.kernel.naive;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.kernel.BackwardCall;
import io.github.batchnorm4j.internal.kernel.ChannelMath;
import io.github.batchnorm4j.internal.kernel.InferenceCall;
import io.github.batchnorm4j.internal.kernel.Kernels;
import io.github.batchnorm4j.internal.kernel.TrainingCall;

/**
 * The readable reference: plain scalar loops, one channel at a time, the textbook passes,
 * double accumulators, the calling thread only, any layout through the (outer, C, inner) index.
 * Every other variant is checked against it.
 */
public final class NaiveKernels implements Kernels {

    @Override
    public void forwardTraining(TrainingCall call) {
        Geometry g = call.geometry();
        FloatSpan x = call.x();
        FloatSpan y = call.y();
        float[] gamma = call.gamma();
        float[] beta = call.beta();
        boolean relu = call.relu();
        float[] invStd = call.invStd();
        long m = g.reductionSize();
        for (int c = 0; c < g.channels(); c++) {
            double sum = 0;
            for (int o = 0; o < g.outer(); o++) {
                long base = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    sum += x.get(base + i);
                }
            }
            double mu = sum / m;
            double squares = 0;
            for (int o = 0; o < g.outer(); o++) {
                long base = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    double d = x.get(base + i) - mu;
                    squares += d * d;
                }
            }
            double var = squares / m;
            call.mean()[c] = (float) mu;
            call.variance()[c] = (float) var;
            invStd[c] = ChannelMath.invStd(var, call.epsilon());
            for (int o = 0; o < g.outer(); o++) {
                long at = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    // in double around the mean in double: the mean rounded to float would move y
                    // by up to 2^-24 * |mean| * invStd
                    double xhat = (x.get(at + i) - mu) * invStd[c];
                    y.set(at + i, activate((float) (gamma[c] * xhat + beta[c]), relu));
                }
            }
        }
    }

    @Override
    public void forwardInference(InferenceCall call) {
        Geometry g = call.geometry();
        FloatSpan x = call.x();
        FloatSpan y = call.y();
        float[] scale = call.scale();
        float[] shift = call.shift();
        boolean relu = call.relu();
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < g.channels(); c++) {
                long at = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    y.set(at + i, activate(x.get(at + i) * scale[c] + shift[c], relu));
                }
            }
        }
    }

    @Override
    public void backward(BackwardCall call) {
        Geometry g = call.geometry();
        FloatSpan x = call.x();
        FloatSpan y = call.y();
        FloatSpan dy = call.dy();
        FloatSpan dx = call.dx();
        float[] gamma = call.gamma();
        float[] mean = call.mean();
        float[] invStd = call.invStd();
        boolean relu = call.relu();
        float[] dgamma = call.dgamma();
        float[] dbeta = call.dbeta();
        long m = g.reductionSize();
        for (int c = 0; c < g.channels(); c++) {
            double sumDy = 0;
            double sumDyXhat = 0;
            for (int o = 0; o < g.outer(); o++) {
                long at = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    double d = maskedGradient(dy.get(at + i), y, at + i, relu);
                    double xhat = (x.get(at + i) - (double) mean[c]) * invStd[c];
                    sumDy += d;
                    sumDyXhat += d * xhat;
                }
            }
            dbeta[c] = (float) sumDy;
            dgamma[c] = (float) sumDyXhat;
            for (int o = 0; o < g.outer(); o++) {
                long at = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    double d = maskedGradient(dy.get(at + i), y, at + i, relu);
                    double value;
                    if (call.batchStatistics()) {
                        double xhat = (x.get(at + i) - (double) mean[c]) * invStd[c];
                        value = (double) gamma[c] * invStd[c] / m * (m * d - sumDy - xhat * sumDyXhat);
                    } else {
                        value = d * gamma[c] * invStd[c];
                    }
                    dx.set(at + i, (float) value);
                }
            }
        }
    }

    /** Position of element (o, c, 0) in the tensor's spans. */
    private static long index(Geometry g, int o, int c) {
        return ((long) o * g.channels() + c) * g.inner();
    }

    private static float activate(float value, boolean relu) {
        return relu ? Math.max(value, 0f) : value;
    }

    private static float maskedGradient(float gradient, FloatSpan y, long at, boolean relu) {
        return relu && !(y.get(at) > 0) ? 0f : gradient;
    }
}
