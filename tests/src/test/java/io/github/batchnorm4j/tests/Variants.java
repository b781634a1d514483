package io.github.batchnorm4j.tests;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.Variant;
import java.util.stream.Stream;

/** The variants every behavioural test runs on. */
final class Variants {
    private Variants() {}

    static Stream<Variant> all() {
        return Stream.of(Variant.NAIVE);
    }

    static BatchNorm batchNorm(Variant variant) {
        return BatchNorm.builder().variant(variant).threads(1).build();
    }
}
