package io.github.batchnorm4j.internal.kernel;

import java.util.Arrays;

/** Per-channel arrays as the row loops read them (see {@code Loops}, the rows). */
public final class PerChannel {
    private PerChannel() {}

    /**
     * The length of per-channel arrays handed to the row loops: whole vectors, so the vector at
     * the channel edge stays inside the array (a load that crosses an array's end takes the
     * Vector API's slow path).
     */
    public static int paddedLength(int channels, int lanes) {
        return (channels + lanes - 1) / lanes * lanes;
    }

    /** {@code values}, or a copy of it padded with zeros to {@link #paddedLength}. */
    public static float[] padded(float[] values, int lanes) {
        int length = paddedLength(values.length, lanes);
        return length == values.length ? values : Arrays.copyOf(values, length);
    }

    /**
     * The first {@code width} values repeated to {@code width + lanes} values, index i holding
     * value {@code i % width}: what the whole-row loops read, a vector from any channel on.
     */
    public static float[] repeated(float[] values, int width, int lanes) {
        float[] out = new float[width + lanes];
        for (int i = 0; i < out.length; i += width) {
            System.arraycopy(values, 0, out, i, Math.min(width, out.length - i));
        }
        return out;
    }
}
