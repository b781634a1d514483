package io.github.batchnorm4j.internal.loops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Loops} with the Vector API. Every run loop has one shape: a main loop of four vectors a
 * step into four accumulators, a one-vector loop, then a masked tail. Row sums take the
 * channels a vector at a time (masked at the edge) and walk the rows inside; the row loops that
 * write walk a block of whole rows as one flat loop. The shapes
 * repeat across operations on purpose: folding them into a shared abstraction would box the
 * vectors and cost the speed these loops exist for.
 */
public final class PanamaLoops implements Loops {
    /**
     * The preferred species, or the width in bits named by {@code -Dbatchnorm4j.vectorBits}
     * (64, 128, 256 or 512; KernelProvider warns of any other value, which leaves the preferred).
     * A static final constant: a species that is not one boxes vectors.
     */
    static final VectorSpecies<Float> SPECIES = species(System.getProperty("batchnorm4j.vectorBits"));
    private static final int L = SPECIES.length();
    /**
     * Rows the row sums take at a time: each vector of per-channel sums is loaded and stored
     * once for four rows of x, not once a row (that load and store bound the loop, not memory).
     */
    static final int ROWS = 4;

    @Override
    public int lanes() {
        return L;
    }

    private static VectorSpecies<Float> species(String bits) {
        return switch (bits == null ? "" : bits) {
            case "64" -> FloatVector.SPECIES_64;
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> FloatVector.SPECIES_PREFERRED;
        };
    }

    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    // tensors: floats in a segment, at a float index
    private static FloatVector load(MemorySegment a, long at) {
        return FloatVector.fromMemorySegment(SPECIES, a, at * Float.BYTES, ORDER);
    }

    private static FloatVector load(MemorySegment a, long at, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(SPECIES, a, at * Float.BYTES, ORDER, m);
    }

    private static void store(FloatVector v, MemorySegment a, long at) {
        v.intoMemorySegment(a, at * Float.BYTES, ORDER);
    }

    private static void store(FloatVector v, MemorySegment a, long at, VectorMask<Float> m) {
        v.intoMemorySegment(a, at * Float.BYTES, ORDER, m);
    }

    // per-channel arrays
    private static FloatVector load(float[] a, int at) {
        return FloatVector.fromArray(SPECIES, a, at);
    }

    private static FloatVector load(float[] a, int at, VectorMask<Float> m) {
        return FloatVector.fromArray(SPECIES, a, at, m);
    }

    /**
     * The shuffles that add up a vector's lanes in a fixed pairwise order: lane i plus lane i ^ d,
     * for d = L/2 down to 1, then lane 0 holds the sum. reduceLanes(ADD) leaves the order open,
     * and the interpreter and the JIT do use different orders: results would change once a loop
     * compiles. Each loop writes this reduction out rather than calling a method for it: in a
     * loop method past C2's node budget such a call is not inlined and boxes its vector. The
     * shuffles are constants: a shuffle made per call (as slice makes one) is allocated.
     */
    private static final VectorShuffle<?>[] PAIRWISE = pairwise();

    private static VectorShuffle<?>[] pairwise() {
        VectorShuffle<?>[] swaps = new VectorShuffle<?>[Integer.numberOfTrailingZeros(L)];
        for (int k = 0; k < swaps.length; k++) {
            int d = L >> (k + 1);
            swaps[k] = VectorShuffle.fromOp(SPECIES, i -> i ^ d);
        }
        return swaps;
    }

    /** Shuffles in {@link #PAIRWISE}: log2 of the lanes. */
    static final int PAIRWISE_STEPS = PAIRWISE.length;

    @SuppressWarnings("unchecked")
    static VectorShuffle<Float> pairwise(int k) {
        return (VectorShuffle<Float>) PAIRWISE[k];
    }

    /** The float[] under a heap segment, else null: native and read-only segments have none. */
    private static float[] floats(MemorySegment segment) {
        return segment != null && segment.heapBase().orElse(null) instanceof float[] array ? array : null;
    }

    /**
     * Whether every tensor given is a heap segment over a float[] ({@code y} and {@code dx} may
     * be null, for absent): then the backward loops run on the arrays (see PanamaArrayBackward).
     */
    private static boolean onArrays(MemorySegment x, MemorySegment dy, MemorySegment y, MemorySegment dx) {
        return floats(x) != null && floats(dy) != null && (y == null || floats(y) != null)
                && (dx == null || floats(dx) != null);
    }

    /** The index in {@link #floats}' array of float {@code from} of the segment. */
    private static int index(MemorySegment segment, long from) {
        return segment == null ? 0 : Math.toIntExact(segment.address() / Float.BYTES + from);
    }

    private static FloatVector activate(FloatVector v, boolean relu) {
        return relu ? v.max(0f) : v;
    }

