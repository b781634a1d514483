package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.parallel.Tasks;
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

    private float[] a;
    private float[] b;
    private float[] c;
    private ForkJoinPool pool;
    private Tasks tasks;

    @Setup(Level.Trial)
    public void setUp() {
        int n = Shapes.geometry(shape, "NCHW").size();
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
