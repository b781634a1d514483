package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.Variant;
import java.util.concurrent.ForkJoinPool;

/**
 * Picks the kernels for a variant. The vector kernels need the incubating module
 * {@code jdk.incubator.vector}; without it (or with {@code -Dbatchnorm4j.vector=false}) every
 * variant runs on the scalar path and a one-line hint is logged once.
 */
public final class KernelProvider {
    private KernelProvider() {}

    /** The kernels of {@code variant}, forking on {@code pool} (null: the calling thread). */
    public static Kernels kernels(Variant variant, ForkJoinPool pool) {
        return switch (variant) {
            case NAIVE -> new NaiveKernels();
            case VECTORIZED, FUSED -> throw new UnsupportedOperationException("variant " + variant
                    + " is not available yet; use Variant.NAIVE");
        };
    }
}
