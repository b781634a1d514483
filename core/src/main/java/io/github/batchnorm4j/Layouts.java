package io.github.batchnorm4j;

import static io.github.batchnorm4j.internal.check.Checks.requireDisjoint;
import static io.github.batchnorm4j.internal.check.Checks.requireNonNull;
import static io.github.batchnorm4j.internal.check.Checks.requireOutput;
import static io.github.batchnorm4j.internal.check.Checks.requireTensor;

import io.github.batchnorm4j.internal.kernel.KernelProvider;

/**
 * Converts tensors between NCHW and NHWC, a vectorized transpose per image. Use it to see
 * whether converting once beats running batch normalization in the slower layout (the jmh
 * module's LayoutConversionBenchmark measures both). Runs on the calling thread; a destination
 * that is not an array is written by scalar tiles (the Vector API scatters into arrays only).
 */
public final class Layouts {
    private Layouts() {}

    /** {@code dst(n, h, w, c) = src(n, c, h, w)}. src and dst must not overlap. */
    public static void nchwToNhwc(int n, int c, int h, int w, FloatSpan src, FloatSpan dst) {
        transposeImages(Geometry.nchw(n, c, h, w), src, dst, n, c, h * w);
    }

    /** {@link #nchwToNhwc(int, int, int, int, FloatSpan, FloatSpan)} on whole arrays. */
    public static void nchwToNhwc(int n, int c, int h, int w, float[] src, float[] dst) {
        nchwToNhwc(n, c, h, w, FloatSpan.of(requireNonNull("src", src)), FloatSpan.of(requireNonNull("dst", dst)));
    }

    /** {@code dst(n, c, h, w) = src(n, h, w, c)}. src and dst must not overlap. */
    public static void nhwcToNchw(int n, int h, int w, int c, FloatSpan src, FloatSpan dst) {
        transposeImages(Geometry.nhwc(n, h, w, c), src, dst, n, h * w, c);
    }

    /** Checks the spans against {@code g}, then transposes each of its n images, rows by cols. */
    private static void transposeImages(Geometry g, FloatSpan src, FloatSpan dst, int n, int rows, int cols) {
        check(g, src, dst);
        long image = (long) rows * cols;
        for (int i = 0; i < n; i++) {
            KernelProvider.loops().transpose(src.segment(), src.offset() + i * image, dst.segment(),
                    dst.offset() + i * image, rows, cols);
        }
    }

    /** {@link #nhwcToNchw(int, int, int, int, FloatSpan, FloatSpan)} on whole arrays. */
    public static void nhwcToNchw(int n, int h, int w, int c, float[] src, float[] dst) {
        nhwcToNchw(n, h, w, c, FloatSpan.of(requireNonNull("src", src)), FloatSpan.of(requireNonNull("dst", dst)));
    }

    private static void check(Geometry g, FloatSpan src, FloatSpan dst) {
        requireTensor("src", src, g);
        requireOutput("dst", dst, g);
        requireDisjoint("dst", dst, "src", src, g);
    }
}
