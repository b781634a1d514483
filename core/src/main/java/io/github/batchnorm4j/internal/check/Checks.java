package io.github.batchnorm4j.internal.check;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import java.lang.foreign.MemorySegment;

/**
 * Argument checks shared by every operation. Each names the argument and the value it expected,
 * and all run before any kernel writes, so a call that fails changes nothing.
 */
public final class Checks {
    private Checks() {}

    public static <T> T requireNonNull(String name, T value) {
        if (value == null) {
            throw new NullPointerException(name + " must not be null");
        }
        return value;
    }

    /**
     * A tensor argument holds the geometry's floats from its offset on, and a segment's memory
     * can be used by this call: open, and not confined to another thread.
     */
    public static FloatSpan requireTensor(String name, FloatSpan span, Geometry geometry) {
        requireNonNull(name, span);
        if (span.available() < geometry.size()) {
            throw new IllegalArgumentException(name + " must hold at least " + geometry.size()
                    + " floats from offset " + span.offset() + " for " + geometry + ", but "
                    + (span.isSegment() ? "its segment holds " + span.segment().byteSize() + " bytes"
                            : "its array has length " + span.array().length));
        }
        MemorySegment segment = span.segment();
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(name + " must be in an open segment, but its arena is closed: " + segment);
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new IllegalStateException(name + " must be accessible by the calling thread, but its segment"
                    + " is confined to another thread: " + segment);
        }
        return span;
    }

    /** A tensor the call writes: a {@link #requireTensor} that is not read-only. */
    public static FloatSpan requireOutput(String name, FloatSpan span, Geometry geometry) {
        requireTensor(name, span, geometry);
        if (span.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + " is written, so its segment must not be read-only: "
                    + span.segment());
        }
        return span;
    }

    /**
     * Whether the library's pool threads may touch this memory: false when it is confined to the
     * calling thread, and the call must then not fork.
     */
    public static boolean shareable(MemorySegment segment) {
        return segment.isAccessibleBy(NOT_AN_OWNER);
    }

    /** A thread that owns no segment: a segment it may access is not confined. Never started. */
    private static final Thread NOT_AN_OWNER = Thread.ofPlatform().unstarted(() -> {});

    /** A per-channel array has exactly one entry per channel. */
    public static float[] requireChannels(String name, float[] array, int channels) {
        requireNonNull(name, array);
        if (array.length != channels) {
            throw new IllegalArgumentException(name + " must have length " + channels
                    + " (the channels), got " + array.length);
        }
        return array;
    }

    /** A per-channel output that may be null (not wanted) but otherwise has one entry per channel. */
    public static float[] requireChannelsOrNull(String name, float[] array, int channels) {
        return array == null ? null : requireChannels(name, array, channels);
    }

    /**
     * An output either is its input (in place) or does not touch it: a partial overlap would
     * overwrite input the kernel has yet to read.
     */
    public static void requireInPlaceOrDisjoint(
            String outName, FloatSpan out, String inName, FloatSpan in, Geometry geometry) {
        long overlap = overlap(out, in, geometry);
        if (overlap > 0 && start(out) != start(in)) {
            throw new IllegalArgumentException(outName + " must either be " + inName
                    + " itself (same memory and offset) or not overlap it; got " + out + " and " + in
                    + ", which share " + overlap + " of their " + geometry.size() + " floats");
        }
    }

    /** An output that must not share a byte with an input (a transpose cannot run in place). */
    public static void requireDisjoint(String outName, FloatSpan out, String inName, FloatSpan in, Geometry geometry) {
        long overlap = overlap(out, in, geometry);
        if (overlap > 0) {
            throw new IllegalArgumentException(outName + " must not overlap " + inName + "; got " + out
                    + " and " + in + ", which share " + overlap + " of their " + geometry.size() + " floats");
        }
    }

    /** The floats two tensors of this geometry share: 0 in different memory or apart. */
    private static long overlap(FloatSpan a, FloatSpan b, Geometry geometry) {
        if (!sameMemory(a, b)) {
            return 0;
        }
        long bytes = geometry.size() * Float.BYTES;
        long shared = Math.min(start(a), start(b)) + bytes - Math.max(start(a), start(b));
        return Math.max(0, shared) / Float.BYTES;
    }

    /** One heap object, or both native (one address space). */
    private static boolean sameMemory(FloatSpan a, FloatSpan b) {
        return a.segment().heapBase().orElse(null) == b.segment().heapBase().orElse(null);
    }

    /** The span's first byte: an address, or an offset in its heap object. */
    private static long start(FloatSpan span) {
        return span.segment().address() + span.offset() * Float.BYTES;
    }

    /** The epsilon added to the variance: finite and > 0. */
    public static float requireEpsilon(float epsilon) {
        if (!(epsilon > 0) || !Float.isFinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be finite and > 0, got " + epsilon);
        }
        return epsilon;
    }

    /** Two per-channel arrays that must not be one array: at least one of them is written. */
    public static void requireDistinct(String name, float[] array, String otherName, float[] other) {
        if (array == other) {
            throw new IllegalArgumentException(name + " and " + otherName
                    + " must be different arrays, got the same one for both");
        }
    }

    /** One array a call touches, by name: a tensor's or a per-channel one, read or written. */
    public record Use(String name, float[] array, boolean tensor, boolean written) {
        public static Use reads(String name, float[] array) {
            return new Use(name, array, false, false);
        }

        public static Use writes(String name, float[] array) {
            return new Use(name, array, false, true);
        }

        public static Use readsTensor(String name, FloatSpan span) {
            return new Use(name, span == null ? null : heapArray(span), true, false);
        }

        public static Use writesTensor(String name, FloatSpan span) {
            return new Use(name, heapArray(span), true, true);
        }
    }

    /** The float array a span's memory is, if any: a heap segment over a float[] counts as that array. */
    private static float[] heapArray(FloatSpan span) {
        return span.segment().heapBase().orElse(null) instanceof float[] array ? array : null;
    }

    /**
     * No array a call writes is also another of its arguments: the kernels read and write
     * per-channel arrays at different times, so a shared one would give results that differ by
     * variant. Two tensors may share an array (y in place of x); {@link #requireInPlaceOrDisjoint}
     * checks those. Null arrays (not used) are skipped.
     */
    public static void requireUnaliased(Use... uses) {
        for (int i = 0; i < uses.length; i++) {
            for (int j = i + 1; j < uses.length; j++) {
                Use a = uses[i];
                Use b = uses[j];
                if (a.array() != null && a.array() == b.array() && (a.written() || b.written())
                        && !(a.tensor() && b.tensor())) {
                    Use written = a.written() ? a : b;
                    Use other = written == a ? b : a;
                    throw new IllegalArgumentException(written.name() + " must not be the same array as "
                            + other.name() + ": the call writes " + written.name()
                            + (other.written() ? " and also writes " : " and reads ") + other.name());
                }
            }
        }
    }

    /** Training statistics need two values per channel at least (as PyTorch). */
    public static void requireTrainable(Geometry geometry) {
        if (geometry.reductionSize() < 2) {
            throw new IllegalArgumentException("training needs more than 1 value per channel, got "
                    + geometry + " with outer * inner = " + geometry.reductionSize());
        }
    }
}
