package io.github.batchnorm4j.tests;

/**
 * Batch normalization in double precision, written from the textbook equations (Ioffe and
 * Szegedy 2015; the backward as PyTorch and Keras define it) and nothing
 * else: it does not call the library. Tensors are {@code (outer, channels, inner)} row-major.
 */
final class Reference {
    private Reference() {}

    /** Batch statistics of every channel, in double. */
    record Stats(double[] mean, double[] variance) {
        double invStd(int c, double epsilon) {
            return 1.0 / Math.sqrt(variance[c] + epsilon);
        }
    }

    /**
     * What backward produces, with the sums of absolute terms that bound rounding error: dxTerms
     * is dx computed with every term's absolute value, the scale of what cancels in dx.
     */
    record Gradients(double[] dx, double[] dgamma, double[] dbeta, double[] dxTerms,
            double[] dgammaAbs, double[] dbetaAbs) {}

    static int index(int channels, int inner, int o, int c, int i) {
        return (o * channels + c) * inner + i;
    }

    static Stats statistics(double[] x, int outer, int channels, int inner) {
        double[] mean = new double[channels];
        double[] variance = new double[channels];
        int m = outer * inner;
        for (int c = 0; c < channels; c++) {
            double sum = 0;
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    sum += x[index(channels, inner, o, c, i)];
                }
            }
            mean[c] = sum / m;
            double squares = 0;
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    double d = x[index(channels, inner, o, c, i)] - mean[c];
                    squares += d * d;
                }
            }
            variance[c] = squares / m;
        }
        return new Stats(mean, variance);
    }

    /** {@code y = gamma * (x - mean) / sqrt(var + eps) + beta}, then ReLU when asked. */
    static double[] normalize(double[] x, int outer, int channels, int inner, double[] mean,
            double[] variance, double[] gamma, double[] beta, double epsilon, boolean relu) {
        double[] y = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                double invStd = 1.0 / Math.sqrt(variance[c] + epsilon);
                for (int i = 0; i < inner; i++) {
                    int at = index(channels, inner, o, c, i);
                    double v = gamma[c] * (x[at] - mean[c]) * invStd + beta[c];
                    y[at] = relu ? Math.max(v, 0) : v;
                }
            }
        }
        return y;
    }

    /** {@code 1 / sqrt(variance + epsilon)} per channel. */
    static double[] invStd(double[] variance, double epsilon) {
        double[] result = new double[variance.length];
        for (int c = 0; c < variance.length; c++) {
            result[c] = 1.0 / Math.sqrt(variance[c] + epsilon);
        }
        return result;
    }

    /**
     * Backward, given the statistics backward is handed (batch: the saved mean and invStd;
     * frozen: the running mean and 1/sqrt(runningVar + eps)). {@code mask[at]} says whether the gradient passes (ReLU's {@code y > 0}); null
     * means it always does. With batch statistics the gradient flows through mean and variance.
     */
    static Gradients backward(double[] x, double[] dy, boolean[] mask, int outer, int channels,
            int inner, double[] mean, double[] invStdOf, double[] gamma, boolean batchStatistics) {
        int m = outer * inner;
        double[] dx = new double[x.length];
        double[] dxTerms = new double[x.length];
        double[] dgamma = new double[channels];
        double[] dbeta = new double[channels];
        double[] dgammaAbs = new double[channels];
        double[] dbetaAbs = new double[channels];
        for (int c = 0; c < channels; c++) {
            double invStd = invStdOf[c];
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    int at = index(channels, inner, o, c, i);
                    double d = mask == null || mask[at] ? dy[at] : 0;
                    double xhat = (x[at] - mean[c]) * invStd;
                    dbeta[c] += d;
                    dgamma[c] += d * xhat;
                    dbetaAbs[c] += Math.abs(d);
                    dgammaAbs[c] += Math.abs(d * xhat);
                }
            }
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    int at = index(channels, inner, o, c, i);
                    double d = mask == null || mask[at] ? dy[at] : 0;
                    double xhat = (x[at] - mean[c]) * invStd;
                    double factor = Math.abs(gamma[c] * invStd);
                    if (batchStatistics) {
                        dx[at] = gamma[c] * invStd / m * (m * d - dbeta[c] - xhat * dgamma[c]);
                        dxTerms[at] = factor / m * (m * Math.abs(d) + dbetaAbs[c] + Math.abs(xhat) * dgammaAbs[c]);
                    } else {
                        dx[at] = d * gamma[c] * invStd;
                        dxTerms[at] = factor * Math.abs(d);
                    }
                }
            }
        }
        return new Gradients(dx, dgamma, dbeta, dxTerms, dgammaAbs, dbetaAbs);
    }
}
