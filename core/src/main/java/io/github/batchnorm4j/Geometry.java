package io.github.batchnorm4j;

import java.util.Arrays;

/**
 * The shape of a tensor as batch normalization sees it: contiguous floats viewed as
 * {@code (outer, channels, inner)}. Each of the three, and one sample ({@code channels * inner}),
 * fits an int; the tensor's size may pass 2^31 for a tensor in a memory segment (an array holds
 * at most 2^31 - 1). Element {@code (o, c, i)} sits at
 * {@code (o * channels + c) * inner + i}; statistics of channel {@code c} reduce over
 * {@code outer * inner} elements.
 *
 * <ul>
 *   <li>NCHW: outer = N, inner = H*W.
 *   <li>NHWC: outer = N*H*W, inner = 1.
 *   <li>2-D (N, C): outer = N, inner = 1 (both layouts at once).
 * </ul>
 *
 * @param outer product of the dimensions before the channel axis, at least 1
 * @param channels number of channels (features) C, at least 1
 * @param inner product of the dimensions after the channel axis, at least 1
 */
public record Geometry(int outer, int channels, int inner) {

    public Geometry {
        requirePositive("outer", outer);
        requirePositive("channels", channels);
        requirePositive("inner", inner);
        if ((long) channels * inner > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("channels * inner (one sample) must be at most "
                    + Integer.MAX_VALUE + " floats, got " + channels + " * " + inner);
        }
        // one sample fits an int, so the product is below 2^62 and exact in a long
        if (outer * ((long) channels * inner) > MAX_SIZE) {
            throw new IllegalArgumentException("outer * channels * inner must be at most " + MAX_SIZE
                    + " (the floats a memory segment can address), got " + outer + " * " + channels
                    + " * " + inner);
        }
    }

    /** The most floats a geometry holds: a segment's byte size is a long. */
    public static final long MAX_SIZE = Long.MAX_VALUE / Float.BYTES;

    /** Channels-first 4-D tensor (N, C, H, W). */
    public static Geometry nchw(int n, int c, int h, int w) {
        return ofShape(new int[] {n, c, h, w}, 1);
    }

    /** Channels-last 4-D tensor (N, H, W, C). */
    public static Geometry nhwc(int n, int h, int w, int c) {
        return ofShape(new int[] {n, h, w, c}, 3);
    }

    /** Channels-first 3-D tensor (N, C, L), as after a 1-D convolution. */
    public static Geometry ncl(int n, int c, int l) {
        return ofShape(new int[] {n, c, l}, 1);
    }

    /** Channels-first 5-D tensor (N, C, D, H, W). */
    public static Geometry ncdhw(int n, int c, int d, int h, int w) {
        return ofShape(new int[] {n, c, d, h, w}, 1);
    }

    /** Channels-last 5-D tensor (N, D, H, W, C). */
    public static Geometry ndhwc(int n, int d, int h, int w, int c) {
        return ofShape(new int[] {n, d, h, w, c}, 4);
    }

    /** A 2-D batch of feature vectors (N, C), as after a dense layer. */
    public static Geometry matrix(int n, int c) {
        return ofShape(new int[] {n, c}, 1);
    }

    /**
     * Any rank with a channel axis, as Keras' {@code BatchNormalization(axis=...)}: a negative axis
     * counts from the end, so {@code -1} is channels-last.
     *
     * @param shape the tensor's dimensions, row-major, each at least 1
     * @param axis the channel axis, in {@code [-shape.length, shape.length)}
     */
    public static Geometry ofShape(int[] shape, int axis) {
        if (shape == null) {
            throw new NullPointerException("shape must not be null");
        }
        if (shape.length == 0) {
            throw new IllegalArgumentException("shape must have at least one dimension, got []");
        }
        int rank = shape.length;
        if (axis < -rank || axis >= rank) {
            throw new IllegalArgumentException("axis must be in [" + -rank + ", " + rank
                    + ") for shape " + Arrays.toString(shape) + ", got " + axis);
        }
        int channelAxis = axis < 0 ? axis + rank : axis;
        for (int d = 0; d < rank; d++) {
            if (shape[d] < 1) {
                throw new IllegalArgumentException("shape[" + d + "] must be at least 1, got "
                        + shape[d] + " in " + Arrays.toString(shape));
            }
        }
        long outer = 1;
        long inner = 1;
        for (int d = 0; d < channelAxis; d++) {
            outer *= shape[d];
            requireFits("the dimensions before the channel axis", outer, shape);
        }
        for (int d = channelAxis + 1; d < rank; d++) {
            inner *= shape[d];
            requireFits("the dimensions after the channel axis", inner, shape);
        }
        return new Geometry((int) outer, shape[channelAxis], (int) inner);
    }

    /** Number of floats the tensor holds: outer * channels * inner. */
    public long size() {
        return (long) outer * channels * inner;
    }

    /** Number of elements each channel's statistics reduce over: outer * inner. */
    public long reductionSize() {
        return (long) outer * inner;
    }

    /** True when a channel's elements are {@code channels} apart (NHWC, 2-D): inner == 1. */
    public boolean channelsLast() {
        return inner == 1;
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + value);
        }
    }

    private static void requireFits(String what, long product, int[] shape) {
        if (product > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + ": the product of "
                    + what + " must be at most " + Integer.MAX_VALUE + ", got more");
        }
    }
}
