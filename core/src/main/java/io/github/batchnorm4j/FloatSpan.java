package io.github.batchnorm4j;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Where a tensor's floats live: a heap array from an index, or a {@link MemorySegment} (native
 * memory, a mapped file, or a heap segment) from its start. The tensor's length comes from its
 * {@link Geometry}; the span only says where it starts. Spans of either kind mix freely in one
 * call, and every variant gives the same bits on either.
 *
 * <p>A segment's floats are read in the platform's byte order. Its address must be a multiple of
 * 4 bytes, and it must stay open for the whole call. A segment confined to the calling thread
 * ({@code Arena.ofConfined()}) works, on that thread alone: the call does not fork.
 */
public final class FloatSpan {
    /** Where element i lives: at byte (offset + i) * 4 of this segment. */
    private final MemorySegment segment;
    /** The array of an array span, null for a segment span. */
    private final float[] array;
    /** In floats. */
    private final long offset;

    private FloatSpan(MemorySegment segment, float[] array, long offset) {
        this.segment = segment;
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
        return new FloatSpan(MemorySegment.ofArray(array), array, offset);
    }

    /**
     * The segment from its first byte on: off-heap memory read and written in place, with no copy.
     * It may hold more than 2^31 floats.
     *
     * @throws NullPointerException if {@code segment} is null
     * @throws IllegalArgumentException if its address is not a multiple of 4 bytes
     */
    public static FloatSpan of(MemorySegment segment) {
        Objects.requireNonNull(segment, "segment must not be null");
        if (segment.address() % Float.BYTES != 0) {
            throw new IllegalArgumentException("segment must start at an address that is a multiple of "
                    + Float.BYTES + " bytes (a float's alignment), got " + segment);
        }
        return new FloatSpan(segment, null, 0);
    }

    /** Whether this span is a segment's rather than an array's. */
    public boolean isSegment() {
        return array == null;
    }

    /**
     * The backing array of an array span.
     *
     * @throws UnsupportedOperationException for a segment span
     */
    public float[] array() {
        if (array == null) {
            throw new UnsupportedOperationException("a segment span has no array: " + this);
        }
        return array;
    }

    /**
     * The memory the span starts in: a heap segment over the array for an array span, the
     * segment itself for a segment span. Element i is the float at byte {@code (offset() + i) * 4}.
     */
    public MemorySegment segment() {
        return segment;
    }

    /** Index of the first element: in {@link #array()}, or in floats from the segment's start. */
    public long offset() {
        return offset;
    }

    /** Number of floats from the offset to the end of the array or segment. */
    public long available() {
        return segment.byteSize() / Float.BYTES - offset;
    }

    /** The float at element {@code index} of the span. */
    public float get(long index) {
        return segment.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, offset + index);
    }

    /** Sets the float at element {@code index} of the span. */
    public void set(long index, float value) {
        segment.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, offset + index, value);
    }

    /** The span from element {@code from} of this one on. */
    public FloatSpan from(long from) {
        if (from < 0 || from > available()) {
            throw new IllegalArgumentException("from must be in [0, " + available() + "], got " + from);
        }
        return new FloatSpan(segment, array, offset + from);
    }

    @Override
    public String toString() {
        return array != null ? "FloatSpan[float[" + array.length + "] from " + offset + "]"
                : "FloatSpan[" + segment + " from " + offset + "]";
    }
}
