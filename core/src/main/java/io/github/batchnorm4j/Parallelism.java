package io.github.batchnorm4j;

import io.github.batchnorm4j.internal.parallel.Tasks;
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

    /** The most {@link #threads(int)} takes: the caller and a fork-join pool's largest parallelism. */
    public static final int MAX_THREADS = 32768;

    private final Tasks tasks;

    private Parallelism(ForkJoinPool pool, boolean ownPool) {
        this.tasks = new Tasks(pool, ownPool);
    }

    /** Everything on the calling thread. */
    public static Parallelism sequential() {
        return new Parallelism(null, false);
    }

    /**
     * The calling thread and a new private pool of {@code threads - 1} helpers (daemon threads;
     * idle ones retire); one thread means the calling thread alone. Create it once and keep it:
     * after a call its helpers wait 0.2 ms, spinning, so that calls in quick succession fork
     * without waking them, and calls too small to pay for a wake-up can still use them.
     */
    public static Parallelism threads(int threads) {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be in [1, " + MAX_THREADS
                    + "] (the calling thread and a fork-join pool's at most " + (MAX_THREADS - 1) + "), got " + threads);
        }
        return threads == 1 ? sequential() : new Parallelism(new ForkJoinPool(threads - 1), true);
    }

    /**
     * The calling thread helped by the caller's own pool: up to its parallelism plus one threads
     * work at once (the caller, when it is one of the pool's workers, counts once in practice).
     * The pool's threads are never kept waiting after a call, so calls below about a million
     * floats touched run on the calling thread alone. A pool that refuses a task (shut down or
     * saturated) costs only speed: the calling thread does the work no helper took, and a call
     * returns only once all of it is done.
     */
    public static Parallelism pool(ForkJoinPool pool) {
        return new Parallelism(Objects.requireNonNull(pool, "pool must not be null"), false);
    }

    /** A private pool shared by the library, sized to the machine's processors: the default. */
    public static Parallelism machine() {
        return MachinePool.INSTANCE;
    }

    /** How many threads may work at once: the caller and the pool's. */
    public int threads() {
        return tasks.threads();
    }

    /** Hands the kernels' tasks to the threads. */
    Tasks tasks() {
        return tasks;
    }

    @Override
    public String toString() {
        return threads() == 1 ? "Parallelism[calling thread]" : "Parallelism[" + threads() + " threads]";
    }
}
