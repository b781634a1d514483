package io.github.batchnorm4j.internal.loops;

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
    public float sumDeviations(float[] a, int from, int runs, int length, int stride, float shift) {
        float[] s = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0, at = from + r * stride; k < length; k++) {
                s[k % PARTIALS] += a[at + k] - shift;
            }
        }
        return total(s);
    }

    @Override
    public void deviationSums(float[] a, int from, int runs, int length, int stride, float shift, double[] sums) {
        float[] s = new float[PARTIALS];
        float[] q = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0, at = from + r * stride; k < length; k++) {
                float d = a[at + k] - shift;
                s[k % PARTIALS] += d;
                q[k % PARTIALS] = Math.fma(d, d, q[k % PARTIALS]);
            }
        }
        sums[0] = total(s);
        sums[1] = total(q);
    }

    @Override
    public float sumSquaredDeviations(float[] a, int from, int runs, int length, int stride, float mean) {
        float[] q = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0, at = from + r * stride; k < length; k++) {
                float d = a[at + k] - mean;
                q[k % PARTIALS] = Math.fma(d, d, q[k % PARTIALS]);
            }
        }
        return total(q);
    }

    @Override
    public void normalize(float[] x, int xFrom, float[] y, int yFrom, int runs, int length, int stride,
            float mean, float scale, float beta, boolean relu) {
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                y[yFrom + at] = activate(Math.fma(x[xFrom + at] - mean, scale, beta), relu);
            }
        }
    }

    @Override
    public void normalizeWithDeviationSums(float[] x, int xFrom, float[] y, int yFrom, int runs, int length,
            int stride, float mean, float scale, float beta, boolean relu, int nextFrom, float shift,
            double[] sums) {
        float[] s = new float[PARTIALS];
        float[] q = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                float d = x[nextFrom + at] - shift;
                s[k % PARTIALS] += d;
                q[k % PARTIALS] = Math.fma(d, d, q[k % PARTIALS]);
                y[yFrom + at] = activate(Math.fma(x[xFrom + at] - mean, scale, beta), relu);
            }
        }
        sums[0] = total(s);
        sums[1] = total(q);
    }

    @Override
    public void scaleShift(float[] x, int xFrom, float[] y, int yFrom, int runs, int length, int stride,
            float scale, float shift, boolean relu) {
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                y[yFrom + at] = activate(Math.fma(x[xFrom + at], scale, shift), relu);
            }
        }
    }

    @Override
    public float sumGradient(float[] dy, int dyFrom, float[] y, int yFrom, int runs, int length, int stride) {
        float[] s = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                s[k % PARTIALS] += masked(dy[dyFrom + at], y, yFrom + at);
            }
        }
        return total(s);
    }

    @Override
    public float sumGradientDeviation(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            int runs, int length, int stride, float mean) {
        float[] s = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                s[k % PARTIALS] = Math.fma(masked(dy[dyFrom + at], y, yFrom + at), x[xFrom + at] - mean,
                        s[k % PARTIALS]);
            }
        }
        return total(s);
    }

    @Override
    public void gradientSums(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom, int runs,
            int length, int stride, float mean, double[] sums) {
        float[] sumDy = new float[PARTIALS];
        float[] sumDyDev = new float[PARTIALS];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                float d = masked(dy[dyFrom + at], y, yFrom + at);
                sumDy[k % PARTIALS] += d;
                sumDyDev[k % PARTIALS] = Math.fma(d, x[xFrom + at] - mean, sumDyDev[k % PARTIALS]);
            }
        }
        sums[0] = total(sumDy);
        sums[1] = total(sumDyDev);
    }

    @Override
    public void gradientApply(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            float[] dx, int dxFrom, int runs, int length, int stride, float mean, float a, float b, float c) {
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                float d = masked(dy[dyFrom + at], y, yFrom + at);
                dx[dxFrom + at] = (d - Math.fma(x[xFrom + at] - mean, b, c)) * a;
            }
        }
    }

    // The row sums add four rows at a time, pairwise, then the rest a row at a time, as the
    // Vector API twin does in each lane: the same roundings in line. Each keeps its own copy of
    // the four-row body: a shared one would be a call per value.

    @Override
    public void sumDeviationsRows(float[] a, int base, int rows, int stride, int width, float[] shift,
            float[] out, int cFrom) {
        for (int j = 0; j < width; j++) {
            float k = shift[cFrom + j];
            float s = 0;
            int r = 0;
            for (int at = base + j; r <= rows - 4; r += 4, at += 4 * stride) {
                float d0 = a[at] - k;
                float d1 = a[at + stride] - k;
                float d2 = a[at + 2 * stride] - k;
                float d3 = a[at + 3 * stride] - k;
                s += (d0 + d1) + (d2 + d3);
            }
            for (; r < rows; r++) {
                s += a[base + r * stride + j] - k;
            }
            out[cFrom + j] = s;
        }
    }

    @Override
    public void deviationSumsRows(float[] a, int base, int rows, int stride, int width, float[] shift,
            float[] sums, float[] squares, int cFrom) {
        for (int j = 0; j < width; j++) {
            float k = shift[cFrom + j];
            float s = 0;
            float q = 0;
            int r = 0;
            for (int at = base + j; r <= rows - 4; r += 4, at += 4 * stride) {
                float d0 = a[at] - k;
                float d1 = a[at + stride] - k;
                float d2 = a[at + 2 * stride] - k;
                float d3 = a[at + 3 * stride] - k;
                s += (d0 + d1) + (d2 + d3);
                q += Math.fma(d1, d1, d0 * d0) + Math.fma(d3, d3, d2 * d2);
            }
            for (; r < rows; r++) {
                float d = a[base + r * stride + j] - k;
                s += d;
                q = Math.fma(d, d, q);
            }
            sums[cFrom + j] = s;
            squares[cFrom + j] = q;
        }
    }

    @Override
    public void sumSquaredDeviationsRows(float[] a, int base, int rows, int stride, int width,
            float[] mean, float[] out, int cFrom) {
        for (int j = 0; j < width; j++) {
            float k = mean[cFrom + j];
            float q = 0;
            int r = 0;
            for (int at = base + j; r <= rows - 4; r += 4, at += 4 * stride) {
                float d0 = a[at] - k;
                float d1 = a[at + stride] - k;
                float d2 = a[at + 2 * stride] - k;
                float d3 = a[at + 3 * stride] - k;
                q += Math.fma(d1, d1, d0 * d0) + Math.fma(d3, d3, d2 * d2);
            }
            for (; r < rows; r++) {
                float d = a[base + r * stride + j] - k;
                q = Math.fma(d, d, q);
            }
            out[cFrom + j] = q;
        }
    }

    @Override
    public void normalizeRows(float[] x, int xFrom, float[] y, int yFrom, int rows, int width,
            float[] mean, float[] scale, float[] beta, boolean relu) {
        for (int i = 0, n = rows * width; i < n; i++) {
            int c = i % width;
            y[yFrom + i] = activate(Math.fma(x[xFrom + i] - mean[c], scale[c], beta[c]), relu);
        }
    }

    @Override
    public void scaleShiftRows(float[] x, int xFrom, float[] y, int yFrom, int rows, int width,
            float[] scale, float[] shift, boolean relu) {
        for (int i = 0, n = rows * width; i < n; i++) {
            int c = i % width;
            y[yFrom + i] = activate(Math.fma(x[xFrom + i], scale[c], shift[c]), relu);
        }
    }

    @Override
    public void gradientSumsRows(float[] x, int xBase, float[] dy, int dyBase, float[] y, int yBase,
            int rows, int stride, int width, float[] mean, float[] sumDy, float[] sumDyDev, int cFrom) {
        for (int j = 0; j < width; j++) {
            int c = cFrom + j;
            float mu = mean[c];
            float s = 0;
            float sd = 0;
            int r = 0;
            for (; r <= rows - 4; r += 4) {
                int at = r * stride + j;
                float d0 = masked(dy[dyBase + at], y, yBase + at);
                float d1 = masked(dy[dyBase + at + stride], y, yBase + at + stride);
                float d2 = masked(dy[dyBase + at + 2 * stride], y, yBase + at + 2 * stride);
                float d3 = masked(dy[dyBase + at + 3 * stride], y, yBase + at + 3 * stride);
                s += (d0 + d1) + (d2 + d3);
                float t01 = Math.fma(d1, x[xBase + at + stride] - mu, d0 * (x[xBase + at] - mu));
                float t23 = Math.fma(d3, x[xBase + at + 3 * stride] - mu, d2 * (x[xBase + at + 2 * stride] - mu));
                sd += t01 + t23;
            }
            for (; r < rows; r++) {
                float d = masked(dy[dyBase + r * stride + j], y, yBase + r * stride + j);
                s += d;
                sd = Math.fma(d, x[xBase + r * stride + j] - mu, sd);
            }
            sumDy[c] = s;
            sumDyDev[c] = sd;
        }
    }

    @Override
    public void gradientApplyRows(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            float[] dx, int dxFrom, int rows, int width, float[] mean, float[] a, float[] b, float[] c) {
        for (int i = 0, n = rows * width; i < n; i++) {
            int ch = i % width;
            float d = masked(dy[dyFrom + i], y, yFrom + i);
            dx[dxFrom + i] = (d - Math.fma(x[xFrom + i] - mean[ch], b[ch], c[ch])) * a[ch];
        }
    }

    @Override
    public void transpose(float[] src, int srcFrom, float[] dst, int dstFrom, int rows, int cols) {
        // 32 x 32 tiles: both matrices are read and written a cache line at a time
        for (int r0 = 0; r0 < rows; r0 += 32) {
            for (int c0 = 0; c0 < cols; c0 += 32) {
                for (int r = r0; r < Math.min(rows, r0 + 32); r++) {
                    for (int c = c0; c < Math.min(cols, c0 + 32); c++) {
                        dst[dstFrom + c * rows + r] = src[srcFrom + r * cols + c];
                    }
                }
            }
        }
    }

    private static float activate(float value, boolean relu) {
        return relu ? Math.max(value, 0f) : value;
    }

    /** dy where the forward output was positive, 0 elsewhere; dy itself without ReLU (y null). */
    private static float masked(float gradient, float[] y, int at) {
        return y == null || y[at] > 0 ? gradient : 0f;
    }
}
