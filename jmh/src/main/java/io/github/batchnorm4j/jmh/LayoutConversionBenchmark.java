package io.github.batchnorm4j.jmh;

import io.github.batchnorm4j.Layouts;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Does converting once pay? The cost of NCHW to NHWC and back, to set beside the difference
 * between the two layouts' batch-normalization times on the same shape.
 */
@State(Scope.Benchmark)
public class LayoutConversionBenchmark extends JmhDefaults {
    @Param({"32x64x56x56", "32x256x14x14", "8x64x16x16", "7x17x13x13"})
    public String shape;

    private int n;
    private int c;
    private int h;
    private int w;
    private float[] src;
    private float[] dst;

    @Setup(Level.Trial)
    public void setUp() {
        String[] d = shape.split("x");
        n = Integer.parseInt(d[0]);
        c = Integer.parseInt(d[1]);
        h = Integer.parseInt(d[2]);
        w = Integer.parseInt(d[3]);
        SplittableRandom random = new SplittableRandom(7);
        src = new float[n * c * h * w];
        for (int k = 0; k < src.length; k++) {
            src[k] = (float) random.nextDouble();
        }
        dst = new float[src.length];
    }

    @Benchmark
    public float[] nchwToNhwc() {
        Layouts.nchwToNhwc(n, c, h, w, src, dst);
        return dst;
    }

    @Benchmark
    public float[] nhwcToNchw() {
        Layouts.nhwcToNchw(n, h, w, c, src, dst);
        return dst;
    }
}
