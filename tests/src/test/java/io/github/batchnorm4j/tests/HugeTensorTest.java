package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The largest tensor a {@code float[]} holds, one channel, as rows (the longest row blocking)
 * and as one plane (the longest run). Needs about 9 GB of heap.
 */
class HugeTensorTest extends HugeTensorCases {
    /** Past 63 * 2^25 rows, where the 64th row chunk starts and ends beyond 2^31 - 2^25. */
    static final int SIZE = Integer.MAX_VALUE - 63;
    private FloatSpan tensor;

    @BeforeAll
    void allocate() {
        assumeTrue(machineHas(16L << 30, 9L << 30),
                "needs 16 GiB of memory and a 9 GiB heap for a tensor of 2^31 - 64 floats; " + machine());
        tensor = FloatSpan.of(new float[SIZE]);
    }

    @AfterAll
    void release() {
        tensor = null;
    }

    @Override
    FloatSpan tensor() {
        return tensor;
    }

    @Override
    Stream<Arguments> cases() {
        return bothFamilies(Geometry.matrix(SIZE, 1), Geometry.ncl(1, 1, SIZE));
    }
}
