package io.github.batchnorm4j.check;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;

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

    /** A tensor argument holds the geometry's floats from its offset on. */
    public static FloatSpan requireTensor(String name, FloatSpan span, Geometry geometry) {
        requireNonNull(name, span);
        if (span.available() < geometry.size()) {
            throw new IllegalArgumentException(name + " must hold at least " + geometry.size()
                    + " floats from offset " + span.offset() + " for " + geometry + ", but its array has length "
                    + span.array().length);
        }
        return span;
    }

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
        if (out.array() != in.array() || out.offset() == in.offset()) {
            return;
        }
        int size = geometry.size();
        boolean disjoint = out.offset() + size <= in.offset() || in.offset() + size <= out.offset();
        if (!disjoint) {
            throw new IllegalArgumentException(outName + " must either be " + inName
                    + " itself (same array and offset) or not overlap it; got offsets "
                    + out.offset() + " and " + in.offset() + " in one array for " + size + " floats");
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
