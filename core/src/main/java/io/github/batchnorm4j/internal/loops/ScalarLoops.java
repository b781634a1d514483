package io.github.batchnorm4j.internal.loops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link Loops} in plain Java: what runs when the Vector API module is absent or switched off.
 * Same arithmetic per element as the Vector API twin; sums keep as many partial sums in line as
 * it does, so they round about as little.
 */
public final class ScalarLoops implements Loops {

    @Override
    public int lanes() {
        return 1;
    }

    /**
     * Partial sums a run sum keeps, value k of a run going to partial k % PARTIALS, added up
     * pairwise at the end: as many as the Vector API twin keeps (4 vectors of 16 lanes), so a
     * sum's roundings in line are as few.
     */
    private static final int PARTIALS = 64;

    /** The partial sums added up pairwise, in a fixed order. */
    private static float total(float[] partials) {
        for (int n = PARTIALS / 2; n >= 1; n /= 2) {
            for (int i = 0; i < n; i++) {
                partials[i] = partials[2 * i] + partials[2 * i + 1];
            }
        }
        return partials[0];
    }

    @Override
    public float sumDeviations(MemorySegment a, long from, int runs, int length, int stride, float shift) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("a", a.byteSize(), from, extent);
        float[] s = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            long at = from + (long) r * stride;
            for (int k = 0; k < length; k++) {
                s[k % PARTIALS] += get(a, at + k) - shift;
            }
        }
        return total(s);
    }

    @Override
    public void deviationSums(MemorySegment a, long from, int runs, int length, int stride, float shift, double[] sums) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("a", a.byteSize(), from, extent);
        float[] s = new float[PARTIALS];
        float[] q = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            long at = from + (long) r * stride;
            for (int k = 0; k < length; k++) {
                float d = get(a, at + k) - shift;
                s[k % PARTIALS] += d;
                q[k % PARTIALS] = Math.fma(d, d, q[k % PARTIALS]);
            }
        }
        sums[0] = total(s);
        sums[1] = total(q);
    }

    @Override
    public float sumSquaredDeviations(MemorySegment a, long from, int runs, int length, int stride, float mean) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("a", a.byteSize(), from, extent);
        float[] q = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            long at = from + (long) r * stride;
            for (int k = 0; k < length; k++) {
                float d = get(a, at + k) - mean;
                q[k % PARTIALS] = Math.fma(d, d, q[k % PARTIALS]);
            }
        }
        return total(q);
    }

    @Override
    public void normalize(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length, int stride,
            float mean, float scale, float beta, boolean relu) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                set(y, yFrom + at, activate(Math.fma(get(x, xFrom + at) - mean, scale, beta), relu));
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
        float[] s = new float[PARTIALS];
        float[] q = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                float d = get(x, nextFrom + at) - shift;
                s[k % PARTIALS] += d;
                q[k % PARTIALS] = Math.fma(d, d, q[k % PARTIALS]);
                set(y, yFrom + at, activate(Math.fma(get(x, xFrom + at) - mean, scale, beta), relu));
            }
        }
        sums[0] = total(s);
        sums[1] = total(q);
    }

    @Override
    public void scaleShift(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int runs, int length, int stride,
            float scale, float shift, boolean relu) {
        long extent = Extent.runs(runs, length, stride);
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                set(y, yFrom + at, activate(Math.fma(get(x, xFrom + at), scale, shift), relu));
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
        float[] s = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                s[k % PARTIALS] += masked(get(dy, dyFrom + at), y, yFrom + at);
            }
        }
        return total(s);
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
        float[] s = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                s[k % PARTIALS] = Math.fma(masked(get(dy, dyFrom + at), y, yFrom + at), get(x, xFrom + at) - mean,
                        s[k % PARTIALS]);
            }
        }
        return total(s);
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
        float[] sumDy = new float[PARTIALS];
        float[] sumDyDev = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                float d = masked(get(dy, dyFrom + at), y, yFrom + at);
                sumDy[k % PARTIALS] += d;
                sumDyDev[k % PARTIALS] = Math.fma(d, get(x, xFrom + at) - mean, sumDyDev[k % PARTIALS]);
            }
        }
        sums[0] = total(sumDy);
        sums[1] = total(sumDyDev);
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
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                long at = (long) r * stride + k;
                float d = masked(get(dy, dyFrom + at), y, yFrom + at);
                set(dx, dxFrom + at, (d - Math.fma(get(x, xFrom + at) - mean, b, c)) * a);
            }
        }
    }

    // The row sums add four rows at a time, pairwise, then the rest a row at a time, as the
    // Vector API twin does in each lane: the same roundings in line. Each keeps its own copy of
    // the four-row body: a shared one would be a call per value.

    @Override
    public void sumDeviationsRows(MemorySegment a, long base, int rows, int stride, int width, float[] shift,
            float[] out, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("a", a.byteSize(), base, extent);
        for (int j = 0; j < width; j++) {
            float k = shift[cFrom + j];
            float s = 0;
            int r = 0;
            for (long at = base + j; r <= rows - 4; r += 4, at += 4 * stride) {
                float d0 = get(a, at) - k;
                float d1 = get(a, at + stride) - k;
                float d2 = get(a, at + 2 * stride) - k;
                float d3 = get(a, at + 3 * stride) - k;
                s += (d0 + d1) + (d2 + d3);
            }
            for (; r < rows; r++) {
                s += get(a, base + (long) r * stride + j) - k;
            }
            out[cFrom + j] = s;
        }
    }

    @Override
    public void deviationSumsRows(MemorySegment a, long base, int rows, int stride, int width, float[] shift,
            float[] sums, float[] squares, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("a", a.byteSize(), base, extent);
        for (int j = 0; j < width; j++) {
            float k = shift[cFrom + j];
            float s = 0;
            float q = 0;
            int r = 0;
            for (long at = base + j; r <= rows - 4; r += 4, at += 4 * stride) {
                float d0 = get(a, at) - k;
                float d1 = get(a, at + stride) - k;
                float d2 = get(a, at + 2 * stride) - k;
                float d3 = get(a, at + 3 * stride) - k;
                s += (d0 + d1) + (d2 + d3);
                q += Math.fma(d1, d1, d0 * d0) + Math.fma(d3, d3, d2 * d2);
            }
            for (; r < rows; r++) {
                float d = get(a, base + (long) r * stride + j) - k;
                s += d;
                q = Math.fma(d, d, q);
            }
            sums[cFrom + j] = s;
            squares[cFrom + j] = q;
        }
    }

    @Override
    public void sumSquaredDeviationsRows(MemorySegment a, long base, int rows, int stride, int width,
            float[] mean, float[] out, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("a", a.byteSize(), base, extent);
        for (int j = 0; j < width; j++) {
            float k = mean[cFrom + j];
            float q = 0;
            int r = 0;
            for (long at = base + j; r <= rows - 4; r += 4, at += 4 * stride) {
                float d0 = get(a, at) - k;
                float d1 = get(a, at + stride) - k;
                float d2 = get(a, at + 2 * stride) - k;
                float d3 = get(a, at + 3 * stride) - k;
                q += Math.fma(d1, d1, d0 * d0) + Math.fma(d3, d3, d2 * d2);
            }
            for (; r < rows; r++) {
                float d = get(a, base + (long) r * stride + j) - k;
                q = Math.fma(d, d, q);
            }
            out[cFrom + j] = q;
        }
    }

    @Override
    public void normalizeRows(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int rows, int width,
            float[] mean, float[] scale, float[] beta, boolean relu) {
        long extent = (long) rows * width;
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        for (int i = 0, n = rows * width; i < n; i++) {
            int c = i % width;
            set(y, yFrom + i, activate(Math.fma(get(x, xFrom + i) - mean[c], scale[c], beta[c]), relu));
        }
    }

    @Override
    public void scaleShiftRows(MemorySegment x, long xFrom, MemorySegment y, long yFrom, int rows, int width,
            float[] scale, float[] shift, boolean relu) {
        long extent = (long) rows * width;
        Extent.check("x", x.byteSize(), xFrom, extent);
        Extent.check("y", y.byteSize(), yFrom, extent);
        for (int i = 0, n = rows * width; i < n; i++) {
            int c = i % width;
            set(y, yFrom + i, activate(Math.fma(get(x, xFrom + i), scale[c], shift[c]), relu));
        }
    }

    @Override
    public void gradientSumsRows(MemorySegment x, long xBase, MemorySegment dy, long dyBase, MemorySegment y, long yBase,
            int rows, int stride, int width, float[] mean, float[] sumDy, float[] sumDyDev, int cFrom) {
        long extent = Extent.runs(rows, width, stride);
        Extent.check("x", x.byteSize(), xBase, extent);
        Extent.check("dy", dy.byteSize(), dyBase, extent);
        if (y != null) {
            Extent.check("y", y.byteSize(), yBase, extent);
        }
        for (int j = 0; j < width; j++) {
            int c = cFrom + j;
            float mu = mean[c];
            float s = 0;
            float sd = 0;
            int r = 0;
            for (; r <= rows - 4; r += 4) {
                long at = (long) r * stride + j;
                float d0 = masked(get(dy, dyBase + at), y, yBase + at);
                float d1 = masked(get(dy, dyBase + at + stride), y, yBase + at + stride);
                float d2 = masked(get(dy, dyBase + at + 2 * stride), y, yBase + at + 2 * stride);
                float d3 = masked(get(dy, dyBase + at + 3 * stride), y, yBase + at + 3 * stride);
                s += (d0 + d1) + (d2 + d3);
                float t01 = Math.fma(d1, get(x, xBase + at + stride) - mu, d0 * (get(x, xBase + at) - mu));
                float t23 = Math.fma(d3, get(x, xBase + at + 3 * stride) - mu, d2 * (get(x, xBase + at + 2 * stride) - mu));
                sd += t01 + t23;
            }
            for (; r < rows; r++) {
                float d = masked(get(dy, dyBase + (long) r * stride + j), y, yBase + (long) r * stride + j);
                s += d;
                sd = Math.fma(d, get(x, xBase + (long) r * stride + j) - mu, sd);
            }
            sumDy[c] = s;
            sumDyDev[c] = sd;
        }
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
        for (int i = 0, n = rows * width; i < n; i++) {
            int ch = i % width;
            float d = masked(get(dy, dyFrom + i), y, yFrom + i);
            set(dx, dxFrom + i, (d - Math.fma(get(x, xFrom + i) - mean[ch], b[ch], c[ch])) * a[ch]);
        }
    }

    @Override
    public void transpose(MemorySegment src, long srcFrom, MemorySegment dst, long dstFrom, int rows, int cols) {
        long extent = (long) rows * cols;
        Extent.check("src", src.byteSize(), srcFrom, extent);
        Extent.check("dst", dst.byteSize(), dstFrom, extent);
        // 32 x 32 tiles: both matrices are read and written a cache line at a time
        for (int r0 = 0; r0 < rows; r0 += 32) {
            for (int c0 = 0; c0 < cols; c0 += 32) {
                for (int r = r0; r < Math.min(rows, r0 + 32); r++) {
                    for (int c = c0; c < Math.min(cols, c0 + 32); c++) {
                        set(dst, dstFrom + (long) c * rows + r, get(src, srcFrom + (long) r * cols + c));
                    }
                }
            }
        }
    }

    // unaligned: a heap segment over a byte[] has byte alignment, and spans only need 4 bytes
    private static float get(MemorySegment a, long at) {
        return a.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
    }

    private static void set(MemorySegment a, long at, float value) {
        a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at, value);
    }

    private static float activate(float value, boolean relu) {
        return relu ? Math.max(value, 0f) : value;
    }

    /** dy where the forward output was positive, 0 elsewhere; dy itself without ReLU (y null). */
    private static float masked(float gradient, MemorySegment y, long at) {
        return y == null || get(y, at) > 0 ? gradient : 0f;
    }
}
