package io.github.batchnorm4j;

import java.util.Objects;

/**
 * Where a tensor's floats live: a heap array and the index of the first element. The tensor's
 * length comes from its {@link Geometry}; the span only says where it starts.
 *
 * <p>Kernels take spans rather than bare arrays so that off-heap memory can be added as another
 * kind of span without changing any operation's signature.
 */
public final class FloatSpan {
    private final float[] array;
    private final int offset;

    private FloatSpan(float[] array, int offset) {
        this.array = array;
        this.offset = offset;
    }

    /** The whole array, from index 0. */
    public static FloatSpan of(float[] array) {
        return of(array, 0);
    }

    /**
     * The array from {@code offset} on.
     *
     * @throws NullPointerException if {@code array} is null
     * @throws IllegalArgumentException if {@code offset} is not in {@code [0, array.length]}
     */
    public static FloatSpan of(float[] array, int offset) {
        Objects.requireNonNull(array, "array must not be null");
        if (offset < 0 || offset > array.length) {
            throw new IllegalArgumentException("offset must be in [0, " + array.length
                    + "] (the array's length), got " + offset);
        }
        return new FloatSpan(array, offset);
    }

    /** The backing array. */
    public float[] array() {
        return array;
    }

    /** Index in {@link #array()} of the first element. */
    public int offset() {
        return offset;
    }

    /** Number of floats from the offset to the end of the array. */
    public int available() {
        return array.length - offset;
    }

    @Override
    public String toString() {
        return "FloatSpan[float[" + array.length + "] from " + offset + "]";
    }
}
