package io.github.batchnorm4j.layer;

import io.github.batchnorm4j.FloatSpan;

/**
 * Keras 1's {@code mode=1}: each sample normalized over its own features (the last axis), with
 * Keras 1's formula {@code xhat = (x - m) / (sqrt(v + eps) + eps)} and per-feature gamma and
 * beta. A legacy mode with no kernel of its own: plain loops, double accumulators.
 */
final class SampleWise {
    private SampleWise() {}

    /** What forward keeps for backward: each row's mean, sqrt(v + eps) and divisor. */
    record Saved(double[] mean, double[] std, double[] divisor) {}

    static Saved forward(FloatSpan x, FloatSpan y, int rows, int features, float[] gamma,
            float[] beta, float epsilon) {
        double[] mean = new double[rows];
        double[] std = new double[rows];
        double[] divisor = new double[rows];
        for (int r = 0; r < rows; r++) {
            long base = (long) r * features;
            double sum = 0;
            for (int f = 0; f < features; f++) {
                sum += x.get(base + f);
            }
            double m = sum / features;
            double squares = 0;
            for (int f = 0; f < features; f++) {
                double u = x.get(base + f) - m;
                squares += u * u;
            }
            mean[r] = m;
            std[r] = Math.sqrt(squares / features + epsilon);
            divisor[r] = std[r] + epsilon;
        }
        for (int r = 0; r < rows; r++) {
            long in = (long) r * features;
            long out = (long) r * features;
            for (int f = 0; f < features; f++) {
                double xhat = (x.get(in + f) - mean[r]) / divisor[r];
                y.set(out + f, (float) (gammaOf(gamma, f) * xhat + betaOf(beta, f)));
            }
        }
        return new Saved(mean, std, divisor);
    }

    /**
     * With {@code u = x - m}, {@code d = s + eps}, {@code s = sqrt(mean(u^2) + eps)} and
     * {@code g = dy * gamma}: {@code dx = (g - mean(g)) / d - u * sum(g u) / (d^2 F s)}.
     * Accumulates {@code sum dy * xhat} and {@code sum dy} per feature into the sums given.
     */
    static void backward(FloatSpan x, FloatSpan dy, FloatSpan dx, int rows, int features,
            float[] gamma, Saved saved, double[] dgamma, double[] dbeta) {
        double[] g = new double[features];
        double[] u = new double[features];
        for (int r = 0; r < rows; r++) {
            long xBase = (long) r * features;
            long dyBase = (long) r * features;
            double d = saved.divisor()[r];
            double sumG = 0;
            double sumGu = 0;
            for (int f = 0; f < features; f++) {
                u[f] = x.get(xBase + f) - saved.mean()[r];
                g[f] = dy.get(dyBase + f) * (double) gammaOf(gamma, f);
                sumG += g[f];
                sumGu += g[f] * u[f];
                dgamma[f] += dy.get(dyBase + f) * (u[f] / d);
                dbeta[f] += dy.get(dyBase + f);
            }
            double meanG = sumG / features;
            double k = sumGu / (d * d * features * saved.std()[r]);
            long dxBase = (long) r * features;
            for (int f = 0; f < features; f++) {
                dx.set(dxBase + f, (float) ((g[f] - meanG) / d - u[f] * k));
            }
        }
    }

    private static float gammaOf(float[] gamma, int f) {
        return gamma == null ? 1f : gamma[f];
    }

    private static float betaOf(float[] beta, int f) {
        return beta == null ? 0f : beta[f];
    }
}
