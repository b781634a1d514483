package io.github.batchnorm4j.tests;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.Variant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** The variants every behavioural test runs on, and one layer per (variant, threads). */
final class Variants {
    /** Thread counts every variant is checked at; results must be bitwise the same for all. */
    static final int[] THREADS = {1, 2, 3, 7, 16};

    private static final Map<String, BatchNorm> CACHE = new ConcurrentHashMap<>();

    private Variants() {}

    static Stream<Variant> all() {
        return Stream.of(Variant.values());
    }

    static BatchNorm batchNorm(Variant variant) {
        return batchNorm(variant, 1);
    }

    /** Pools are kept for the whole run: a new pool per test would leave thousands of threads. */
    static BatchNorm batchNorm(Variant variant, int threads) {
        return CACHE.computeIfAbsent(variant + "/" + threads,
                k -> BatchNorm.builder().variant(variant).threads(threads).build());
    }
}