    @Override
    public float sumDeviations(MemorySegment a, long from, int runs, int length, int stride, float shift) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("a", a.byteSize(), from, extent);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector k0 = FloatVector.broadcast(SPECIES, shift);
        for (int r = 0; r < runs; r++) {
            long at = from + (long) r * stride;
            int k = 0;
            // 4 accumulators: hide the add latency
            for (; k <= length - 4 * L; k += 4 * L) {
                s0 = s0.add(load(a, at + k).sub(k0));
                s1 = s1.add(load(a, at + k + L).sub(k0));
                s2 = s2.add(load(a, at + k + 2 * L).sub(k0));
                s3 = s3.add(load(a, at + k + 3 * L).sub(k0));
            }
            for (; k <= length - L; k += L) {
                s0 = s0.add(load(a, at + k).sub(k0));
            }
            if (k < length) {
                // vector tail: masked-off lanes load as 0 and are not shifted
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                s1 = s1.add(load(a, at + k, m).sub(k0, m));
            }
        }
        FloatVector s = s0.add(s1).add(s2.add(s3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        return s.lane(0);
    }

    @Override
    public void deviationSums(MemorySegment a, long from, int runs, int length, int stride, float shift, double[] sums) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("a", a.byteSize(), from, extent);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector q0 = s0;
        FloatVector q1 = s0;
        FloatVector q2 = s0;
        FloatVector q3 = s0;
        FloatVector k0 = FloatVector.broadcast(SPECIES, shift);
        for (int r = 0; r < runs; r++) {
            long at = from + (long) r * stride;
            int k = 0;
            // 4 accumulators per sum: hide the add latency (2 ran at half a plain read's speed)
            for (; k <= length - 4 * L; k += 4 * L) {
                FloatVector d0 = load(a, at + k).sub(k0);
                FloatVector d1 = load(a, at + k + L).sub(k0);
                FloatVector d2 = load(a, at + k + 2 * L).sub(k0);
                FloatVector d3 = load(a, at + k + 3 * L).sub(k0);
                s0 = s0.add(d0);
                s1 = s1.add(d1);
                s2 = s2.add(d2);
                s3 = s3.add(d3);
                q0 = d0.fma(d0, q0);
                q1 = d1.fma(d1, q1);
                q2 = d2.fma(d2, q2);
                q3 = d3.fma(d3, q3);
            }
            for (; k <= length - L; k += L) {
                FloatVector d = load(a, at + k).sub(k0);
                s0 = s0.add(d);
                q0 = d.fma(d, q0);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = load(a, at + k, m).sub(k0, m);
                s1 = s1.add(d);
                q1 = d.fma(d, q1);
            }
        }
        FloatVector s = s0.add(s1).add(s2.add(s3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        sums[0] = s.lane(0);
        FloatVector t = q0.add(q1).add(q2.add(q3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            t = t.add(t.rearrange(pairwise(k)));
        }
        sums[1] = t.lane(0);
    }

    @Override
    public float sumSquaredDeviations(MemorySegment a, long from, int runs, int length, int stride, float mean) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("a", a.byteSize(), from, extent);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        for (int r = 0; r < runs; r++) {
            long at = from + (long) r * stride;
            int k = 0;
            for (; k <= length - 4 * L; k += 4 * L) {
                FloatVector d0 = load(a, at + k).sub(mu);
                FloatVector d1 = load(a, at + k + L).sub(mu);
                FloatVector d2 = load(a, at + k + 2 * L).sub(mu);
                FloatVector d3 = load(a, at + k + 3 * L).sub(mu);
                s0 = d0.fma(d0, s0);
                s1 = d1.fma(d1, s1);
                s2 = d2.fma(d2, s2);
                s3 = d3.fma(d3, s3);
            }
            for (; k <= length - L; k += L) {
                FloatVector d = load(a, at + k).sub(mu);
                s0 = d.fma(d, s0);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = load(a, at + k, m).sub(mu, m);
                s1 = d.fma(d, s1);
            }
        }
        FloatVector s = s0.add(s1).add(s2.add(s3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        return s.lane(0);
    }

    @Override
    public void normalize(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length, int stride,
            float mean, float scale, float beta, boolean relu) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector sc = FloatVector.broadcast(SPECIES, scale);
        FloatVector be = FloatVector.broadcast(SPECIES, beta);
        for (int r = 0; r < runs; r++) {
            long xa = xFrom + (long) r * stride;
            long ya = yFrom + (long) r * stride;
            int k = 0;
            for (; k <= length - L; k += L) {
                store(activate(load(x, xa + k).sub(mu).fma(sc, be), relu), y, ya + k);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                store(activate(load(x, xa + k, m).sub(mu).fma(sc, be), relu), y, ya + k, m);
            }
        }
    }

    @Override
    public void normalizeWithDeviationSums(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length,
            int stride, float mean, float scale, float beta, boolean relu, long nextFrom, float shift,
            double[] sums) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        Extent.check("x", x.byteSize(), nextFrom, extent);
        // deviationSums' loop, accumulator for accumulator, with normalize's body beside it
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector sc = FloatVector.broadcast(SPECIES, scale);
        FloatVector be = FloatVector.broadcast(SPECIES, beta);
        FloatVector k0 = FloatVector.broadcast(SPECIES, shift);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector q0 = s0;
        FloatVector q1 = s0;
        FloatVector q2 = s0;
        FloatVector q3 = s0;
        for (int r = 0; r < runs; r++) {
            long xa = xFrom + (long) r * stride;
            long ya = yFrom + (long) r * stride;
            long na = nextFrom + (long) r * stride;
            int k = 0;
            for (; k <= length - 4 * L; k += 4 * L) {
                FloatVector d0 = load(x, na + k).sub(k0);
                FloatVector d1 = load(x, na + k + L).sub(k0);
                FloatVector d2 = load(x, na + k + 2 * L).sub(k0);
                FloatVector d3 = load(x, na + k + 3 * L).sub(k0);
                s0 = s0.add(d0);
                s1 = s1.add(d1);
                s2 = s2.add(d2);
                s3 = s3.add(d3);
                q0 = d0.fma(d0, q0);
                q1 = d1.fma(d1, q1);
                q2 = d2.fma(d2, q2);
                q3 = d3.fma(d3, q3);
                store(activate(load(x, xa + k).sub(mu).fma(sc, be), relu), y, ya + k);
                store(activate(load(x, xa + k + L).sub(mu).fma(sc, be), relu), y, ya + k + L);
                store(activate(load(x, xa + k + 2 * L).sub(mu).fma(sc, be), relu), y, ya + k + 2 * L);
                store(activate(load(x, xa + k + 3 * L).sub(mu).fma(sc, be), relu), y, ya + k + 3 * L);
            }
            for (; k <= length - L; k += L) {
                FloatVector d = load(x, na + k).sub(k0);
                s0 = s0.add(d);
                q0 = d.fma(d, q0);
                store(activate(load(x, xa + k).sub(mu).fma(sc, be), relu), y, ya + k);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = load(x, na + k, m).sub(k0, m);
                s1 = s1.add(d);
                q1 = d.fma(d, q1);
                store(activate(load(x, xa + k, m).sub(mu).fma(sc, be), relu), y, ya + k, m);
            }
        }
        FloatVector s = s0.add(s1).add(s2.add(s3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        sums[0] = s.lane(0);
        FloatVector t = q0.add(q1).add(q2.add(q3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            t = t.add(t.rearrange(pairwise(k)));
        }
        sums[1] = t.lane(0);
    }

    @Override
    public void scaleShift(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length, int stride,
            float scale, float shift, boolean relu) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        FloatVector sc = FloatVector.broadcast(SPECIES, scale);
        FloatVector sh = FloatVector.broadcast(SPECIES, shift);
        for (int r = 0; r < runs; r++) {
            long xa = xFrom + (long) r * stride;
            long ya = yFrom + (long) r * stride;
            int k = 0;
            for (; k <= length - L; k += L) {
                store(activate(load(x, xa + k).fma(sc, sh), relu), y, ya + k);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                store(activate(load(x, xa + k, m).fma(sc, sh), relu), y, ya + k, m);
            }
        }
    }

    @Override
    public float sumGradient(MemorySegment dy, long dyFrom, MemorySegment y, long yFrom, int runs, int length, int stride) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("dy", dy.byteSize(), dyFrom, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yFrom, extent);
        }
        MemorySegment source = y == null ? dy : y;
        long sourceFrom = y == null ? dyFrom : yFrom;
        VectorMask<Float> keepAll = SPECIES.maskAll(y == null);
        // dy' = dy where the source is > 0 or keepAll is set (written out at each use: a helper
        // taking vectors can fail to inline, and then every vector is boxed)
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        for (int r = 0; r < runs; r++) {
            long ga = dyFrom + (long) r * stride;
            long sa = sourceFrom + (long) r * stride;
            int k = 0;
            // 2 accumulators: hide the add latency
            for (; k <= length - 2 * L; k += 2 * L) {
                s0 = s0.add(zero.blend(load(dy, ga + k), load(source, sa + k).compare(VectorOperators.GT, 0f).or(keepAll)));
                s1 = s1.add(zero.blend(load(dy, ga + k + L), load(source, sa + k + L).compare(VectorOperators.GT, 0f).or(keepAll)));
            }
            for (; k <= length - L; k += L) {
                s0 = s0.add(zero.blend(load(dy, ga + k), load(source, sa + k).compare(VectorOperators.GT, 0f).or(keepAll)));
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                s1 = s1.add(zero.blend(load(dy, ga + k, m), load(source, sa + k, m).compare(VectorOperators.GT, 0f).or(keepAll)));
            }
        }
        FloatVector s = s0.add(s1);
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        return s.lane(0);
    }

    @Override
    public float sumGradientDeviation(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            int runs, int length, int stride, float mean) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("dy", dy.byteSize(), dyFrom, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yFrom, extent);
        }
        MemorySegment source = y == null ? dy : y;
        long sourceFrom = y == null ? dyFrom : yFrom;
        VectorMask<Float> keepAll = SPECIES.maskAll(y == null);
        // dy' = dy where the source is > 0 or keepAll is set (written out at each use: a helper
        // taking vectors can fail to inline, and then every vector is boxed)
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        for (int r = 0; r < runs; r++) {
            long xa = xFrom + (long) r * stride;
            long ga = dyFrom + (long) r * stride;
            long sa = sourceFrom + (long) r * stride;
            int k = 0;
            for (; k <= length - 2 * L; k += 2 * L) {
                s0 = zero.blend(load(dy, ga + k), load(source, sa + k).compare(VectorOperators.GT, 0f).or(keepAll)).fma(load(x, xa + k).sub(mu), s0);
                s1 = zero.blend(load(dy, ga + k + L), load(source, sa + k + L).compare(VectorOperators.GT, 0f).or(keepAll))
                        .fma(load(x, xa + k + L).sub(mu), s1);
            }
            for (; k <= length - L; k += L) {
                s0 = zero.blend(load(dy, ga + k), load(source, sa + k).compare(VectorOperators.GT, 0f).or(keepAll)).fma(load(x, xa + k).sub(mu), s0);
            }
            if (k < length) {
                VectorMask<Float> m = SPECIES.indexInRange(k, length);
                FloatVector d = zero.blend(load(dy, ga + k, m), load(source, sa + k, m).compare(VectorOperators.GT, 0f).or(keepAll));
                s1 = d.fma(load(x, xa + k, m).sub(mu), s1);
            }
        }
        FloatVector s = s0.add(s1);
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        return s.lane(0);
    }

