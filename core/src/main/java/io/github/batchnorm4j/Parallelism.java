package io.github.batchnorm4j;

import java.util.Objects;
import java.util.concurrent.ForkJoinPool;

/**
 * Which threads run the kernels: the calling thread always works, and a fork-join pool's
 * threads help it. Results are bitwise the same whatever the choice: how a tensor is cut into
 * reduction blocks depends on its shape alone, never on the thread count.
 *
 * <p>The library never uses {@link ForkJoinPool#commonPool()} unless a caller passes it.
 */
public final class Parallelism {
    private static final class MachinePool {
        static final Parallelism INSTANCE = threads(Runtime.getRuntime().availableProcessors());
    }

    private final ForkJoinPool pool;

    private Parallelism(ForkJoinPool pool) {
        this.pool = pool;
    }

    /** Everything on the calling thread. */
    public static Parallelism sequential() {
        return new Parallelism(null);
    }

    /**
     * The calling thread and a new private pool of {@code threads - 1} helpers (daemon threads;
     * idle ones retire); one thread means the calling thread alone. Create it once and keep it.
     */
    public static Parallelism threads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        return threads == 1 ? sequential() : new Parallelism(new ForkJoinPool(threads - 1));
    }

    /**
     * The calling thread helped by the caller's own pool: up to its parallelism plus one threads
     * work at once (the caller, when it is one of the pool's workers, counts once in practice).
     */
    public static Parallelism pool(ForkJoinPool pool) {
        return new Parallelism(Objects.requireNonNull(pool, "pool must not be null"));
    }

    /** A private pool shared by the library, sized to the machine's processors: the default. */
    public static Parallelism machine() {
        return MachinePool.INSTANCE;
    }

    /** How many threads may work at once: the caller and the pool's. */
    public int threads() {
        return pool == null ? 1 : pool.getParallelism() + 1;
    }

    /** The pool, or null for the calling thread. */
    ForkJoinPool forkJoinPool() {
        return pool;
    }

    @Override
    public String toString() {
        return pool == null ? "Parallelism[calling thread]" : "Parallelism[" + threads() + " threads]";
    }
}
