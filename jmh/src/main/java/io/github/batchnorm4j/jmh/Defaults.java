package io.github.batchnorm4j.jmh;

/** JVM flags every benchmark fork runs with: the vector module and a fixed, pre-touched heap. */
final class Defaults {
    private Defaults() {}

    static final String VECTOR = "--add-modules=jdk.incubator.vector";
}
