package io.github.batchnorm4j.spark.example;

import io.github.batchnorm4j.layer.BatchNormLayer;
import io.github.batchnorm4j.spark.Replicas;
import io.github.batchnorm4j.spark.SyncBatchNorm;
import io.github.batchnorm4j.spark.example.DataParallelStep.LayerState;
import io.github.batchnorm4j.spark.example.DataParallelStep.Result;
import io.github.batchnorm4j.spark.example.DataParallelStep.Shard;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Synchronized batch norm over a batch split across Spark replicas, checked against the same
 * batch on one machine, then timed against plain (unsynchronized) data-parallel batch norm.
 *
 * <pre>
 * args: [replicas] [N C H W] [steps]      defaults: 2  32 64 28 28  20
 * </pre>
 *
 * Without a master set (spark-submit's {@code --master}) it runs on {@code local[replicas]}.
 */
public final class SyncBatchNormExample {
    private SyncBatchNormExample() {}

    public static void main(String[] args) {
        int replicas = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int[] shape = args.length >= 5
                ? new int[] {Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                        Integer.parseInt(args[4])}
                : new int[] {32, 64, 28, 28};
        int steps = args.length > 5 ? Integer.parseInt(args[5]) : 20;
        SparkConf conf = new SparkConf().setAppName("batchnorm4j synchronized batch norm")
                .setIfMissing("spark.master", "local[" + replicas + "]")
                .setIfMissing("spark.ui.enabled", "false");
        try (JavaSparkContext spark = new JavaSparkContext(conf)) {
            spark.setLogLevel("WARN");
            run(spark, replicas, shape, steps);
        }
    }

    static void run(JavaSparkContext spark, int replicas, int[] shape, int steps) {
        int size = shape[0] * shape[1] * shape[2] * shape[3];
        float[] x = random(1, size);
        float[] dy = random(2, size);
        BatchNormLayer driver = BatchNormLayer.pytorch().channels(shape[1]).build();

        BatchNormLayer whole = BatchNormLayer.fromConfig(driver.getConfig());
        float[] y = new float[size];
        float[] dx = new float[size];
        whole.forward(shape, x, y);
        whole.backward(dy, dx);

        List<Shard> shards = split(shape, x, dy, replicas);
        List<Result> results = DataParallelStep.run(spark, shards, LayerState.of(driver), true);
        System.out.printf("%d replicas, batch %s split into %s images%n", replicas, Arrays.toString(shape),
                Arrays.toString(shards.stream().mapToInt(s -> s.shape()[0]).toArray()));
        System.out.printf("largest difference from the whole batch on one machine: y %.2e, dx %.2e, dgamma %.2e,"
                + " dbeta %.2e, running mean %.2e, running variance %.2e%n",
                maxDifference(y, concat(results, Result::y)), maxDifference(dx, concat(results, Result::dx)),
                maxDifference(whole.gammaGradient(), results.get(0).dgamma()),
                maxDifference(whole.betaGradient(), results.get(0).dbeta()),
                maxDifference(whole.runningStatistics().mean(), results.get(0).runningMean()),
                maxDifference(whole.runningStatistics().variance(), results.get(0).runningVariance()));

        long[] synced = time(spark, shards, driver, true, steps);
        long[] local = time(spark, shards, driver, false, steps);
        System.out.printf("per step, median of %d: stage %.1f ms synchronized, %.1f ms local;"
                + " forward + backward in a replica %.2f ms synchronized, %.2f ms local;"
                + " %d characters sent per replica%n", steps, synced[0] / 1e6, local[0] / 1e6, synced[1] / 1e6,
                local[1] / 1e6, results.get(0).messageChars());
        Shard first = shards.get(0);
        System.out.printf("the same replica's forward + backward without Spark, median of %d:"
                + " %.2f ms synchronized with itself (exact sums, no all-gather), %.2f ms plain%n", steps,
                inProcess(first, driver, true, steps) / 1e6, inProcess(first, driver, false, steps) / 1e6);
    }

    /**
     * Median time of one replica's forward and backward in this JVM, through SyncBatchNorm with
     * an all-gather that returns at once (itself alone), or through the layer alone.
     */
    private static long inProcess(Shard shard, BatchNormLayer driver, boolean synchronize, int steps) {
        Replicas alone = new Replicas() {
            @Override
            public int rank() {
                return 0;
            }

            @Override
            public int size() {
                return 1;
            }

            @Override
            public String[] allGather(String message) {
                return new String[] {message};
            }
        };
        float[] y = new float[shard.x().length];
        float[] dx = new float[shard.x().length];
        long[] nanos = new long[steps];
        for (int s = 0; s < steps; s++) {
            BatchNormLayer layer = LayerState.of(driver).build();
            long start = System.nanoTime();
            if (synchronize) {
                SyncBatchNorm sync = new SyncBatchNorm(layer, alone);
                sync.forward(shard.shape(), shard.x(), y);
                sync.backward(shard.dy(), dx);
            } else {
                layer.forward(shard.shape(), shard.x(), y);
                layer.backward(shard.dy(), dx);
            }
            nanos[s] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        return nanos[steps / 2];
    }

    /** Median stage time and median per-replica forward + backward time, in ns. */
    private static long[] time(JavaSparkContext spark, List<Shard> shards, BatchNormLayer driver,
            boolean synchronize, int steps) {
        long[] stage = new long[steps];
        long[] replica = new long[steps];
        for (int s = 0; s < steps; s++) {
            long start = System.nanoTime();
            List<Result> results = DataParallelStep.run(spark, shards, LayerState.of(driver), synchronize);
            stage[s] = System.nanoTime() - start;
            replica[s] = results.stream().mapToLong(Result::nanos).max().orElseThrow();
        }
        Arrays.sort(stage);
        Arrays.sort(replica);
        return new long[] {stage[steps / 2], replica[steps / 2]};
    }

    /** Splits the batch along its first axis into parts of unequal size, the first ones larger. */
    static List<Shard> split(int[] shape, float[] x, float[] dy, int replicas) {
        int n = shape[0];
        if (n < replicas) {
            throw new IllegalArgumentException("a batch of " + n + " cannot give each of " + replicas
                    + " replicas an image");
        }
        int per = shape.length == 4 ? shape[1] * shape[2] * shape[3] : shape[1];
        List<Shard> shards = new ArrayList<>();
        int from = 0;
        for (int r = 0; r < replicas; r++) {
            int images = n / replicas + (r < n % replicas ? 1 : 0);
            int[] part = shape.clone();
            part[0] = images;
            shards.add(new Shard(part, Arrays.copyOfRange(x, from * per, (from + images) * per),
                    Arrays.copyOfRange(dy, from * per, (from + images) * per)));
            from += images;
        }
        return shards;
    }

    static float[] concat(List<Result> results, java.util.function.Function<Result, float[]> part) {
        int size = results.stream().mapToInt(r -> part.apply(r).length).sum();
        float[] out = new float[size];
        int at = 0;
        for (Result r : results) {
            float[] p = part.apply(r);
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    private static float[] random(long seed, int size) {
        Random random = new Random(seed);
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) (0.5 + 2 * random.nextGaussian());
        }
        return values;
    }
}
