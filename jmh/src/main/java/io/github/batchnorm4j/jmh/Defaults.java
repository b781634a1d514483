package io.github.batchnorm4j.jmh;

/** What every benchmark shares: the vector module flag and the meaning of the threads parameter. */
final class Defaults {
    private Defaults() {}

    static final String VECTOR = "--add-modules=jdk.incubator.vector";

    /** The threads parameter: a count, or "all" for the machine's processors. */
    static int threads(String threads) {
        return threads.equals("all") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(threads);
    }
}
