package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import java.lang.foreign.Arena;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.provider.Arguments;

/**
 * A tensor no array holds: 2^31 + 2^21 floats (8.6 GB) in native memory, as rows of two
 * channels (2^30 + 2^20 rows) and as 2048 planes of 2^20 + 2^10 floats. Indices past 2^31 and
 * offsets past 2^33 bytes must stay exact in every variant and layout family.
 */
class HugeSegmentTest extends HugeTensorCases {
    static final long SIZE = (1L << 31) + (1L << 21);
    private Arena arena;
    private FloatSpan tensor;

    @BeforeAll
    void allocate() {
        // the native tensor beside the heap another huge test may still hold
        assumeTrue(machineHas(20L << 30, 0), "needs 20 GiB of memory for a native tensor of 8.6 GB; " + machine());
        arena = Arena.ofShared();
        tensor = FloatSpan.of(arena.allocate(SIZE * Float.BYTES, 64));
    }

    @AfterAll
    void release() {
        if (arena != null) {
            arena.close();
        }
    }

    @Override
    FloatSpan tensor() {
        return tensor;
    }

    @Override
    Stream<Arguments> cases() {
        return bothFamilies(Geometry.matrix((int) (SIZE / 2), 2), Geometry.ncl(2048, 1, (1 << 20) + (1 << 10)));
    }
}
