package io.github.batchnorm4j.internal.loops;

import java.lang.foreign.MemorySegment;

/**
 * The innermost sweeps the vectorized and fused kernels are built from, in two shapes:
 * <em>runs</em>, a contiguous stretch of one channel (NCHW: vectorized along the run), and
 * <em>rows</em>, a block of rows with the channels side by side (NHWC: vectorized across
 * channels). {@link ScalarLoops} is the plain Java twin of the Vector API implementation
 * ({@code PanamaLoops}); {@code KernelProvider} picks one at start-up. Arguments are positional
 * primitives and arrays on purpose: these are the innermost calls, and a record per call would
 * be an allocation the JIT does not always remove. A tensor is a {@link MemorySegment} indexed in
 * floats (a heap segment over the caller's array, or the caller's own segment, any mix in one
 * call); per-channel values are float arrays.
 *
 * <p>{@code dy'} below is {@code dy} masked by {@code y > 0} when {@code y} is not null (fused
 * ReLU), and {@code dy} itself when it is.
 */
public interface Loops {

    /** Float lanes per vector: 1 for scalar loops. */
    int lanes();

    // Runs: {@code runs} stretches of {@code length} floats, {@code stride} apart, starting at
    // from (x, dy, y and dx share the stride: they have one geometry). One call covers a block.

    /**
     * Sum of {@code a[k] - shift} over the runs. Shifting by a value of the channel keeps float
     * sums small and makes a constant channel sum to exactly 0.
     */
    float sumDeviations(MemorySegment a, long from, int runs, int length, int stride, float shift);

    /**
     * Both sums of the shifted values in one sweep: {@code sums[0] = sum (a[k] - shift)} and
     * {@code sums[1] = sum (a[k] - shift)^2}.
     */
    void deviationSums(MemorySegment a, long from, int runs, int length, int stride, float shift, double[] sums);

    /** Sum of {@code (a[k] - mean)^2} over the runs. */
    float sumSquaredDeviations(MemorySegment a, long from, int runs, int length, int stride, float mean);

    /** {@code y = (x - mean) * scale + beta}, then {@code max(y, 0)} when relu. */
    void normalize(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length, int stride,
            float mean, float scale, float beta, boolean relu);

    /**
     * {@link #normalize} of the runs at xFrom into y, and in the same sweep
     * {@link #deviationSums} of the runs at {@code nextFrom} in x (a block of another channel with
     * the same runs), with exactly the bits {@code deviationSums} gives: one loop reads a block
     * for the statistics while it writes another, so the two streams overlap in memory.
     */
    void normalizeWithDeviationSums(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length,
            int stride, float mean, float scale, float beta, boolean relu, long nextFrom, float shift,
            double[] sums);

    /** {@code y = x * scale + shift}, then {@code max(y, 0)} when relu. */
    void scaleShift(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length, int stride,
            float scale, float shift, boolean relu);

    /** Sum of {@code dy'} over the runs. */
    float sumGradient(MemorySegment dy, long dyFrom, MemorySegment y, long yFrom, int runs, int length, int stride);

    /** Sum of {@code dy' * (x - mean)} over the runs. */
    float sumGradientDeviation(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            int runs, int length, int stride, float mean);

    /**
     * Both backward sums in one sweep: {@code sums[0] = sum dy'} and
     * {@code sums[1] = sum dy' * (x - mean)} over the runs.
     */
    void gradientSums(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom, int runs,
            int length, int stride, float mean, double[] sums);

    /** {@code dx = (dy' - (x - mean) * b - c) * a}. */
    void gradientApply(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            MemorySegment dx, long dxFrom, int runs, int length, int stride, float mean, float a, float b, float c);

    // Rows: element (r, j) of a block sits at base + (long) r * stride + j for channels j in [0, width);
    // per-channel arrays are read and written from index cFrom + j. They are padded to a whole
    // number of lanes() past cFrom + width, so the vector at the channel edge stays inside them;
    // a sum's padding lanes are its own (no other call writes them) and may be left with any value.

    /** {@code out[cFrom + j] = sum over rows of (a(r, j) - shift[cFrom + j])}. */
    void sumDeviationsRows(MemorySegment a, long base, int rows, int stride, int width, float[] shift,
            float[] out, int cFrom);

    /**
     * Per channel, both sums of the shifted values in one sweep of the rows:
     * {@code sums[c] = sum (a(r, j) - shift[c])}, {@code squares[c] = sum (a(r, j) - shift[c])^2}.
     */
    void deviationSumsRows(MemorySegment a, long base, int rows, int stride, int width, float[] shift,
            float[] sums, float[] squares, int cFrom);

    /** {@code out[cFrom + j] = sum over rows of (a(r, j) - mean[cFrom + j])^2}. */
    void sumSquaredDeviationsRows(MemorySegment a, long base, int rows, int stride, int width,
            float[] mean, float[] out, int cFrom);

    /** {@code sumDy[c] = sum dy'(r, j)}, {@code sumDyDev[c] = sum dy'(r, j) * (x(r, j) - mean[c])}. */
    void gradientSumsRows(MemorySegment x, long xBase, MemorySegment dy, long dyBase, MemorySegment y, long yBase,
            int rows, int stride, int width, float[] mean, float[] sumDy, float[] sumDyDev, int cFrom);

    // Whole rows: the rows of width floats lie back to back from each from, so element i of the
    // block is channel i % width. Per-channel arrays are repeated (see PerChannel#repeated):
    // index i holds channel i % width for i < width + lanes() - 1, so a vector that starts at
    // any channel reads its channels in one load, across the end of a row too. One flat loop then
    // covers the block, with a masked vector only at its end: a loop per row pays a masked tail
    // per row, which costs most where C is not a multiple of the lanes.

    /** {@code y(r, j) = (x(r, j) - mean[j]) * scale[j] + beta[j]}, ReLU when asked. */
    void normalizeRows(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int rows, int width,
            float[] mean, float[] scale, float[] beta, boolean relu);

    /** {@code y(r, j) = x(r, j) * scale[j] + shift[j]}, ReLU when asked. */
    void scaleShiftRows(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int rows, int width,
            float[] scale, float[] shift, boolean relu);

    /** {@code dx(r, j) = (dy'(r, j) - (x(r, j) - mean[j]) * b[j] - c[j]) * a[j]}. */
    void gradientApplyRows(MemorySegment x, long xFrom, MemorySegment dy, long dyFrom, MemorySegment y, long yFrom,
            MemorySegment dx, long dxFrom, int rows, int width, float[] mean, float[] a, float[] b, float[] c);

    /**
     * Transposes a row-major {@code rows x cols} matrix into a row-major {@code cols x rows} one:
     * {@code dst[dstFrom + c * rows + r] = src[srcFrom + (long) r * cols + c]}. NCHW to NHWC is this per
     * image with rows = C, cols = H*W; NHWC to NCHW with rows = H*W, cols = C.
     */
    void transpose(MemorySegment src, long srcFrom, MemorySegment dst, long dstFrom, int rows, int cols);
}
