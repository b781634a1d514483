package io.github.batchnorm4j.internal.loops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The backward loops of {@link PanamaLoops} once more, on float arrays: PanamaLoops calls them
 * when every tensor of a call is a heap segment over a float[] (every array span is). C2
 * compiles these loops, several loads and a store a vector, measurably slower on heap segments
 * than on the arrays under them; the forward loops show no such gap (jmh/RESULTS.md, "Backward
 * loops on arrays"). The bodies repeat PanamaLoops' line for line, so the bits are the same, and
 * so does their split into methods, whose reasons PanamaLoops gives; one body over both kinds of
 * memory would need a memory argument that boxes its vectors. The caller has checked the bounds.
 */
final class PanamaArrayBackward {
    private PanamaArrayBackward() {}

    private static final VectorSpecies<Float> SPECIES = PanamaLoops.SPECIES;
    private static final int L = SPECIES.length();
    private static final int ROWS = PanamaLoops.ROWS;
    private static final int PAIRWISE_STEPS = PanamaLoops.PAIRWISE_STEPS;

    private static FloatVector load(float[] a, int at) {
        return FloatVector.fromArray(SPECIES, a, at);
    }

    private static FloatVector load(float[] a, int at, VectorMask<Float> m) {
        return FloatVector.fromArray(SPECIES, a, at, m);
    }

    private static void store(FloatVector v, float[] a, int at) {
        v.intoArray(a, at);
    }

    private static void store(FloatVector v, float[] a, int at, VectorMask<Float> m) {
        v.intoArray(a, at, m);
    }

    private static VectorShuffle<Float> pairwise(int k) {
        return PanamaLoops.pairwise(k);
    }

    /** {@link Loops#gradientSums} on arrays. */
    static void gradientSums(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom, int runs, int length,
            int stride, float mean, double[] sums) {
        if (y == null) {
            gradientSums(x, xFrom, dy, dyFrom, runs, length, stride, mean, sums);
        } else {
            gradientSumsMasked(x, xFrom, dy, dyFrom, y, yFrom, runs, length, stride, mean, sums);
        }
    }

    /** {@link Loops#gradientApply} on arrays. */
    static void gradientApply(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom, float[] dx, int dxFrom,
            int runs, int length, int stride, float mean, float a, float b, float c) {
        if (y == null) {
            gradientApply(x, xFrom, dy, dyFrom, dx, dxFrom, runs, length, stride, mean, a, b, c);
        } else {
            gradientApplyMasked(x, xFrom, dy, dyFrom, y, yFrom, dx, dxFrom, runs, length, stride, mean, a, b, c);
        }
    }

    /** {@link #gradientSums} with the ReLU mask, apart: both bodies in one method boxed its vectors. */
    private static void gradientSumsMasked(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom, int runs,
            int length, int stride, float mean, double[] sums) {
        // dy' = dy where y > 0, written out at each use
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector s0 = zero;
        FloatVector s1 = zero;
        FloatVector s2 = zero;
        FloatVector s3 = zero;
        FloatVector t0 = zero;
        FloatVector t1 = zero;
        FloatVector t2 = zero;
        FloatVector t3 = zero;
        for (int r = 0; r < runs; r++) {
            int xa = xFrom + r * stride;
            int ga = dyFrom + r * stride;
            int sa = yFrom + r * stride;
            int k = 0;
            // 4 accumulators per sum
            for (; k <= length - 4 * L; k += 4 * L) {
                FloatVector d0 = zero.blend(load(dy, ga + k), load(y, sa + k).compare(VectorOperators.GT, 0f));
                FloatVector d1 = zero.blend(load(dy, ga + k + L), load(y, sa + k + L).compare(VectorOperators.GT, 0f));
                FloatVector d2 = zero.blend(load(dy, ga + k + 2 * L), load(y, sa + k + 2 * L).compare(VectorOperators.GT, 0f));
                FloatVector d3 = zero.blend(load(dy, ga + k + 3 * L), load(y, sa + k + 3 * L).compare(VectorOperators.GT, 0f));
                s0 = s0.add(d0);
                s1 = s1.add(d1);
                s2 = s2.add(d2);
                s3 = s3.add(d3);
                t0 = d0.fma(load(x, xa + k).sub(mu), t0);
                t1 = d1.fma(load(x, xa + k + L).sub(mu), t1);
                t2 = d2.fma(load(x, xa + k + 2 * L).sub(mu), t2);
                t3 = d3.fma(load(x, xa + k + 3 * L).sub(mu), t3);
            }
            for (; k <= length - L; k += L) {
                FloatVector d = zero.blend(load(dy, ga + k), load(y, sa + k).compare(VectorOperators.GT, 0f));
                s0 = s0.add(d);
                t0 = d.fma(load(x, xa + k).sub(mu), t0);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = zero.blend(load(dy, ga + k, m), load(y, sa + k, m).compare(VectorOperators.GT, 0f));
                s1 = s1.add(d);
                t1 = d.fma(load(x, xa + k, m).sub(mu), t1);
            }
        }
        FloatVector s = s0.add(s1).add(s2.add(s3));
        for (int k = 0; k < PAIRWISE_STEPS; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        sums[0] = s.lane(0);
        FloatVector t = t0.add(t1).add(t2.add(t3));
        for (int k = 0; k < PAIRWISE_STEPS; k++) {
            t = t.add(t.rearrange(pairwise(k)));
        }
        sums[1] = t.lane(0);
    }

    /** {@link #gradientApply} with the ReLU mask, apart: both bodies in one method boxed its vectors. */
    private static void gradientApplyMasked(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            float[] dx, int dxFrom, int runs, int length, int stride, float mean, float a, float b, float c) {
        // dy' = dy where y > 0, written out at each use
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector av = FloatVector.broadcast(SPECIES, a);
        FloatVector bv = FloatVector.broadcast(SPECIES, b);
        FloatVector cv = FloatVector.broadcast(SPECIES, c);
        for (int r = 0; r < runs; r++) {
            int xa = xFrom + r * stride;
            int ga = dyFrom + r * stride;
            int sa = yFrom + r * stride;
            int da = dxFrom + r * stride;
            int k = 0;
            for (; k <= length - L; k += L) {
                FloatVector d = zero.blend(load(dy, ga + k), load(y, sa + k).compare(VectorOperators.GT, 0f));
                FloatVector t = load(x, xa + k).sub(mu).fma(bv, cv);
                store(d.sub(t).mul(av), dx, da + k);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = zero.blend(load(dy, ga + k, m), load(y, sa + k, m).compare(VectorOperators.GT, 0f));
                FloatVector t = load(x, xa + k, m).sub(mu).fma(bv, cv);
                store(d.sub(t).mul(av), dx, da + k, m);
            }
        }
    }

    private static void gradientSums(float[] x, int xFrom, float[] dy, int dyFrom, int runs, int length, int stride,
            float mean, double[] sums) {
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector t0 = s0;
        FloatVector t1 = s0;
        FloatVector t2 = s0;
        FloatVector t3 = s0;
        for (int r = 0; r < runs; r++) {
            int xa = xFrom + r * stride;
            int ga = dyFrom + r * stride;
            int k = 0;
            for (; k <= length - 4 * L; k += 4 * L) {
                FloatVector d0 = load(dy, ga + k);
                FloatVector d1 = load(dy, ga + k + L);
                FloatVector d2 = load(dy, ga + k + 2 * L);
                FloatVector d3 = load(dy, ga + k + 3 * L);
                s0 = s0.add(d0);
                s1 = s1.add(d1);
                s2 = s2.add(d2);
                s3 = s3.add(d3);
                t0 = d0.fma(load(x, xa + k).sub(mu), t0);
                t1 = d1.fma(load(x, xa + k + L).sub(mu), t1);
                t2 = d2.fma(load(x, xa + k + 2 * L).sub(mu), t2);
                t3 = d3.fma(load(x, xa + k + 3 * L).sub(mu), t3);
            }
            for (; k <= length - L; k += L) {
                FloatVector d = load(dy, ga + k);
                s0 = s0.add(d);
                t0 = d.fma(load(x, xa + k).sub(mu), t0);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = load(dy, ga + k, m);
                s1 = s1.add(d);
                t1 = d.fma(load(x, xa + k, m).sub(mu), t1);
            }
        }
        FloatVector s = s0.add(s1).add(s2.add(s3));
        for (int k = 0; k < PAIRWISE_STEPS; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        sums[0] = s.lane(0);
        FloatVector t = t0.add(t1).add(t2.add(t3));
        for (int k = 0; k < PAIRWISE_STEPS; k++) {
            t = t.add(t.rearrange(pairwise(k)));
        }
        sums[1] = t.lane(0);
    }

    private static void gradientApply(float[] x, int xFrom, float[] dy, int dyFrom, float[] dx, int dxFrom, int runs,
            int length, int stride, float mean, float a, float b, float c) {
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector av = FloatVector.broadcast(SPECIES, a);
        FloatVector bv = FloatVector.broadcast(SPECIES, b);
        FloatVector cv = FloatVector.broadcast(SPECIES, c);
        for (int r = 0; r < runs; r++) {
            int xa = xFrom + r * stride;
            int ga = dyFrom + r * stride;
            int da = dxFrom + r * stride;
            int k = 0;
            for (; k <= length - L; k += L) {
                FloatVector t = load(x, xa + k).sub(mu).fma(bv, cv);
                store(load(dy, ga + k).sub(t).mul(av), dx, da + k);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector t = load(x, xa + k, m).sub(mu).fma(bv, cv);
                store(load(dy, ga + k, m).sub(t).mul(av), dx, da + k, m);
            }
        }
    }

    static void gradientSumsRows(float[] x, int xBase, float[] dy, int dyBase, float[] y, int yBase,
            int rows, int stride, int width, float[] mean, float[] sumDy, float[] sumDyDev, int cFrom) {
        java.util.Arrays.fill(sumDy, cFrom, cFrom + width, 0f);
        java.util.Arrays.fill(sumDyDev, cFrom, cFrom + width, 0f);
        int full = width - width % L;
        int r = 0;
        // four rows at a time for whole vectors, then the rest a row at a time; the edge vector
        // down all rows in a method of its own
        for (; r <= rows - ROWS; r += ROWS) {
            int row = r * stride;
            for (int j = 0; j < full; j += L) {
                if (y == null) {
                    addGradientSumsOfRows(x, xBase + row + j, dy, dyBase + row + j, stride, mean, sumDy,
                            sumDyDev, cFrom + j);
                } else {
                    addGradientSumsOfRows(x, xBase + row + j, dy, dyBase + row + j, y, yBase + row + j, stride,
                            mean, sumDy, sumDyDev, cFrom + j);
                }
            }
        }
        for (; r < rows; r++) {
            int row = r * stride;
            for (int j = 0; j < full; j += L) {
                if (y == null) {
                    addGradientSums(x, xBase + row + j, dy, dyBase + row + j, mean, sumDy, sumDyDev, cFrom + j);
                } else {
                    addGradientSums(x, xBase + row + j, dy, dyBase + row + j, y, yBase + row + j, L, mean,
                            sumDy, sumDyDev, cFrom + j);
                }
            }
        }
        if (full < width) {
            gradientSumsEdge(x, xBase + full, dy, dyBase + full, y, yBase + full, rows, stride, width - full,
                    mean, sumDy, sumDyDev, cFrom + full);
        }
    }

    /** Both sums of the last {@code lanes} channels of every row, a row at a time. */
    private static void gradientSumsEdge(float[] x, int xa, float[] dy, int da, float[] y, int ya, int rows,
            int stride, int lanes, float[] mean, float[] sumDy, float[] sumDyDev, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector mu = load(mean, c, m);
        FloatVector s = load(sumDy, c);
        FloatVector t = load(sumDyDev, c);
        for (int r = 0; r < rows; r++) {
            int at = r * stride;
            FloatVector d = load(dy, da + at, m);
            if (y != null) {
                d = FloatVector.zero(SPECIES).blend(d, load(y, ya + at, m).compare(VectorOperators.GT, 0f));
            }
            s = s.add(d);
            t = d.fma(load(x, xa + at, m).sub(mu), t);
        }
        s.intoArray(sumDy, c);
        t.intoArray(sumDyDev, c);
    }

    /** Four rows of one vector of channels, added to the sums once. */
    private static void addGradientSumsOfRows(float[] x, int xa, float[] dy, int da, int stride, float[] mean,
            float[] sumDy, float[] sumDyDev, int c) {
        FloatVector mu = load(mean, c);
        FloatVector d0 = load(dy, da);
        FloatVector d1 = load(dy, da + stride);
        FloatVector d2 = load(dy, da + 2 * stride);
        FloatVector d3 = load(dy, da + 3 * stride);
        load(sumDy, c).add(d0.add(d1).add(d2.add(d3))).intoArray(sumDy, c);
        FloatVector t01 = d1.fma(load(x, xa + stride).sub(mu), d0.mul(load(x, xa).sub(mu)));
        FloatVector t23 = d3.fma(load(x, xa + 3 * stride).sub(mu), d2.mul(load(x, xa + 2 * stride).sub(mu)));
        load(sumDyDev, c).add(t01.add(t23)).intoArray(sumDyDev, c);
    }

    /** Four rows with ReLU: dy' is dy where y > 0. */
    private static void addGradientSumsOfRows(float[] x, int xa, float[] dy, int da, float[] y, int ya, int stride,
            float[] mean, float[] sumDy, float[] sumDyDev, int c) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector mu = load(mean, c);
        FloatVector d0 = zero.blend(load(dy, da), load(y, ya).compare(VectorOperators.GT, 0f));
        FloatVector d1 = zero.blend(load(dy, da + stride), load(y, ya + stride).compare(VectorOperators.GT, 0f));
        FloatVector d2 = zero.blend(load(dy, da + 2 * stride), load(y, ya + 2 * stride).compare(VectorOperators.GT, 0f));
        FloatVector d3 = zero.blend(load(dy, da + 3 * stride), load(y, ya + 3 * stride).compare(VectorOperators.GT, 0f));
        load(sumDy, c).add(d0.add(d1).add(d2.add(d3))).intoArray(sumDy, c);
        FloatVector t01 = d1.fma(load(x, xa + stride).sub(mu), d0.mul(load(x, xa).sub(mu)));
        FloatVector t23 = d3.fma(load(x, xa + 3 * stride).sub(mu), d2.mul(load(x, xa + 2 * stride).sub(mu)));
        load(sumDyDev, c).add(t01.add(t23)).intoArray(sumDyDev, c);
    }

    private static void addGradientSums(float[] x, int xa, float[] dy, int da, float[] mean, float[] sumDy,
            float[] sumDyDev, int c) {
        FloatVector d = load(dy, da);
        load(sumDy, c).add(d).intoArray(sumDy, c);
        d.fma(load(x, xa).sub(load(mean, c)), load(sumDyDev, c)).intoArray(sumDyDev, c);
    }

    private static void addGradientSums(float[] x, int xa, float[] dy, int da, float[] y, int ya, int lanes,
            float[] mean, float[] sumDy, float[] sumDyDev, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector d = load(dy, da, m);
        if (y != null) {
            d = FloatVector.zero(SPECIES).blend(d, load(y, ya, m).compare(VectorOperators.GT, 0f));
        }
        load(sumDy, c).add(d).intoArray(sumDy, c);
        d.fma(load(x, xa, m).sub(load(mean, c, m)), load(sumDyDev, c)).intoArray(sumDyDev, c);
    }

    static void gradientApplyRows(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            float[] dx, int dxFrom, int rows, int width, float[] mean, float[] a, float[] b, float[] c) {
        // each body in a method of its own, as in PanamaLoops
        int n = rows * width;
        int k = n - n % L;
        if (y == null) {
            gradientApplyFlat(x, xFrom, dy, dyFrom, dx, dxFrom, k, width, mean, a, b, c);
        } else {
            gradientApplyFlat(x, xFrom, dy, dyFrom, y, yFrom, dx, dxFrom, k, width, mean, a, b, c);
        }
        if (k < n) {
            gradientApplyEnd(x, xFrom + k, dy, dyFrom + k, y, yFrom + k, dx, dxFrom + k, n - k, k % width,
                    mean, a, b, c);
        }
    }

    private static void gradientApplyFlat(float[] x, int xFrom, float[] dy, int dyFrom, float[] dx, int dxFrom,
            int n, int width, float[] mean, float[] a, float[] b, float[] c) {
        int step = L % width;
        int j = 0;
        for (int k = 0; k < n; k += L) {
            FloatVector t = load(x, xFrom + k).sub(load(mean, j)).fma(load(b, j), load(c, j));
            store(load(dy, dyFrom + k).sub(t).mul(load(a, j)), dx, dxFrom + k);
            j += step;
            j = j >= width ? j - width : j;
        }
    }

    /** With ReLU: dy' is dy where y > 0. */
    private static void gradientApplyFlat(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            float[] dx, int dxFrom, int n, int width, float[] mean, float[] a, float[] b, float[] c) {
        int step = L % width;
        int j = 0;
        for (int k = 0; k < n; k += L) {
            FloatVector d = FloatVector.zero(SPECIES).blend(load(dy, dyFrom + k),
                    load(y, yFrom + k).compare(VectorOperators.GT, 0f));
            FloatVector t = load(x, xFrom + k).sub(load(mean, j)).fma(load(b, j), load(c, j));
            store(d.sub(t).mul(load(a, j)), dx, dxFrom + k);
            j += step;
            j = j >= width ? j - width : j;
        }
    }

    /** The last {@code lanes} values of a block, from channel j on. */
    private static void gradientApplyEnd(float[] x, int xa, float[] dy, int da, float[] y, int ya,
            float[] dx, int dxa, int lanes, int j, float[] mean, float[] a, float[] b, float[] c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector d = load(dy, da, m);
        if (y != null) {
            d = FloatVector.zero(SPECIES).blend(d, load(y, ya, m).compare(VectorOperators.GT, 0f));
        }
        FloatVector t = load(x, xa, m).sub(load(mean, j, m)).fma(load(b, j, m), load(c, j, m));
        store(d.sub(t).mul(load(a, j, m)), dx, dxa, m);
    }
}
