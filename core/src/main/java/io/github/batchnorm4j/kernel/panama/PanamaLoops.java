package io.github.batchnorm4j.kernel.panama;

import io.github.batchnorm4j.kernel.Loops;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Loops} with the Vector API. Every run loop has one shape: a main loop of four vectors a
 * step into four accumulators, a one-vector loop, then a masked tail. Row loops take the
 * channels a vector at a time (masked at the edge) and walk the rows inside. The two shapes
 * repeat across operations on purpose: folding them into a shared abstraction would box the
 * vectors and cost the speed these loops exist for.
 */
public final class PanamaLoops implements Loops {
    /**
     * The preferred species, or the width in bits named by {@code -Dbatchnorm4j.vectorBits}
     * (64, 128, 256 or 512). A static final constant: a species that is not one boxes vectors.
     */
    static final VectorSpecies<Float> SPECIES = species(System.getProperty("batchnorm4j.vectorBits"));
    private static final int L = SPECIES.length();

    /** Lanes per vector: what the library reports in its start-up hint. */
    public static int lanes() {
        return L;
    }

    private static VectorSpecies<Float> species(String bits) {
        if (bits == null) {
            return FloatVector.SPECIES_PREFERRED;
        }
        return switch (bits) {
            case "64" -> FloatVector.SPECIES_64;
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException(
                    "batchnorm4j.vectorBits must be 64, 128, 256 or 512, got " + bits);
        };
    }

    private static FloatVector load(float[] a, int at) {
        return FloatVector.fromArray(SPECIES, a, at);
    }

    private static FloatVector load(float[] a, int at, VectorMask<Float> m) {
        return FloatVector.fromArray(SPECIES, a, at, m);
    }

    /** dy where y > 0 (fused ReLU), dy itself when y is null. */
    private static FloatVector gradient(FloatVector dy, float[] y, int at) {
        return y == null ? dy : dy.blend(0f, load(y, at).compare(VectorOperators.GT, 0f).not());
    }

    private static FloatVector gradient(FloatVector dy, float[] y, int at, VectorMask<Float> m) {
        return y == null ? dy : dy.blend(0f, load(y, at, m).compare(VectorOperators.GT, 0f).not());
    }

    /**
     * Sum of the lanes in a fixed pairwise order. reduceLanes(ADD) leaves the order open, and the
     * interpreter and the JIT do use different orders: results would change once a loop compiles.
     */
    private static float sumLanes(FloatVector v) {
        for (int half = L / 2; half > 0; half /= 2) {
            v = v.add(v.slice(half));
        }
        return v.lane(0);
    }

    private static FloatVector activate(FloatVector v, boolean relu) {
        return relu ? v.max(0f) : v;
    }

