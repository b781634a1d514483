package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * How close float results must come to the double reference. A reduction over M floats loses
 * about sqrt(M) roundings (blocked sums) on top of a few per element, so the bound is
 * {@code 4 * 2^-23 * (16 + sqrt(M))} relative: 8e-6 at M = 2, 4.5e-5 at M = 6272, 1.6e-4 at
 * M = 100352. Any wrong formula tested here (biased for unbiased variance at small M, a missing
 * term of dx, a wrong mean) is off by 1e-2 or more.
 */
final class Tolerance {
    private static final double FLOAT_EPSILON = Math.ulp(1.0f);

    private Tolerance() {}

    static double forReduction(long m) {
        return 4 * FLOAT_EPSILON * (16 + Math.sqrt(m));
    }

    /**
     * Every element of {@code got[offset..]} is within {@code tol} of the reference, relative to
     * the element and to the tensor's root-mean-square (so values near zero are judged on the
     * tensor's scale).
     */
    static void assertTensorClose(String what, float[] got, int offset, double[] want, double tol) {
        double sumSquares = 0;
        for (double v : want) {
            sumSquares += v * v;
        }
        double rms = Math.sqrt(sumSquares / want.length);
        for (int k = 0; k < want.length; k++) {
            double error = Math.abs(got[offset + k] - want[k]);
            double scale = Math.abs(want[k]) + rms + Double.MIN_NORMAL;
            if (!(error <= tol * scale)) {
                fail(what + "[" + k + "] = " + got[offset + k] + ", reference " + want[k]
                        + ": error " + error + " > " + tol + " * " + scale);
            }
        }
    }

    /**
     * Every element of {@code got[offset..]} is within {@code tol} of the reference relative to
     * {@code terms[k]}, the size of what was added up to make it (so a result that is small
     * because large terms cancel is judged on those terms).
     */
    static void assertTermsClose(String what, float[] got, int offset, double[] want, double[] terms, double tol) {
        for (int k = 0; k < want.length; k++) {
            double error = Math.abs(got[offset + k] - want[k]);
            double bound = tol * (terms[k] + Double.MIN_NORMAL);
            if (!(error <= bound)) {
                fail(what + "[" + k + "] = " + got[offset + k] + ", reference " + want[k]
                        + ": error " + error + " > " + bound);
            }
        }
    }

    /**
     * Each channel's sum is within {@code tol} of the reference relative to the sum of the
     * absolute values of its terms, which bounds the rounding error of any summation order.
     */
    static void assertSumsClose(String what, float[] got, double[] want, double[] absSum, double tol) {
        for (int c = 0; c < want.length; c++) {
            double error = Math.abs(got[c] - want[c]);
            double bound = tol * (absSum[c] + Double.MIN_NORMAL);
            if (!(error <= bound)) {
                fail(what + "[" + c + "] = " + got[c] + ", reference " + want[c] + ": error "
                        + error + " > " + bound);
            }
        }
    }

    /** Relative closeness of small per-channel values (invStd, scale). */
    static void assertRelativeClose(String what, float[] got, double[] want, double tol) {
        for (int c = 0; c < want.length; c++) {
            double error = Math.abs(got[c] - want[c]);
            if (!(error <= tol * Math.abs(want[c]))) {
                fail(what + "[" + c + "] = " + got[c] + ", reference " + want[c] + ": relative error "
                        + error / Math.abs(want[c]) + " > " + tol);
            }
        }
    }
}
