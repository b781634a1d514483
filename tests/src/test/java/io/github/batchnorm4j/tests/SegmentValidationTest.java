package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.Variant;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * A segment the call cannot use is refused before anything is written, with the argument's name:
 * too small, misaligned, read-only for an output, closed, confined to another thread, or
 * overlapping another tensor. Segments the call can use work whatever their kind.
 */
class SegmentValidationTest {
    private static final Geometry G = Geometry.nchw(4, 3, 5, 7);
    private static final int N = Math.toIntExact(G.size());
    private static final float[] X = Data.gaussian(21, N, 0.5, 2);
    private static final Parameters P = Parameters.affine(Data.uniform(22, 3, 0.5, 2), Data.uniform(23, 3, -1, 1));

    private static MemorySegment nativeCopy(Arena arena, float[] values) {
        MemorySegment segment = arena.allocate(ValueLayout.JAVA_FLOAT, values.length);
        MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, values.length);
        return segment;
    }

    private static final float SENTINEL = 42f;

    /** Training forward into y, which must come out untouched, as must the running statistics. */
    private static void assertRefused(Class<? extends RuntimeException> type, String message, FloatSpan x,
            FloatSpan y, MemorySegment yMemory) {
        RunningStatistics running = RunningStatistics.initial(3, RunningUpdate.pytorch(0.1));
        for (Variant variant : Variant.values()) {
            BatchNorm bn = Variants.batchNorm(variant, 2);
            expect(type, message, () -> bn.forwardTraining(G, x, y, P, BatchStatistics.allocate(3), running));
            expect(type, message, () -> bn.forwardInference(G, x, y, P, running));
        }
        for (long i = 0; i < yMemory.byteSize() / Float.BYTES; i++) {
            if (yMemory.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i) != SENTINEL) {
                throw new AssertionError("y[" + i + "] was written by a call that threw");
            }
        }
        assertArrayEquals(new float[3], running.mean(), "running mean changed by a call that threw");
    }

    private static MemorySegment sentinels(Arena arena, long floats) {
        MemorySegment y = arena.allocate(ValueLayout.JAVA_FLOAT, floats);
        for (long i = 0; i < floats; i++) {
            y.setAtIndex(ValueLayout.JAVA_FLOAT, i, SENTINEL);
        }
        return y;
    }

    @Test
    void tooSmall() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = sentinels(arena, N);
            assertRefused(IllegalArgumentException.class, "x must hold at least 420 floats from offset 0 for "
                    + G + ", but its segment holds 1676 bytes",
                    FloatSpan.of(nativeCopy(arena, X).asSlice(0, (N - 1) * 4L)), FloatSpan.of(y), y);
            assertRefused(IllegalArgumentException.class, "y must hold at least 420 floats from offset 1",
                    FloatSpan.of(nativeCopy(arena, X)), FloatSpan.of(y).from(1), y);
        }
    }

    @Test
    void spanNamesWhereItStarts() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(ValueLayout.JAVA_FLOAT, 8);
            String span = FloatSpan.of(segment).from(5).toString();
            assertTrue(span.endsWith(" from 5]") && span.contains("MemorySegment"), span);
            assertTrue(FloatSpan.of(new float[8], 3).toString().equals("FloatSpan[float[8] from 3]"));
        }
    }

    @Test
    void misaligned() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment odd = arena.allocate(4L * N + 2, 8).asSlice(2);
            expect(IllegalArgumentException.class, "segment must start at an address that is a multiple of 4 bytes",
                    () -> FloatSpan.of(odd));
        }
    }

    @Test
    void readOnlyOutput() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = sentinels(arena, N);
            assertRefused(IllegalArgumentException.class, "y is written, so its segment must not be read-only",
                    FloatSpan.of(nativeCopy(arena, X)), FloatSpan.of(y.asReadOnly()), y);
            // a read-only input is fine
            Variants.batchNorm(Variant.FUSED, 2).forwardTraining(G, FloatSpan.of(nativeCopy(arena, X).asReadOnly()),
                    FloatSpan.of(y), P, BatchStatistics.allocate(3), null);
        }
    }

    @Test
    void closedArena() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = sentinels(arena, N);
            Arena closed = Arena.ofShared();
            FloatSpan x = FloatSpan.of(nativeCopy(closed, X));
            closed.close();
            assertRefused(IllegalStateException.class, "x must be in an open segment, but its arena is closed",
                    x, FloatSpan.of(y), y);
        }
    }

    @Test
    void confinedToAnotherThread() throws Exception {
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = sentinels(arena, N);
            Arena foreign = other.submit(Arena::ofConfined).get();
            FloatSpan x = FloatSpan.of(other.submit(() -> nativeCopy(foreign, X)).get());
            assertRefused(IllegalStateException.class,
                    "x must be accessible by the calling thread, but its segment is confined to another thread",
                    x, FloatSpan.of(y), y);
            other.submit(foreign::close).get();
        } finally {
            other.shutdown();
        }
    }

    /** A segment confined to the caller runs on the caller alone, with the bits of arrays at any thread count. */
    @Test
    void confinedToTheCallingThreadWorks() {
        float[] want = new float[N];
        BatchStatistics wantSaved = BatchStatistics.allocate(3);
        Variants.batchNorm(Variant.FUSED, 1).forwardTraining(G, X, want, P, wantSaved, null);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = arena.allocate(ValueLayout.JAVA_FLOAT, N);
            BatchStatistics saved = BatchStatistics.allocate(3);
            // large enough for the pool to take part if it could
            Variants.batchNorm(Variant.FUSED, 7).forwardTraining(G, FloatSpan.of(nativeCopy(arena, X)),
                    FloatSpan.of(y), P, saved, null);
            assertArrayEquals(want, y.toArray(ValueLayout.JAVA_FLOAT));
            assertArrayEquals(wantSaved.invStd(), saved.invStd());
        }
    }

    @Test
    void overlappingTensors() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shared = arena.allocate(ValueLayout.JAVA_FLOAT, N + 2);
            MemorySegment.copy(X, 0, shared, ValueLayout.JAVA_FLOAT, 0, N);
            float[] before = shared.toArray(ValueLayout.JAVA_FLOAT);
            expect(IllegalArgumentException.class, "y must either be x itself (same memory and offset) or not overlap it",
                    () -> Variants.batchNorm(Variant.FUSED, 2).forwardTraining(G, FloatSpan.of(shared),
                            FloatSpan.of(shared).from(2), P, BatchStatistics.allocate(3), null));
            // y starts 2 floats after x: they share all but 2 of the tensor's floats
            expect(IllegalArgumentException.class, "which share " + (N - 2) + " of their " + N + " floats",
                    () -> Variants.batchNorm(Variant.FUSED, 2).forwardTraining(G, FloatSpan.of(shared),
                            FloatSpan.of(shared).from(2), P, BatchStatistics.allocate(3), null));
            assertArrayEquals(before, shared.toArray(ValueLayout.JAVA_FLOAT), "refused call wrote");
            // the same memory through two slices at one address is in place, and allowed
            Variants.batchNorm(Variant.FUSED, 2).forwardTraining(G, FloatSpan.of(shared),
                    FloatSpan.of(shared.asSlice(0, 4L * N)), P, BatchStatistics.allocate(3), null);
        }
    }

    /** A heap segment over a per-channel array is that array: writing it is refused as writing the array is. */
    @Test
    void heapSegmentOverAParameterArray() {
        Geometry one = Geometry.matrix(1, 3);
        float[] mean = {0.5f, -1f, 2f};
        RunningStatistics running = RunningStatistics.of(mean, new float[] {1, 2, 3}, RunningUpdate.pytorch(0.1));
        expect(IllegalArgumentException.class, "y must not be the same array as running mean",
                () -> Variants.batchNorm(Variant.FUSED, 1).forwardInference(one, FloatSpan.of(new float[] {1, 2, 3}),
                        FloatSpan.of(MemorySegment.ofArray(mean)), P, running));
        assertArrayEquals(new float[] {0.5f, -1f, 2f}, mean, "refused call wrote the running mean");
    }

    /** A heap segment over bytes holds floats too: the bits of the float array, in every variant. */
    @Test
    void byteBackedHeapSegment() {
        for (Variant variant : Variant.values()) {
            float[] want = new float[N];
            Variants.batchNorm(variant, 2).forwardTraining(G, X, want, P, BatchStatistics.allocate(3), null);
            MemorySegment x = MemorySegment.ofArray(new byte[4 * N]);
            MemorySegment.copy(X, 0, x, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, N);
            MemorySegment y = MemorySegment.ofArray(new byte[4 * N]);
            Variants.batchNorm(variant, 2).forwardTraining(G, FloatSpan.of(x), FloatSpan.of(y), P,
                    BatchStatistics.allocate(3), null);
            assertArrayEquals(want, y.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), variant + ": y");
        }
    }

    private static void expect(Class<? extends RuntimeException> type, String message, Executable call) {
        RuntimeException e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(message), () -> "message '" + e.getMessage() + "' should contain '" + message + "'");
    }
}
