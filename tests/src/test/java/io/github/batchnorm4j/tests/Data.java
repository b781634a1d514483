package io.github.batchnorm4j.tests;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Test data: seeded random tensors and conversions between float and double. */
final class Data {
    private Data() {}

    static float[] gaussian(long seed, long n, double mean, double std) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(n)];
        for (int k = 0; k < n; k++) {
            a[k] = (float) (mean + std * nextGaussian(random));
        }
        return a;
    }

    static float[] uniform(long seed, int n, double low, double high) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int k = 0; k < n; k++) {
            a[k] = (float) random.nextDouble(low, high);
        }
        return a;
    }

    static double nextGaussian(SplittableRandom random) {
        // Box-Muller: SplittableRandom has no nextGaussian before JDK 17's RandomGenerator default.
        double u = random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v);
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int k = 0; k < a.length; k++) {
            d[k] = a[k];
        }
        return d;
    }

    static double[] toDouble(float[] a, int from, int length) {
        return toDouble(Arrays.copyOfRange(a, from, from + length));
    }

    static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }
}
