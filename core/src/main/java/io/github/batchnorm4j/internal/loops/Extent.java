package io.github.batchnorm4j.internal.loops;

/**
 * The bounds check each loop makes once per call, on each tensor: the floats it will touch lie
 * inside the segment. Each loop reads {@code byteSize()} of its segments itself: that call, in
 * the loop's own code, is where the JIT learns the segment's class, which the Vector API needs
 * to compile its loads and stores to plain instructions.
 */
final class Extent {
    private Extent() {}

    /** Floats touched by {@code runs} runs of {@code length}, {@code stride} apart. */
    static long runs(int runs, int length, int stride) {
        return (long) (runs - 1) * stride + length;
    }

    /** Checks that a segment of {@code byteSize} bytes holds the floats {@code [from, from + floats)}. */
    static void check(String name, long byteSize, long from, long floats) {
        if (from < 0 || (from + floats) * Float.BYTES > byteSize) {
            throw new IndexOutOfBoundsException(name + ": floats [" + from + ", " + (from + floats)
                    + ") are not all in a segment of " + byteSize + " bytes");
        }
    }
}
