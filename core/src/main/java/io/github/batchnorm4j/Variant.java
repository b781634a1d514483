package io.github.batchnorm4j;

/** Which implementation of the kernels runs. All give the same results within float rounding. */
public enum Variant {
    /** Plain scalar loops, the textbook passes, one thread, double accumulators: the reference. */
    NAIVE,
    /** The textbook passes with the Vector API, split over threads. */
    VECTORIZED,
    /** The fewest trips through memory: cache-blocked statistics, one FMA per element, ReLU fused. */
    FUSED
}
