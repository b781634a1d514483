package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.internal.parallel.Tasks;
import java.util.concurrent.ForkJoinPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the machine's memory allows: a copy (one read, one write: a forward's minimal traffic)
 * and a triad {@code a = b + s * c} (two reads, one write: a backward's), on the same number of
 * floats as each benchmark shape, split over the same thread counts. Every operation's figure is
 * read as a fraction of these.
 *
 * <p>{@code copy} and {@code triad} are Vector API loops that store the way the kernels do.
 * {@code arraycopy} is {@link System#arraycopy}, whose JIT stub may use fast-string or
 * non-temporal stores no Java loop can: reported beside, as the machine's ceiling.
 */
@State(Scope.Benchmark)
public class BandwidthBenchmark extends JmhDefaults {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    @Param({"32x64x56x56", "32x256x14x14", "8x64x16x16", "2048x512", "7x17x13x13"})
    public String shape;

    /** A thread count, or "all" for the machine's processors. */
    @Param({"1", "2", "all"})
    public String threads;

    private int threadCount;
    private int outer;
    private int channels;
    private int inner;

    private float[] a;
    private float[] b;
    private float[] c;
    private ForkJoinPool pool;
    private Tasks tasks;

    @Setup(Level.Trial)
    public void setUp() {
        io.github.batchnorm4j.Geometry g = Shapes.geometry(shape, "NCHW");
        int n = Math.toIntExact(g.size());
        outer = g.outer();
        channels = g.channels();
        inner = g.inner();
        a = new float[n];
        b = new float[n];
        c = new float[n];
        java.util.Arrays.fill(b, 1.5f);
        java.util.Arrays.fill(c, 2.5f);
        threadCount = Defaults.threads(threads);
        pool = threadCount > 1 ? new ForkJoinPool(threadCount - 1) : null;
        tasks = new Tasks(pool, true);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) {
            pool.shutdown();
        }
    }

    @Benchmark
    public float[] copy() {
        split(2L * a.length, this::copyRange);
        return a;
    }

    @Benchmark
    public float[] arraycopy() {
        split(2L * a.length, (from, to) -> System.arraycopy(b, from, a, from, to - from));
        return a;
    }

    private void copyRange(int from, int to) {
        int k = from;
        for (int bound = from + SPECIES.loopBound(to - from); k < bound; k += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, b, k).intoArray(a, k);
        }
        for (; k < to; k++) {
            a[k] = b[k];
        }
    }

    @Benchmark
    public float[] triad() {
        split(3L * a.length, this::triadRange);
        return a;
    }

    private void triadRange(int from, int to) {
        float s = 0.5f;
        FloatVector vs = FloatVector.broadcast(SPECIES, s);
        int k = from;
        for (int bound = from + SPECIES.loopBound(to - from); k < bound; k += SPECIES.length()) {
            FloatVector vb = FloatVector.fromArray(SPECIES, b, k);
            FloatVector.fromArray(SPECIES, c, k).fma(vs, vb).intoArray(a, k);
        }
        for (; k < to; k++) {
            a[k] = Math.fma(c[k], s, b[k]);
        }
    }

    /**
     * A sum of one array: reading a tensor once, with nothing written. Forward training in NHWC
     * must read all of x like this before it can write any y, so copy / (read + copy) bounds its
     * fraction of copy.
     */
    @Benchmark
    public float read() {
        float[] partial = new float[threadCount];
        split(a.length, (from, to) -> partial[from / chunk(threadCount)] = readRange(from, to));
        return total(partial);
    }

    private float readRange(int from, int to) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int step = SPECIES.length();
        int k = from;
        for (int bound = from + (to - from) / (4 * step) * (4 * step); k < bound; k += 4 * step) {
            s0 = s0.add(FloatVector.fromArray(SPECIES, b, k));
            s1 = s1.add(FloatVector.fromArray(SPECIES, b, k + step));
            s2 = s2.add(FloatVector.fromArray(SPECIES, b, k + 2 * step));
            s3 = s3.add(FloatVector.fromArray(SPECIES, b, k + 3 * step));
        }
        float sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; k < to; k++) {
            sum += b[k];
        }
        return sum;
    }

    /**
     * A dot product of two arrays: reading two tensors once, with nothing written. Backward in
     * NHWC must read all of x and dy like this before it can write any dx, so
     * triad / (dot + triad) bounds its fraction of triad.
     */
    @Benchmark
    public float dot() {
        float[] partial = new float[threadCount];
        split(2L * a.length, (from, to) -> partial[from / chunk(threadCount)] = dotRange(from, to));
        return total(partial);
    }

    private float dotRange(int from, int to) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        int step = SPECIES.length();
        int k = from;
        for (int bound = from + (to - from) / (2 * step) * (2 * step); k < bound; k += 2 * step) {
            s0 = FloatVector.fromArray(SPECIES, b, k).fma(FloatVector.fromArray(SPECIES, c, k), s0);
            s1 = FloatVector.fromArray(SPECIES, b, k + step).fma(FloatVector.fromArray(SPECIES, c, k + step), s1);
        }
        float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; k < to; k++) {
            sum = Math.fma(b[k], c[k], sum);
        }
        return sum;
    }

    /**
     * The passes of a forward that reads first, with the arithmetic left out: {@link #read} of
     * the whole tensor, then {@link #copy}, in one call. Measured as one operation, the read
     * finds in cache what the copy before it left there, as a kernel's statistics sweep does:
     * on a tensor that almost fits in L3, {@code copy / (copy + read)} from two separate
     * measurements counts a read that hits L3 on every call.
     */
    @Benchmark
    public float readFirstForward() {
        return read() + copy()[0];
    }

    /** {@link #dot} then {@link #triad} in one call: the backward's read-first passes. */
    @Benchmark
    public float readFirstBackward() {
        return dot() + triad()[0];
    }

    /**
     * The passes of an NCHW forward that reuses L2, with the arithmetic left out: each channel is
     * read once to sum it, then read again (from L2) while it is copied, and the sum of the next
     * channel is taken in the sweep that copies this one (as the fused forward's channel groups
     * do), groups of {@link #GROUP} channels to a task. Any exact forward must read a channel
     * whole before it writes its first y, so copy / planarForward is the most such a forward can
     * reach on this shape; beside the read-first bound it says which of the two ways pays on this
     * machine (the fused kernels take this one only for tensors that fit in cache). A 2-D shape's
     * channels share every row: there it is {@link #read} then {@link #copy}, the read-first
     * bound measured in one call.
     */
    @Benchmark
    public float planarForward() {
        if (inner == 1) {
            return read() + copy()[0];
        }
        float[] partial = new float[Math.ceilDiv(channels, GROUP)];
        tasks.forEach(partial.length, 2L * a.length, t -> partial[t] = planarForwardGroup(t * GROUP,
                Math.min(channels, (t + 1) * GROUP)));
        return total(partial);
    }

    /** Channels in one task of the planar loops, as in the kernels. */
    private static final int GROUP = 16;

    private float planarForwardGroup(int from, int to) {
        float sum = 0;
        for (int n = 0; n < outer; n++) {
            sum += readRange(plane(n, from), plane(n, from) + inner);
        }
        for (int c = from; c < to; c++) {
            for (int n = 0; n < outer; n++) {
                int at = plane(n, c);
                if (c + 1 < to) {
                    sum += copyAndReadRange(at, plane(n, c + 1), inner);
                } else {
                    copyRange(at, at + inner);
                }
            }
        }
        return sum;
    }

    /** Copies {@code length} floats of b at {@code at} into a and sums those of b at {@code next}. */
    private float copyAndReadRange(int at, int next, int length) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        int step = SPECIES.length();
        int k = 0;
        for (; k <= length - 2 * step; k += 2 * step) {
            s0 = s0.add(FloatVector.fromArray(SPECIES, b, next + k));
            s1 = s1.add(FloatVector.fromArray(SPECIES, b, next + k + step));
            FloatVector.fromArray(SPECIES, b, at + k).intoArray(a, at + k);
            FloatVector.fromArray(SPECIES, b, at + k + step).intoArray(a, at + k + step);
        }
        float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; k < length; k++) {
            sum += b[next + k];
            a[at + k] = b[at + k];
        }
        return sum;
    }

    /**
     * The passes of an NCHW backward that reuses L2, with the arithmetic left out: per channel a
     * {@link #dot} of its two inputs, then a {@link #triad} over them again (from L2). The sums
     * must be whole before the first dx, so such a backward reaches at most triad /
     * planarBackward. A 2-D shape: {@link #dot} then {@link #triad}.
     */
    @Benchmark
    public float planarBackward() {
        if (inner == 1) {
            return dot() + triad()[0];
        }
        float[] partial = new float[Math.ceilDiv(channels, GROUP)];
        tasks.forEach(partial.length, 3L * a.length, t -> {
            float sum = 0;
            for (int c = t * GROUP; c < Math.min(channels, (t + 1) * GROUP); c++) {
                for (int n = 0; n < outer; n++) {
                    sum += dotRange(plane(n, c), plane(n, c) + inner);
                }
                for (int n = 0; n < outer; n++) {
                    triadRange(plane(n, c), plane(n, c) + inner);
                }
            }
            partial[t] = sum;
        });
        return total(partial);
    }

    /** Where channel c of image n starts. */
    private int plane(int n, int c) {
        return (n * channels + c) * inner;
    }

    /** Floats in each thread's chunk: an equal share, rounded up to a multiple of 64. */
    private int chunk(int parts) {
        return ((a.length + parts - 1) / parts + 63) & ~63;
    }

    private static float total(float[] partial) {
        float sum = 0;
        for (float p : partial) {
            sum += p;
        }
        return sum;
    }

    private interface Range {
        void run(int from, int to);
    }

    /**
     * Contiguous chunks, one per thread, cut at multiples of 64 floats, shared out by the
     * library's own {@link Tasks}: the caller takes chunks beside threads - 1 pooled helpers and
     * stays on its own below the same size, so a baseline pays the same hand-off as the
     * operations measured against it.
     */
    private void split(long floatsTouched, Range range) {
        int n = a.length;
        int chunk = chunk(threadCount);
        tasks.forEach(threadCount, floatsTouched, t -> {
            int from = t * chunk;
            if (from < n) {
                range.run(from, Math.min(n, from + chunk));
            }
        });
    }
}