    @Override
    public void gradientSums(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom, int runs,
            int length, int stride, float mean, double[] sums) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("dy", dy.byteSize(), dyFrom, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yFrom, extent);
        }
        if (onArrays(x, dy, y, null)) {
            PanamaArrayBackward.gradientSums(floats(x), index(x, xFrom), floats(dy), index(dy, dyFrom),
                    floats(y), index(y, yFrom), runs, length, stride, mean, sums);
        } else if (y == null) {
            gradientSums(x, xFrom, dy, dyFrom, runs, length, stride, mean, sums);
        } else {
            gradientSumsMasked(x, xFrom, dy, dyFrom, y, yFrom, runs, length, stride, mean, sums);
        }
    }

    /** {@link #gradientSums} with the ReLU mask, apart: both bodies in one method boxed its vectors. */
    private static void gradientSumsMasked(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom, int runs,
            int length, int stride, float mean, double[] sums) {
        // dy' = dy where y > 0 (written out at each use: a helper taking vectors can fail to
        // inline, and then every vector is boxed)
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
            long xa = xFrom + (long) r * stride;
            long ga = dyFrom + (long) r * stride;
            long sa = yFrom + (long) r * stride;
            int k = 0;
            // 4 accumulators per sum, as in deviationSums
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
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        sums[0] = s.lane(0);
        FloatVector t = t0.add(t1).add(t2.add(t3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            t = t.add(t.rearrange(pairwise(k)));
        }
        sums[1] = t.lane(0);
    }

    @Override
    public void gradientApply(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            MemorySegment dx, long dxFrom, int runs, int length, int stride, float mean, float a, float b, float c) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("dy", dy.byteSize(), dyFrom, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yFrom, extent);
        }
        Extent.check("dx", dx.byteSize(), dxFrom, extent);
        if (onArrays(x, dy, y, dx)) {
            PanamaArrayBackward.gradientApply(floats(x), index(x, xFrom), floats(dy), index(dy, dyFrom),
                    floats(y), index(y, yFrom), floats(dx), index(dx, dxFrom), runs, length, stride, mean, a, b, c);
        } else if (y == null) {
            gradientApply(x, xFrom, dy, dyFrom, dx, dxFrom, runs, length, stride, mean, a, b, c);
        } else {
            gradientApplyMasked(x, xFrom, dy, dyFrom, y, yFrom, dx, dxFrom, runs, length, stride, mean, a, b, c);
        }
    }

    /** {@link #gradientApply} with the ReLU mask, apart: both bodies in one method boxed its vectors. */
    private static void gradientApplyMasked(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            MemorySegment dx, long dxFrom, int runs, int length, int stride, float mean, float a, float b, float c) {
        // dy' = dy where y > 0 (written out at each use: a helper taking vectors can fail to
        // inline, and then every vector is boxed)
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector av = FloatVector.broadcast(SPECIES, a);
        FloatVector bv = FloatVector.broadcast(SPECIES, b);
        FloatVector cv = FloatVector.broadcast(SPECIES, c);
        for (int r = 0; r < runs; r++) {
            long xa = xFrom + (long) r * stride;
            long ga = dyFrom + (long) r * stride;
            long sa = yFrom + (long) r * stride;
            long da = dxFrom + (long) r * stride;
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

    // Without ReLU, dy' is dy: gradientSums and gradientApply again without the mask. The loop
    // shapes repeat theirs; a shared body would keep the compare and blend that cost this one
    // two to four extra operations a vector.

    private void gradientSums(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, int runs, int length, int stride,
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
            long xa = xFrom + (long) r * stride;
            long ga = dyFrom + (long) r * stride;
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
        for (int k = 0; k < PAIRWISE.length; k++) {
            s = s.add(s.rearrange(pairwise(k)));
        }
        sums[0] = s.lane(0);
        FloatVector t = t0.add(t1).add(t2.add(t3));
        for (int k = 0; k < PAIRWISE.length; k++) {
            t = t.add(t.rearrange(pairwise(k)));
        }
        sums[1] = t.lane(0);
    }

    private void gradientApply(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment dx, long dxFrom, int runs,
            int length, int stride, float mean, float a, float b, float c) {
        FloatVector mu = FloatVector.broadcast(SPECIES, mean);
        FloatVector av = FloatVector.broadcast(SPECIES, a);
        FloatVector bv = FloatVector.broadcast(SPECIES, b);
        FloatVector cv = FloatVector.broadcast(SPECIES, c);
        for (int r = 0; r < runs; r++) {
            long xa = xFrom + (long) r * stride;
            long ga = dyFrom + (long) r * stride;
            long da = dxFrom + (long) r * stride;
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

    // Row loops walk row by row, so memory streams in order; per-channel sums accumulate in
    // their output arrays, which stay in L1. Each vector body lives in its own small method that
    // takes only arrays and ints: C1 runs out of registers on a method holding several (it
    // inlines the Vector API's Java fallbacks) and such a method then never reaches C2. The
    // full-vector and masked bodies repeat one shape on purpose: a shared one would need a mask
    // passed in, which boxes. At the channel edge the data is loaded masked (0 in lanes past the
    // width) but the sums are loaded and stored whole: a masked store does not forward to the
    // next row's load, and waiting for it stalls every row.
    // The two-sum sweeps take the edge vector down all rows in a loop of its own, its sums in
    // registers: called inside their row loops its masked body was boxed (JFR allocation samples).

    @Override
    public void sumDeviationsRows(MemorySegment a, long base, int rows, int stride, int width, float[] shift,
            float[] out, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("a", a.byteSize(), base, extent);
        java.util.Arrays.fill(out, cFrom, cFrom + width, 0f);
        int full = width - width % L;
        int r = 0;
        // as deviationSumsRows: four rows a step added pairwise, then a row at a time; the edge
        // vector down all rows a row at a time, in a small method of its own (larger ones box)
        for (; r <= rows - ROWS; r += ROWS) {
            long row = base + (long) r * stride;
            for (int j = 0; j < full; j += L) {
                addDeviationsOfRows(a, row + j, stride, shift, out, cFrom + j);
            }
        }
        for (; r < rows; r++) {
            long row = base + (long) r * stride;
            for (int j = 0; j < full; j += L) {
                addDeviations(a, row + j, shift, out, cFrom + j);
            }
        }
        if (full < width) {
            deviationsEdge(a, base + full, rows, stride, width - full, shift, out, cFrom + full);
        }
    }

    private static void addDeviationsOfRows(MemorySegment a, long at, int stride, float[] shift, float[] out, int c) {
        FloatVector k = load(shift, c);
        FloatVector d0 = load(a, at).sub(k);
        FloatVector d1 = load(a, at + stride).sub(k);
        FloatVector d2 = load(a, at + 2 * stride).sub(k);
        FloatVector d3 = load(a, at + 3 * stride).sub(k);
        load(out, c).add(d0.add(d1).add(d2.add(d3))).intoArray(out, c);
    }

    /** {@code out[c..] += a[at..] - shift[c..]}: the per-channel sums stay in L1 across rows. */
    private static void addDeviations(MemorySegment a, long at, float[] shift, float[] out, int c) {
        load(out, c).add(load(a, at).sub(load(shift, c))).intoArray(out, c);
    }

    private static void deviationsEdge(MemorySegment a, long at, int rows, int stride, int lanes, float[] shift,
            float[] out, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector k = load(shift, c, m);
        FloatVector s = load(out, c);
        for (int r = 0; r < rows; r++) {
            s = s.add(load(a, at + (long) r * stride, m).sub(k));
        }
        s.intoArray(out, c);
    }

    @Override
    public void deviationSumsRows(MemorySegment a, long base, int rows, int stride, int width, float[] shift,
            float[] sums, float[] squares, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("a", a.byteSize(), base, extent);
        java.util.Arrays.fill(sums, cFrom, cFrom + width, 0f);
        java.util.Arrays.fill(squares, cFrom, cFrom + width, 0f);
        int full = width - width % L;
        int r = 0;
        // whole vectors four rows at a time, then a row at a time; the edge vector down all rows
        // in a method of its own (called from inside these loops it was boxed: 33 KB allocated
        // per (7,17,13,13) forward)
        for (; r <= rows - ROWS; r += ROWS) {
            long row = base + (long) r * stride;
            for (int j = 0; j < full; j += L) {
                addDeviationSumsOfRows(a, row + j, stride, shift, sums, squares, cFrom + j);
            }
        }
        for (; r < rows; r++) {
            long row = base + (long) r * stride;
            for (int j = 0; j < full; j += L) {
                addDeviationSums(a, row + j, shift, sums, squares, cFrom + j);
            }
        }
        if (full < width) {
            deviationSumsEdge(a, base + full, rows, stride, width - full, shift, sums, squares, cFrom + full);
        }
    }

    /** Both shifted sums of the last {@code lanes} channels of every row, a row at a time. */
    private static void deviationSumsEdge(MemorySegment a, long at, int rows, int stride, int lanes, float[] shift,
            float[] sums, float[] squares, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector k = load(shift, c, m);
        FloatVector s = load(sums, c);
        FloatVector q = load(squares, c);
        for (int r = 0; r < rows; r++) {
            FloatVector d = load(a, at + (long) r * stride, m).sub(k);
            s = s.add(d);
            q = d.fma(d, q);
        }
        s.intoArray(sums, c);
        q.intoArray(squares, c);
    }

    /** Four rows' shifted values and squares of one vector of channels, added to the sums once. */
    private static void addDeviationSumsOfRows(MemorySegment a, long at, int stride, float[] shift, float[] sums,
            float[] squares, int c) {
        FloatVector k = load(shift, c);
        FloatVector d0 = load(a, at).sub(k);
        FloatVector d1 = load(a, at + stride).sub(k);
        FloatVector d2 = load(a, at + 2 * stride).sub(k);
        FloatVector d3 = load(a, at + 3 * stride).sub(k);
        load(sums, c).add(d0.add(d1).add(d2.add(d3))).intoArray(sums, c);
        FloatVector q01 = d1.fma(d1, d0.mul(d0));
        FloatVector q23 = d3.fma(d3, d2.mul(d2));
        load(squares, c).add(q01.add(q23)).intoArray(squares, c);
    }

    private static void addDeviationSums(MemorySegment a, long at, float[] shift, float[] sums, float[] squares, int c) {
        FloatVector d = load(a, at).sub(load(shift, c));
        load(sums, c).add(d).intoArray(sums, c);
        d.fma(d, load(squares, c)).intoArray(squares, c);
    }

    @Override
    public void sumSquaredDeviationsRows(MemorySegment a, long base, int rows, int stride, int width,
            float[] mean, float[] out, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("a", a.byteSize(), base, extent);
        java.util.Arrays.fill(out, cFrom, cFrom + width, 0f);
        int full = width - width % L;
        int r = 0;
        for (; r <= rows - ROWS; r += ROWS) {
            long row = base + (long) r * stride;
            for (int j = 0; j < full; j += L) {
                addSquaredDeviationsOfRows(a, row + j, stride, mean, out, cFrom + j);
            }
        }
        for (; r < rows; r++) {
            long row = base + (long) r * stride;
            for (int j = 0; j < full; j += L) {
                addSquaredDeviations(a, row + j, mean, out, cFrom + j);
            }
        }
        if (full < width) {
            squaredDeviationsEdge(a, base + full, rows, stride, width - full, mean, out, cFrom + full);
        }
    }

    private static void addSquaredDeviationsOfRows(MemorySegment a, long at, int stride, float[] mean, float[] out,
            int c) {
        FloatVector k = load(mean, c);
        FloatVector d0 = load(a, at).sub(k);
        FloatVector d1 = load(a, at + stride).sub(k);
        FloatVector d2 = load(a, at + 2 * stride).sub(k);
        FloatVector d3 = load(a, at + 3 * stride).sub(k);
        load(out, c).add(d1.fma(d1, d0.mul(d0)).add(d3.fma(d3, d2.mul(d2)))).intoArray(out, c);
    }

    private static void addSquaredDeviations(MemorySegment a, long at, float[] mean, float[] out, int c) {
        FloatVector d = load(a, at).sub(load(mean, c));
        d.fma(d, load(out, c)).intoArray(out, c);
    }

    private static void squaredDeviationsEdge(MemorySegment a, long at, int rows, int stride, int lanes, float[] mean,
            float[] out, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector k = load(mean, c, m);
        FloatVector q = load(out, c);
        for (int r = 0; r < rows; r++) {
            FloatVector d = load(a, at + (long) r * stride, m).sub(k);
            q = d.fma(d, q);
        }
        q.intoArray(out, c);
    }

    // The whole-row loops below share one shape: k walks the block a vector at a time and j, the
    // channel its first lane holds, steps by L modulo width (per-channel arrays are repeated, see
    // Loops); one masked vector ends the block. Each keeps its own copy: a body passed in as a
    // lambda would not inline into all of them.

    @Override
    public void normalizeRows(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int rows, int width,
            float[] mean, float[] scale, float[] beta, boolean relu) {
        long extent = (long) rows * width;
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        int n = rows * width;
        int step = L % width;
        int j = 0;
        int k = 0;
        for (; k <= n - L; k += L) {
            FloatVector v = load(x, xFrom + k).sub(load(mean, j)).fma(load(scale, j), load(beta, j));
            store(activate(v, relu), y, yFrom + k);
            j += step;
            j = j >= width ? j - width : j;
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            FloatVector v = load(x, xFrom + k, m).sub(load(mean, j, m)).fma(load(scale, j, m), load(beta, j, m));
            store(activate(v, relu), y, yFrom + k, m);
        }
    }

    @Override
    public void scaleShiftRows(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int rows, int width,
            float[] scale, float[] shift, boolean relu) {
        long extent = (long) rows * width;
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        int n = rows * width;
        int step = L % width;
        int j = 0;
        int k = 0;
        for (; k <= n - L; k += L) {
            store(activate(load(x, xFrom + k).fma(load(scale, j), load(shift, j)), relu), y, yFrom + k);
            j += step;
            j = j >= width ? j - width : j;
        }
        if (k < n) {
            VectorMask<Float> m = SPECIES.indexInRange(k, n);
            store(activate(load(x, xFrom + k, m).fma(load(scale, j, m), load(shift, j, m)), relu), y,
                    yFrom + k, m);
        }
    }

    // Backward rows: full vectors take a plain body, with or without ReLU; edge vectors take the
    // masked body (a mask built inside from a lane count, never passed in).

    @Override
    public void gradientSumsRows(MemorySegment x, long xBase, MemorySegment dy, long dyBase, MemorySegment y, long yBase,
            int rows, int stride, int width, float[] mean, float[] sumDy, float[] sumDyDev, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("x", x.byteSize(), xBase, extent);
        Extent.check("dy", dy.byteSize(), dyBase, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yBase, extent);
        }
        if (onArrays(x, dy, y, null)) {
            PanamaArrayBackward.gradientSumsRows(floats(x), index(x, xBase), floats(dy), index(dy, dyBase),
                    floats(y), index(y, yBase), rows, stride, width, mean, sumDy, sumDyDev, cFrom);
            return;
        }
        java.util.Arrays.fill(sumDy, cFrom, cFrom + width, 0f);
        java.util.Arrays.fill(sumDyDev, cFrom, cFrom + width, 0f);
        int full = width - width % L;
        int r = 0;
        // four rows at a time for whole vectors, then the rest a row at a time; the edge vector
        // goes down all rows in a method of its own (inside this one, C2 did not inline it and
        // boxed every edge vector: 117 KB allocated per (7,17,13,13) backward)
        for (; r <= rows - ROWS; r += ROWS) {
            long row = (long) r * stride;
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
            long row = (long) r * stride;
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
    private static void gradientSumsEdge(MemorySegment x, long xa, MemorySegment dy, long da, MemorySegment y, long ya, int rows,
            int stride, int lanes, float[] mean, float[] sumDy, float[] sumDyDev, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector mu = load(mean, c, m);
        FloatVector s = load(sumDy, c);
        FloatVector t = load(sumDyDev, c);
        for (int r = 0; r < rows; r++) {
            long at = (long) r * stride;
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
    private static void addGradientSumsOfRows(MemorySegment x, long xa, MemorySegment dy, long da, int stride, float[] mean,
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
    private static void addGradientSumsOfRows(MemorySegment x, long xa, MemorySegment dy, long da, MemorySegment y, long ya, int stride,
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

    private static void addGradientSums(MemorySegment x, long xa, MemorySegment dy, long da, float[] mean, float[] sumDy,
            float[] sumDyDev, int c) {
        FloatVector d = load(dy, da);
        load(sumDy, c).add(d).intoArray(sumDy, c);
        d.fma(load(x, xa).sub(load(mean, c)), load(sumDyDev, c)).intoArray(sumDyDev, c);
    }

    private static void addGradientSums(MemorySegment x, long xa, MemorySegment dy, long da, MemorySegment y, long ya, int lanes,
            float[] mean, float[] sumDy, float[] sumDyDev, int c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector d = load(dy, da, m);
        if (y != null) {
            d = FloatVector.zero(SPECIES).blend(d, load(y, ya, m).compare(VectorOperators.GT, 0f));
        }
        load(sumDy, c).add(d).intoArray(sumDy, c);
        d.fma(load(x, xa, m).sub(load(mean, c, m)), load(sumDyDev, c)).intoArray(sumDyDev, c);
    }

    @Override
    public void gradientApplyRows(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            MemorySegment dx, long dxFrom, int rows, int width, float[] mean, float[] a, float[] b, float[] c) {
        long extent = (long) rows * width;
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("dy", dy.byteSize(), dyFrom, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yFrom, extent);
        }
        Extent.check("dx", dx.byteSize(), dxFrom, extent);
        if (onArrays(x, dy, y, dx)) {
            PanamaArrayBackward.gradientApplyRows(floats(x), index(x, xFrom), floats(dy), index(dy, dyFrom),
                    floats(y), index(y, yFrom), floats(dx), index(dx, dxFrom), rows, width, mean, a, b, c);
            return;
        }
        // each body in a method of its own: in one method C2 stopped inlining the vector
        // intrinsics and boxed every vector (1.3 MB allocated per (7,17,13,13) backward)
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

    private static void gradientApplyFlat(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment dx, long dxFrom,
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
    private static void gradientApplyFlat(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            MemorySegment dx, long dxFrom, int n, int width, float[] mean, float[] a, float[] b, float[] c) {
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
    private static void gradientApplyEnd(MemorySegment x, long xa, MemorySegment dy, long da, MemorySegment y, long ya,
            MemorySegment dx, long dxa, int lanes, int j, float[] mean, float[] a, float[] b, float[] c) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        FloatVector d = load(dy, da, m);
        if (y != null) {
            d = FloatVector.zero(SPECIES).blend(d, load(y, ya, m).compare(VectorOperators.GT, 0f));
        }
        FloatVector t = load(x, xa, m).sub(load(mean, j, m)).fma(load(b, j, m), load(c, j, m));
        store(d.sub(t).mul(load(a, j, m)), dx, dxa, m);
    }

    @Override
    public void transpose(MemorySegment src, long srcFrom, MemorySegment dst, long dstFrom, int rows, int cols) {
        long extent = (long) rows * cols;
        Extent.check("src", src.byteSize(), srcFrom, extent);
        Extent.check("dst", dst.byteSize(), dstFrom, extent);
        // the Vector API scatters into arrays only: other memory takes the scalar tiles
        float[] array = floats(dst);
        if (array == null) {
            new ScalarLoops().transpose(src, srcFrom, dst, dstFrom, rows, cols);
            return;
        }
        int to = index(dst, dstFrom);
        // a vector of L columns of one row is scattered to L rows of dst, one float each; walking
        // down the rows fills each of those L dst rows in order
        int[] map = new int[L];
        for (int i = 0; i < L; i++) {
            map[i] = i * rows;
        }
        int full = cols - cols % L;
        for (int c = 0; c < full; c += L) {
            transposeColumns(src, srcFrom + c, array, to + c * rows, rows, cols, map);
        }
        if (full < cols) {
            // a masked scatter still bounds-checks every lane's index: point unused lanes at lane 0's
            int[] tailMap = map.clone();
            java.util.Arrays.fill(tailMap, cols - full, L, 0);
            transposeColumns(src, srcFrom + full, array, to + full * rows, rows, cols, cols - full, tailMap);
        }
    }

    private static void transposeColumns(MemorySegment src, long from, float[] dst, int to, int rows, int cols, int[] map) {
        for (int r = 0; r < rows; r++) {
            load(src, from + (long) r * cols).intoArray(dst, to + r, map, 0);
        }
    }

    private static void transposeColumns(MemorySegment src, long from, float[] dst, int to, int rows, int cols,
            int lanes, int[] map) {
        VectorMask<Float> m = SPECIES.indexInRange(0, lanes);
        for (int r = 0; r < rows; r++) {
            load(src, from + (long) r * cols, m).intoArray(dst, to + r, map, 0, m);
        }
    }
}
