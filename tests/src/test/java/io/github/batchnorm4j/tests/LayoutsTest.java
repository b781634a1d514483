package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Layouts;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** NCHW <-> NHWC is a permutation: every element lands exactly where the index formula says. */
class LayoutsTest {

    static Stream<Arguments> shapes() {
        return Stream.of(Arguments.of(1, 1, 1, 1), Arguments.of(2, 3, 4, 5), Arguments.of(3, 17, 7, 7),
                Arguments.of(2, 16, 4, 4), Arguments.of(1, 64, 13, 13), Arguments.of(4, 257, 3, 5),
                Arguments.of(2, 5, 33, 9));
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void nchwToNhwcAndBack(int n, int c, int h, int w) {
        int size = n * c * h * w;
        float[] nchw = Data.gaussian(size, size, 0, 1);
        float[] nhwc = Run.nanArray(size + 5);
        Layouts.nchwToNhwc(n, c, h, w, FloatSpan.of(nchw), FloatSpan.of(nhwc, 2));
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < h * w; p++) {
                    float want = nchw[(i * c + ch) * h * w + p];
                    float got = nhwc[2 + (i * h * w + p) * c + ch];
                    if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got)) {
                        throw new AssertionError("(" + i + "," + ch + "," + p + "): " + got + " != " + want);
                    }
                }
            }
        }
        Run.assertOnlyRangeWritten("nhwc", nhwc, 2, size);

        float[] back = new float[size];
        Layouts.nhwcToNchw(n, h, w, c, FloatSpan.of(nhwc, 2), FloatSpan.of(back));
        assertArrayEquals(nchw, back);
    }

    @Test
    void rejectsShortAndOverlappingArrays() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Layouts.nchwToNhwc(2, 3, 4, 5, new float[120], new float[119]));
        assertTrue(e.getMessage().contains("dst must hold at least 120 floats"), e.getMessage());
        float[] shared = new float[200];
        e = assertThrows(IllegalArgumentException.class,
                () -> Layouts.nhwcToNchw(2, 4, 5, 3, FloatSpan.of(shared, 0), FloatSpan.of(shared, 60)));
        assertTrue(e.getMessage().contains("dst must not overlap src"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Layouts.nchwToNhwc(1, 1, 1, 1, null, new float[1]));
    }
}
