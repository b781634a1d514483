package io.github.batchnorm4j.tests;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.Variant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One configuration to check against the reference: variant, thread count, geometry, which
 * affine parameters are on, and ReLU.
 */
record Case(Variant variant, int threads, Geometry geometry, Affine affine, boolean relu) {

    /** Which of gamma and beta the layer has. */
    enum Affine { BOTH, SCALE_ONLY, CENTER_ONLY, NONE }

    BatchNorm batchNorm() {
        return Variants.batchNorm(variant, threads);
    }

    Case with(Variant otherVariant, int otherThreads) {
        return new Case(otherVariant, otherThreads, geometry, affine, relu);
    }

    int channels() {
        return geometry.channels();
    }

    float[] gamma() {
        return Data.uniform(11 + channels(), channels(), 0.5, 2.0);
    }

    float[] beta() {
        return Data.uniform(13 + channels(), channels(), -1.0, 1.0);
    }

    Parameters parameters(float[] gamma, float[] beta) {
        Parameters p = switch (affine) {
            case BOTH -> Parameters.affine(gamma, beta);
            case SCALE_ONLY -> Parameters.scaleOnly(gamma);
            case CENTER_ONLY -> Parameters.centerOnly(beta);
            case NONE -> Parameters.none();
        };
        return p.withEpsilon(1e-3f).withRelu(relu);
    }

    /** gamma as the reference sees it: 1 when scale is off. */
    double[] referenceGamma(float[] gamma) {
        boolean on = affine == Affine.BOTH || affine == Affine.SCALE_ONLY;
        return on ? Data.toDouble(gamma) : ones(channels());
    }

    /** beta as the reference sees it: 0 when center is off. */
    double[] referenceBeta(float[] beta) {
        boolean on = affine == Affine.BOTH || affine == Affine.CENTER_ONLY;
        return on ? Data.toDouble(beta) : new double[channels()];
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, 1.0);
        return a;
    }

    /**
     * Geometries: each (outer, C, inner) as NCHW, and the same tensor size as NHWC
     * (outer * inner, C, 1).
     */
    static List<Geometry> geometries(int[] channels, int[] inners, int[] outers) {
        List<Geometry> result = new ArrayList<>();
        for (int c : channels) {
            for (int inner : inners) {
                for (int outer : outers) {
                    result.add(new Geometry(outer, c, inner));
                    if (inner > 1) {
                        result.add(new Geometry(outer * inner, c, 1));
                    }
                }
            }
        }
        return result;
    }

    /** Each geometry with gamma and beta, ReLU off and on. */
    static Stream<Case> withAndWithoutRelu(List<Geometry> geometries) {
        List<Case> result = new ArrayList<>();
        for (Geometry g : geometries) {
            result.add(new Case(Variant.NAIVE, 1, g, Affine.BOTH, false));
            result.add(new Case(Variant.NAIVE, 1, g, Affine.BOTH, true));
        }
        return result.stream();
    }

    /** Each geometry with scale only, center only, and neither. */
    static Stream<Case> affineOff(List<Geometry> geometries) {
        List<Case> result = new ArrayList<>();
        for (Geometry g : geometries) {
            result.add(new Case(Variant.NAIVE, 1, g, Affine.SCALE_ONLY, false));
            result.add(new Case(Variant.NAIVE, 1, g, Affine.CENTER_ONLY, false));
            result.add(new Case(Variant.NAIVE, 1, g, Affine.NONE, false));
        }
        return result.stream();
    }

    @Override
    public String toString() {
        return geometry + " " + affine + (relu ? " relu" : "");
    }
}
