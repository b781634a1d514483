package io.github.batchnorm4j.internal.loops;

/**
 * {@link Loops} in plain Java: what runs when the Vector API module is absent or switched off.
 * Same arithmetic per element as the Vector API twin; sums run in one accumulator.
 */
public final class ScalarLoops implements Loops {

    @Override
    public int lanes() {
        return 1;
    }

    @Override
    public float sumDeviations(float[] a, int from, int runs, int length, int stride, float shift) {
        float s = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = from + r * stride; k < from + r * stride + length; k++) {
                s += a[k] - shift;
            }
        }
        return s;
    }

    @Override
    public void deviationSums(float[] a, int from, int runs, int length, int stride, float shift, double[] sums) {
        float s = 0;
        float q = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = from + r * stride; k < from + r * stride + length; k++) {
                float d = a[k] - shift;
                s += d;
                q = Math.fma(d, d, q);
            }
        }
        sums[0] = s;
        sums[1] = q;
    }

    @Override
    public float sumSquaredDeviations(float[] a, int from, int runs, int length, int stride, float mean) {
        float s = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = from + r * stride; k < from + r * stride + length; k++) {
                float d = a[k] - mean;
                s = Math.fma(d, d, s);
            }
        }
        return s;
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
        float s = 0;
        float q = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                float d = x[nextFrom + at] - shift;
                s += d;
                q = Math.fma(d, d, q);
                y[yFrom + at] = activate(Math.fma(x[xFrom + at] - mean, scale, beta), relu);
            }
        }
        sums[0] = s;
        sums[1] = q;
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
        float s = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                s += masked(dy[dyFrom + at], y, yFrom + at);
            }
        }
        return s;
    }

    @Override
    public float sumGradientDeviation(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom,
            int runs, int length, int stride, float mean) {
        float s = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                s = Math.fma(masked(dy[dyFrom + at], y, yFrom + at), x[xFrom + at] - mean, s);
            }
        }
        return s;
    }

    @Override
    public void gradientSums(float[] x, int xFrom, float[] dy, int dyFrom, float[] y, int yFrom, int runs,
            int length, int stride, float mean, double[] sums) {
        float sumDy = 0;
        float sumDyDev = 0;
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < length; k++) {
                int at = r * stride + k;
                float d = masked(dy[dyFrom + at], y, yFrom + at);
                sumDy += d;
                sumDyDev = Math.fma(d, x[xFrom + at] - mean, sumDyDev);
            }
        }
        sums[0] = sumDy;
        sums[1] = sumDyDev;
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

    @Override
    public void sumDeviationsRows(float[] a, int base, int rows, int stride, int width, float[] shift,
            float[] out, int cFrom) {
        for (int j = 0; j < width; j++) {
            float s = 0;
            for (int r = 0; r < rows; r++) {
                s += a[base + r * stride + j] - shift[cFrom + j];
            }
            out[cFrom + j] = s;
        }
    }

    @Override
    public void deviationSumsRows(float[] a, int base, int rows, int stride, int width, float[] shift,
            float[] sums, float[] squares, int cFrom) {
        for (int j = 0; j < width; j++) {
            float s = 0;
            float q = 0;
            for (int r = 0; r < rows; r++) {
                float d = a[base + r * stride + j] - shift[cFrom + j];
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
            float s = 0;
            for (int r = 0; r < rows; r++) {
                float d = a[base + r * stride + j] - mean[cFrom + j];
                s = Math.fma(d, d, s);
            }
            out[cFrom + j] = s;
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
            float s = 0;
            float sd = 0;
            for (int r = 0; r < rows; r++) {
                float d = masked(dy[dyBase + r * stride + j], y, yBase + r * stride + j);
                s += d;
                sd = Math.fma(d, x[xBase + r * stride + j] - mean[c], sd);
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