    @Override
    public float sumDeviations(float[] a, int from, int n, float shift) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int k = 0;
        // 4 accumulators: hide the add latency
        for (; k <= n - 4 * L; k += 4 * L) {
            s0 = s0.add(load(a, from + k).sub(shift));
            s1 = s1.add(load(a, from + k + L).sub(shift));
            s2 = s2.add(load(a, from + k + 2 * L).sub(shift));
            s3 = s3.add(load(a, from + k + 3 * L).sub(shift));
        }
        for (; k <= n - L; k += L) {
            s0 = s0.add(load(a, from + k).sub(shift));
        }
        if (k < n) {
            // vector tail: masked-off lanes load as 0 and are not shifted
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            s1 = s1.add(load(a, from + k, m).sub(FloatVector.broadcast(SPECIES, shift), m));
        }
        return sumLanes(s0.add(s1).add(s2.add(s3)));
    }

    @Override
    public float sumSquaredDeviations(float[] a, int from, int n, float mean) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int k = 0;
        for (; k <= n - 4 * L; k += 4 * L) {
            FloatVector d0 = load(a, from + k).sub(mean);
            FloatVector d1 = load(a, from + k + L).sub(mean);
            FloatVector d2 = load(a, from + k + 2 * L).sub(mean);
            FloatVector d3 = load(a, from + k + 3 * L).sub(mean);
            s0 = d0.fma(d0, s0);
            s1 = d1.fma(d1, s1);
            s2 = d2.fma(d2, s2);
            s3 = d3.fma(d3, s3);
        }
        for (; k <= n - L; k += L) {
            FloatVector d = load(a, from + k).sub(mean);
            s0 = d.fma(d, s0);
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            FloatVector d = load(a, from + k, m).sub(FloatVector.broadcast(SPECIES, mean), m);
            s1 = d.fma(d, s1);
        }
        return sumLanes(s0.add(s1).add(s2.add(s3)));
    }

    @Override
    public void normalize(float[] x, int xFrom, float[] y, int yFrom, int n, float mean, float scale,
            float beta, boolean relu) {
        int k = 0;
        for (; k <= n - L; k += L) {
            activate(load(x, xFrom + k).sub(mean).fma(scale, beta), relu).intoArray(y, yFrom + k);
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            activate(load(x, xFrom + k, m).sub(mean).fma(scale, beta), relu).intoArray(y, yFrom + k, m);
        }
    }

    @Override
    public void scaleShift(float[] x, int xFrom, float[] y, int yFrom, int n, float scale, float shift,
            boolean relu) {
        int k = 0;
        for (; k <= n - L; k += L) {
            activate(load(x, xFrom + k).fma(scale, shift), relu).intoArray(y, yFrom + k);
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            activate(load(x, xFrom + k, m).fma(scale, shift), relu).intoArray(y, yFrom + k, m);
        }
    }

    @Override
    public float sumGradient(float[] dy, int dyFrom, float[] y, int yFrom, int n) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        int k = 0;
        // 2 accumulators: hide the add latency
        for (; k <= n - 2 * L; k += 2 * L) {
            s0 = s0.add(gradient(load(dy, dyFrom + k), y, yFrom + k));
            s1 = s1.add(gradient(load(dy, dyFrom + k + L), y, yFrom + k + L));
        }
        for (; k <= n - L; k += L) {
            s0 = s0.add(gradient(load(dy, dyFrom + k), y, yFrom + k));
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            s1 = s1.add(gradient(load(dy, dyFrom + k, m), y, yFrom + k, m));
        }
        return sumLanes(s0.add(s1));
    }

    @Override
    public float sumGradientDeviation(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            int n, float mean) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        int k = 0;
        for (; k <= n - 2 * L; k += 2 * L) {
            s0 = gradient(load(dy, dyFrom + k), y, yFrom + k).fma(load(x, xFrom + k).sub(mean), s0);
            s1 = gradient(load(dy, dyFrom + k + L), y, yFrom + k + L).fma(load(x, xFrom + k + L).sub(mean), s1);
        }
        for (; k <= n - L; k += L) {
            s0 = gradient(load(dy, dyFrom + k), y, yFrom + k).fma(load(x, xFrom + k).sub(mean), s0);
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            FloatVector d = gradient(load(dy, dyFrom + k, m), y, yFrom + k, m);
            s1 = d.fma(load(x, xFrom + k, m).sub(mean), s1);
        }
        return sumLanes(s0.add(s1));
    }

    @Override
    public void gradientSums(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom, int n,
            float mean, double[] sums) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector t0 = s0;
        FloatVector t1 = s0;
        int k = 0;
        // 2 accumulators per sum: hide the add latency
        for (; k <= n - 2 * L; k += 2 * L) {
            FloatVector d0 = gradient(load(dy, dyFrom + k), y, yFrom + k);
            FloatVector d1 = gradient(load(dy, dyFrom + k + L), y, yFrom + k + L);
            s0 = s0.add(d0);
            s1 = s1.add(d1);
            t0 = d0.fma(load(x, xFrom + k).sub(mean), t0);
            t1 = d1.fma(load(x, xFrom + k + L).sub(mean), t1);
        }
        for (; k <= n - L; k += L) {
            FloatVector d = gradient(load(dy, dyFrom + k), y, yFrom + k);
            s0 = s0.add(d);
            t0 = d.fma(load(x, xFrom + k).sub(mean), t0);
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            FloatVector d = gradient(load(dy, dyFrom + k, m), y, yFrom + k, m);
            s1 = s1.add(d);
            t1 = d.fma(load(x, xFrom + k, m).sub(mean), t1);
        }
        sums[0] += sumLanes(s0.add(s1));
        sums[1] += sumLanes(t0.add(t1));
    }

    @Override
    public void gradientApply(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            float[] dx, int dxFrom, int n, float mean, float a, float b, float c) {
        FloatVector av = FloatVector.broadcast(SPECIES, a);
        int k = 0;
        for (; k <= n - L; k += L) {
            FloatVector d = gradient(load(dy, dyFrom + k), y, yFrom + k);
            FloatVector t = load(x, xFrom + k).sub(mean).fma(b, c);
            d.fma(av, t.neg()).intoArray(dx, dxFrom + k);
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            FloatVector d = gradient(load(dy, dyFrom + k, m), y, yFrom + k, m);
            FloatVector t = load(x, xFrom + k, m).sub(mean).fma(b, c);
            d.fma(av, t.neg()).intoArray(dx, dxFrom + k, m);
        }
    }

    @Override
    public void sumDeviationsRows(float[] a, int base, int rows, int stride, int width, float[] shift,
            float[] out, int cFrom) {
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = SPECIES.indexInRange(j, width);
            FloatVector k0 = load(shift, cFrom + j, m);
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            int r = 0;
            // 4 rows a step into 4 accumulators: hide the add latency
            for (; r <= rows - 4; r += 4) {
                int at = base + r * stride + j;
                s0 = s0.add(load(a, at, m).sub(k0));
                s1 = s1.add(load(a, at + stride, m).sub(k0));
                s2 = s2.add(load(a, at + 2 * stride, m).sub(k0));
                s3 = s3.add(load(a, at + 3 * stride, m).sub(k0));
            }
            for (; r < rows; r++) {
                s0 = s0.add(load(a, base + r * stride + j, m).sub(k0));
            }
            s0.add(s1).add(s2.add(s3)).intoArray(out, cFrom + j, m);
        }
    }

    @Override
    public void sumSquaredDeviationsRows(float[] a, int base, int rows, int stride, int width,
            float[] mean, float[] out, int cFrom) {
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = SPECIES.indexInRange(j, width);
            FloatVector mu = load(mean, cFrom + j, m);
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            int r = 0;
            for (; r <= rows - 4; r += 4) {
                int at = base + r * stride + j;
                FloatVector d0 = load(a, at, m).sub(mu);
                FloatVector d1 = load(a, at + stride, m).sub(mu);
                FloatVector d2 = load(a, at + 2 * stride, m).sub(mu);
                FloatVector d3 = load(a, at + 3 * stride, m).sub(mu);
                s0 = d0.fma(d0, s0);
                s1 = d1.fma(d1, s1);
                s2 = d2.fma(d2, s2);
                s3 = d3.fma(d3, s3);
            }
            for (; r < rows; r++) {
                FloatVector d = load(a, base + r * stride + j, m).sub(mu);
                s0 = d.fma(d, s0);
            }
            s0.add(s1).add(s2.add(s3)).intoArray(out, cFrom + j, m);
        }
    }

    @Override
    public void normalizeRows(float[] x, int xBase, float[] y, int yBase, int rows, int stride, int width,
            float[] mean, float[] scale, float[] beta, int cFrom, boolean relu) {
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = SPECIES.indexInRange(j, width);
            FloatVector mu = load(mean, cFrom + j, m);
            FloatVector sc = load(scale, cFrom + j, m);
            FloatVector be = load(beta, cFrom + j, m);
            for (int r = 0; r < rows; r++) {
                int at = r * stride + j;
                activate(load(x, xBase + at, m).sub(mu).fma(sc, be), relu).intoArray(y, yBase + at, m);
            }
        }
    }

    @Override
    public void scaleShiftRows(float[] x, int xBase, float[] y, int yBase, int rows, int stride, int width,
            float[] scale, float[] shift, int cFrom, boolean relu) {
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = SPECIES.indexInRange(j, width);
            FloatVector sc = load(scale, cFrom + j, m);
            FloatVector sh = load(shift, cFrom + j, m);
            for (int r = 0; r < rows; r++) {
                int at = r * stride + j;
                activate(load(x, xBase + at, m).fma(sc, sh), relu).intoArray(y, yBase + at, m);
            }
        }
    }

    @Override
    public void gradientSumsRows(float[] x, int xBase, float[] dy, int dyBase, float[] y, int yBase,
            int rows, int stride, int width, float[] mean, float[] sumDy, float[] sumDyDev, int cFrom) {
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = SPECIES.indexInRange(j, width);
            FloatVector mu = load(mean, cFrom + j, m);
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector s1 = s0;
            FloatVector t0 = s0;
            FloatVector t1 = s0;
            int r = 0;
            // 2 rows a step into 2 accumulators per sum: hide the add latency
            for (; r <= rows - 2; r += 2) {
                int at = r * stride + j;
                FloatVector d0 = gradient(load(dy, dyBase + at, m), y, yBase + at, m);
                FloatVector d1 = gradient(load(dy, dyBase + at + stride, m), y, yBase + at + stride, m);
                s0 = s0.add(d0);
                s1 = s1.add(d1);
                t0 = d0.fma(load(x, xBase + at, m).sub(mu), t0);
                t1 = d1.fma(load(x, xBase + at + stride, m).sub(mu), t1);
            }
            if (r < rows) {
                int at = r * stride + j;
                FloatVector d = gradient(load(dy, dyBase + at, m), y, yBase + at, m);
                s0 = s0.add(d);
                t0 = d.fma(load(x, xBase + at, m).sub(mu), t0);
            }
            s0.add(s1).intoArray(sumDy, cFrom + j, m);
            t0.add(t1).intoArray(sumDyDev, cFrom + j, m);
        }
    }

    @Override
    public void gradientApplyRows(float[] x, int xBase, float[] dy, int dyBase, float[] y, int yBase,
            float[] dx, int dxBase, int rows, int stride, int width, float[] mean, float[] a,
            float[] b, float[] c, int cFrom) {
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = SPECIES.indexInRange(j, width);
            FloatVector mu = load(mean, cFrom + j, m);
            FloatVector av = load(a, cFrom + j, m);
            FloatVector bv = load(b, cFrom + j, m);
            FloatVector cv = load(c, cFrom + j, m);
            for (int r = 0; r < rows; r++) {
                int at = r * stride + j;
                FloatVector d = gradient(load(dy, dyBase + at, m), y, yBase + at, m);
                FloatVector t = load(x, xBase + at, m).sub(mu).fma(bv, cv);
                d.fma(av, t.neg()).intoArray(dx, dxBase + at, m);
            }
        }
    }
}
