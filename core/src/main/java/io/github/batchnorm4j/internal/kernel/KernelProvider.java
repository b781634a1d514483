package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.internal.kernel.naive.NaiveKernels;
import io.github.batchnorm4j.internal.kernel.planar.FusedPlanar;
import io.github.batchnorm4j.internal.kernel.planar.VectorizedPlanar;
import io.github.batchnorm4j.internal.kernel.rows.FusedRows;
import io.github.batchnorm4j.internal.kernel.rows.VectorizedRows;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.loops.ScalarLoops;
import io.github.batchnorm4j.internal.parallel.Tasks;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * Picks the kernels for a variant. The vectorized and fused variants are built on {@link Loops}:
 * the Vector API implementation when the module {@code jdk.incubator.vector} is present, else the
 * scalar one, with a one-line hint logged once. {@code -Dbatchnorm4j.vector=false} forces the
 * scalar loops (how the tests cover that path), {@code -Dbatchnorm4j.vectorBits} a vector width.
 */
public final class KernelProvider {
    private static final String PANAMA = "io.github.batchnorm4j.internal.loops.PanamaLoops";
    /** The vector widths {@code -Dbatchnorm4j.vectorBits} may name; any other is ignored, with a warning. */
    public static final List<String> VECTOR_BITS = List.of("64", "128", "256", "512");
    private static final Loops LOOPS = pickLoops();

    private KernelProvider() {}

    /** The kernels of {@code variant}, forking through {@code tasks}. */
    public static Kernels kernels(Variant variant, Tasks tasks) {
        return switch (variant) {
            case NAIVE -> new NaiveKernels();
            case VECTORIZED -> new ByLayout(variant, LOOPS, tasks, new VectorizedPlanar(LOOPS, tasks),
                    new VectorizedRows(LOOPS, tasks));
            case FUSED -> new ByLayout(variant, LOOPS, tasks, new FusedPlanar(LOOPS, tasks),
                    new FusedRows(LOOPS, tasks));
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
        String bits = System.getProperty("batchnorm4j.vectorBits");
        if (bits != null && !VECTOR_BITS.contains(bits)) {
            log.log(Level.WARNING, "batchnorm4j: -Dbatchnorm4j.vectorBits must be one of " + VECTOR_BITS
                    + ", got \"" + bits + "\"; using the machine's preferred vector width");
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            log.log(Level.WARNING, "batchnorm4j: jdk.incubator.vector is not available, using scalar loops;"
                    + " add --add-modules jdk.incubator.vector for the vector kernels");
            return new ScalarLoops();
        }
        try {
            return (Loops) Class.forName(PANAMA).getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            log.log(Level.WARNING, "batchnorm4j: vector loops failed to load (" + cause + "); using scalar loops");
            return new ScalarLoops();
        }
    }
}
