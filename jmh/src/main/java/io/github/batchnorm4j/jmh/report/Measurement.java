package io.github.batchnorm4j.jmh.report;

/**
 * One JMH result: which benchmark method, its parameters, and the average time per operation.
 *
 * @param operation the benchmark method: forwardTraining, forwardInference, backward, copy, triad,
 *     arraycopy, read, dot, readFirstForward, readFirstBackward, planarForward, planarBackward,
 *     nchwToNhwc, nhwcToNchw
 * @param variant NAIVE, VECTORIZED or FUSED; empty for baselines and conversions
 * @param layout NCHW or NHWC; empty where the benchmark has none
 * @param shape the shape parameter, e.g. "32x64x56x56" or "2048x512"
 * @param threads the threads parameter as JMH recorded it
 * @param msPerOp the average time of one operation, in milliseconds
 * @param msError JMH's 99.9% confidence half-width, in milliseconds
 */
public record Measurement(String operation, String variant, String layout, String shape, String threads,
        double msPerOp, double msError) {

    /** Elements of the tensor: the product of the shape's dimensions. */
    public long elements() {
        long product = 1;
        for (String dimension : shape.split("x")) {
            product *= Long.parseLong(dimension.trim());
        }
        return product;
    }

    /**
     * Bytes the operation must move at the least: forward, inference, copy and layout
     * conversion read one tensor and write one (8 bytes an element); backward and triad read two
     * and write one (12); the read baseline reads one (4), the dot baseline two (8). The
     * read-first and planar loops count the traffic of the operation they bound (8 and 12).
     */
    public long minimalBytes() {
        return switch (operation) {
            case "read" -> 4 * elements();
            case "dot" -> 8 * elements();
            default -> (isBackwardLike() ? 12 : 8) * elements();
        };
    }

    /** Gigabytes a second of minimal traffic. */
    public double gigabytesPerSecond() {
        return minimalBytes() / (msPerOp * 1e-3) / 1e9;
    }

    /** The bandwidth baseline this operation is measured against: triad for backward, else copy. */
    public String baseline() {
        return isBackwardLike() ? "triad" : "copy";
    }

    public boolean isBaseline() {
        return switch (operation) {
            case "copy", "triad", "arraycopy", "read", "dot", "readFirstForward", "readFirstBackward",
                    "planarForward", "planarBackward" -> true;
            default -> false;
        };
    }

    private boolean isBackwardLike() {
        return switch (operation) {
            case "backward", "triad", "readFirstBackward", "planarBackward" -> true;
            default -> false;
        };
    }
}
