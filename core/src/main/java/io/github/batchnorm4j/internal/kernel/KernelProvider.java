package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.internal.kernel.naive.NaiveKernels;
import io.github.batchnorm4j.internal.kernel.planar.FusedPlanar;
import io.github.batchnorm4j.internal.kernel.planar.VectorizedPlanar;
import io.github.batchnorm4j.internal.kernel.rows.FusedRows;
import io.github.batchnorm4j.internal.kernel.rows.VectorizedRows;
import io.github.batchnorm4j.internal.loops.LoopCopies;
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
    /** A copy of the loops per class of segment the tensors of a call are in (see {@link LoopCopies}). */
    private static final ClassValue<Loops> BY_MEMORY = new ClassValue<>() {
        @Override
        protected Loops computeValue(Class<?> segmentClass) {
            try {
                return LoopCopies.copyOf(LOOPS);
            } catch (IllegalStateException | LinkageError e) {
                System.getLogger("io.github.batchnorm4j").log(Level.WARNING, "batchnorm4j: " + e.getMessage()
                        + "; tensors in " + segmentClass.getSimpleName() + " share the loops of every other memory");
                return LOOPS;
            }
        }
    };

    private KernelProvider() {}

    /** The kernels of {@code variant}, forking through {@code tasks}, for tensors in any memory. */
    public static Kernels kernels(Variant variant, Tasks tasks) {
        return kernels(variant, tasks, LOOPS);
    }

    /**
     * The kernels of {@code variant} for calls whose tensors all lie in segments of one class
     * ({@code MemorySegment.getClass()}): on loops of their own, which the JIT compiles for that
     * memory alone.
     */
    public static Kernels kernels(Variant variant, Tasks tasks, Class<?> segmentClass) {
        return kernels(variant, tasks, BY_MEMORY.get(segmentClass));
    }

    private static Kernels kernels(Variant variant, Tasks tasks, Loops loops) {
        return switch (variant) {
            case NAIVE -> new NaiveKernels();
            case VECTORIZED -> new ByLayout(variant, loops, tasks, new VectorizedPlanar(loops, tasks),
                    new VectorizedRows(loops, tasks));
            case FUSED -> new ByLayout(variant, loops, tasks, new FusedPlanar(loops, tasks),
                    new FusedRows(loops, tasks));
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
