package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.Geometry;

/** Benchmark shapes as JMH parameters: "N,C,H,W" or "N,C" in a layout. */
final class Shapes {
    private Shapes() {}

    /** {@code shape} lists N, C and the spatial sizes; {@code layout} is NCHW or NHWC. */
    static Geometry geometry(String shape, String layout) {
        String[] parts = shape.split("x");
        int[] dims = new int[parts.length];
        for (int k = 0; k < parts.length; k++) {
            dims[k] = Integer.parseInt(parts[k].trim());
        }
        int spatial = 1;
        for (int k = 2; k < dims.length; k++) {
            spatial *= dims[k];
        }
        return switch (layout) {
            case "NCHW" -> new Geometry(dims[0], dims[1], spatial);
            case "NHWC" -> new Geometry(dims[0] * spatial, dims[1], 1);
            default -> throw new IllegalArgumentException("layout must be NCHW or NHWC, got " + layout);
        };
    }
}
