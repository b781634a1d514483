package io.github.batchnorm4j.tests;

import java.util.function.ToDoubleFunction;

/**
 * Double-precision forward passes of the layer's options, written from their formulas, and the
 * central differences that check the layer's backward against them.
 */
final class LayerReference {
    static final double H = 1e-6;

    private LayerReference() {}

    /**
     * Batch-statistics forward of one (outer, C, inner) block:
     * {@code y = gamma * (r * xhat + d) + beta}; r and d null mean 1 and 0.
     */
    static double[] forward(double[] x, int from, int outer, int channels, int inner, double[] gamma,
            double[] beta, double epsilon, double[] r, double[] d) {
        double[] block = java.util.Arrays.copyOfRange(x, from, from + outer * channels * inner);
        Reference.Stats stats = Reference.statistics(block, outer, channels, inner);
        double[] y = new double[block.length];
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                double invStd = 1 / Math.sqrt(stats.variance()[c] + epsilon);
                for (int i = 0; i < inner; i++) {
                    int at = Reference.index(channels, inner, o, c, i);
                    double xhat = (block[at] - stats.mean()[c]) * invStd;
                    double z = r == null ? xhat : xhat * r[c] + d[c];
                    y[at] = gamma[c] * z + beta[c];
                }
            }
        }
        return y;
    }

    /** Ghost batch norm: {@link #forward} on each of {@code groups} equal blocks along the outer axis. */
    static double[] ghost(double[] x, int groups, int outer, int channels, int inner, double[] gamma,
            double[] beta, double epsilon) {
        double[] y = new double[x.length];
        int groupOuter = outer / groups;
        int groupSize = groupOuter * channels * inner;
        for (int k = 0; k < groups; k++) {
            double[] part = forward(x, k * groupSize, groupOuter, channels, inner, gamma, beta, epsilon, null, null);
            System.arraycopy(part, 0, y, k * groupSize, groupSize);
        }
        return y;
    }

    /** Sum of w * y: the loss whose gradient with respect to y is w. */
    static double dot(double[] w, double[] y) {
        double sum = 0;
        for (int k = 0; k < y.length; k++) {
            sum += w[k] * y[k];
        }
        return sum;
    }

    /** The derivative of f at {@code at} along coordinate k, by central differences. */
    static double centralDifference(double[] at, int k, ToDoubleFunction<double[]> f) {
        double[] plus = at.clone();
        double[] minus = at.clone();
        plus[k] += H;
        minus[k] -= H;
        return (f.applyAsDouble(plus) - f.applyAsDouble(minus)) / (2 * H);
    }

    /** Every coordinate's derivative. */
    static double[] gradient(double[] at, ToDoubleFunction<double[]> f) {
        double[] g = new double[at.length];
        for (int k = 0; k < at.length; k++) {
            g[k] = centralDifference(at, k, f);
        }
        return g;
    }
}
