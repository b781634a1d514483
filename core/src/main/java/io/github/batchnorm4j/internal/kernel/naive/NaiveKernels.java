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
        float[] in = x.array();
        float[] out = y.array();
        int m = g.reductionSize();
        for (int c = 0; c < g.channels(); c++) {
            double sum = 0;
            for (int o = 0; o < g.outer(); o++) {
                int base = x.offset() + index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    sum += in[base + i];
                }
            }
            double mu = sum / m;
            double squares = 0;
            for (int o = 0; o < g.outer(); o++) {
                int base = x.offset() + index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    double d = in[base + i] - mu;
                    squares += d * d;
                }
            }
            double var = squares / m;
            call.mean()[c] = (float) mu;
            call.variance()[c] = (float) var;
            invStd[c] = ChannelMath.invStd(var, call.epsilon());
            for (int o = 0; o < g.outer(); o++) {
                int from = x.offset() + index(g, o, c);
                int to = y.offset() + index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    // in double around the mean in double: the mean rounded to float would move y
                    // by up to 2^-24 * |mean| * invStd
                    double xhat = (in[from + i] - mu) * invStd[c];
                    out[to + i] = activate((float) (gamma[c] * xhat + beta[c]), relu);
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
        float[] in = x.array();
        float[] out = y.array();
        for (int o = 0; o < g.outer(); o++) {
            for (int c = 0; c < g.channels(); c++) {
                int from = x.offset() + index(g, o, c);
                int to = y.offset() + index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    out[to + i] = activate(in[from + i] * scale[c] + shift[c], relu);
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
        float[] in = x.array();
        float[] grad = dy.array();
        float[] out = dx.array();
        int m = g.reductionSize();
        for (int c = 0; c < g.channels(); c++) {
            double sumDy = 0;
            double sumDyXhat = 0;
            for (int o = 0; o < g.outer(); o++) {
                int at = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    double d = maskedGradient(grad[dy.offset() + at + i], y, at + i, relu);
                    double xhat = (in[x.offset() + at + i] - (double) mean[c]) * invStd[c];
                    sumDy += d;
                    sumDyXhat += d * xhat;
                }
            }
            dbeta[c] = (float) sumDy;
            dgamma[c] = (float) sumDyXhat;
            for (int o = 0; o < g.outer(); o++) {
                int at = index(g, o, c);
                for (int i = 0; i < g.inner(); i++) {
                    double d = maskedGradient(grad[dy.offset() + at + i], y, at + i, relu);
                    double value;
                    if (call.batchStatistics()) {
                        double xhat = (in[x.offset() + at + i] - (double) mean[c]) * invStd[c];
                        value = (double) gamma[c] * invStd[c] / m * (m * d - sumDy - xhat * sumDyXhat);
                    } else {
                        value = d * gamma[c] * invStd[c];
                    }
                    out[dx.offset() + at + i] = (float) value;
                }
            }
        }
    }

    /** Position of element (o, c, 0) relative to the tensor's offset. */
    private static int index(Geometry g, int o, int c) {
        return (o * g.channels() + c) * g.inner();
    }

    private static float activate(float value, boolean relu) {
        return relu ? Math.max(value, 0f) : value;
    }

    private static float maskedGradient(float gradient, FloatSpan y, int at, boolean relu) {
        return relu && !(y.array()[y.offset() + at] > 0) ? 0f : gradient;
    }
}
