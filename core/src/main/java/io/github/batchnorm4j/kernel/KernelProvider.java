package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.parallel.Tasks;
import java.lang.System.Logger.Level;

/**
 * Picks the kernels for a variant. The vectorized and fused variants are built on {@link Loops}:
 * the Vector API implementation when the module {@code jdk.incubator.vector} is present, else the
 * scalar one, with a one-line hint logged once. {@code -Dbatchnorm4j.vector=false} forces the
 * scalar loops (how the tests cover that path).
 */
public final class KernelProvider {
    private static final String PANAMA = "io.github.batchnorm4j.kernel.panama.PanamaLoops";
    private static final Loops LOOPS = pickLoops();

    private KernelProvider() {}

    /** The kernels of {@code variant}, forking through {@code tasks}. */
    public static Kernels kernels(Variant variant, Tasks tasks) {
        return switch (variant) {
            case NAIVE -> new NaiveKernels();
            case VECTORIZED -> new VectorizedKernels(LOOPS, tasks);
            case FUSED -> new FusedKernels(LOOPS, tasks);
        };
    }

    /** The loops every non-naive kernel runs on. */
    public static Loops loops() {
        return LOOPS;
    }

    /** Float lanes per vector in the loops that run: 1 on the scalar path. */
    public static int vectorLanes() {
        return LOOPS.lanes();
    }

    private static Loops pickLoops() {
        System.Logger log = System.getLogger("io.github.batchnorm4j");
        if ("false".equals(System.getProperty("batchnorm4j.vector"))) {
            log.log(Level.INFO, "batchnorm4j: vector loops switched off (-Dbatchnorm4j.vector=false); using scalar loops");
            return new ScalarLoops();
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            log.log(Level.WARNING, "batchnorm4j: jdk.incubator.vector is not available, using scalar loops;"
                    + " add --add-modules jdk.incubator.vector for the vector kernels");
            return new ScalarLoops();
        }
        try {
            return (Loops) Class.forName(PANAMA).getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            log.log(Level.WARNING, "batchnorm4j: vector loops failed to load (" + e + "); using scalar loops");
            return new ScalarLoops();
        }
    }
}
