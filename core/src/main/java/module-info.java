/**
 * batchnorm4j: batch normalization for float32 tensors on the CPU.
 *
 * <p>The Vector API is optional at run time: without {@code --add-modules jdk.incubator.vector}
 * every variant runs on the scalar path and a one-line hint is logged once.
 */
module io.github.batchnorm4j {
    requires static jdk.incubator.vector;

    exports io.github.batchnorm4j;
    exports io.github.batchnorm4j.layer;
}
