package io.github.batchnorm4j.spark.example;

import io.github.batchnorm4j.layer.BatchNormLayer;
import io.github.batchnorm4j.spark.Replicas;
import io.github.batchnorm4j.spark.SyncBatchNorm;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.Function1;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * One data-parallel training step of a batch-norm layer on Spark: a barrier stage with one task
 * per replica, each running forward and backward over its shard of the batch. The driver keeps
 * the layer; each task starts from a copy of its configuration, weights and running statistics,
 * and the driver takes the new running statistics and gradients only once every task has
 * succeeded, so a failed step leaves it as it was.
 */
public final class DataParallelStep {
    private DataParallelStep() {}

    /** One replica's part of the batch: x and the gradient arriving at y, laid out as {@code shape}. */
    public record Shard(int[] shape, float[] x, float[] dy) implements Serializable {}

    /** What one replica computed. */
    /**
     * What one replica computed, the time its forward and backward took, and the characters it
     * sent to the all-gathers.
     */
    public record Result(int rank, float[] y, float[] dx, float[] runningMean, float[] runningVariance,
            float[] dgamma, float[] dbeta, long nanos, long messageChars) implements Serializable {}

    /** The layer's state a task starts from: configuration and weights (Keras order). */
    public record LayerState(Map<String, String> config, List<float[]> weights) implements Serializable {

        public static LayerState of(BatchNormLayer layer) {
            return new LayerState(layer.getConfig(), layer.getWeights());
        }

        BatchNormLayer build() {
            BatchNormLayer layer = BatchNormLayer.fromConfig(config);
            layer.setWeights(weights);
            return layer;
        }
    }

    /**
     * Runs one step over {@code shards}, shard r on replica r, and returns every replica's
     * result in rank order. With {@code synchronize} off each replica normalizes with its own
     * shard's statistics (plain data-parallel batch norm), for comparison.
     *
     * @throws org.apache.spark.SparkException if a replica fails; the stage then fails on all
     */
    public static List<Result> run(JavaSparkContext spark, List<Shard> shards, LayerState state,
            boolean synchronize) {
        JavaRDD<Shard> data = spark.parallelize(shards, shards.size());
        Function1<scala.collection.Iterator<Shard>, scala.collection.Iterator<Result>> task =
                (Function1<scala.collection.Iterator<Shard>, scala.collection.Iterator<Result>> & Serializable)
                        partition -> CollectionConverters.asScala(replica(state, synchronize,
                                CollectionConverters.asJava(partition)));
        ClassTag<Result> resultTag = ClassTag$.MODULE$.apply(Result.class);
        RDD<Result> results = data.rdd().barrier().mapPartitions(task, false, resultTag);
        List<Result> ordered = new ArrayList<>(new JavaRDD<>(results, resultTag).collect());
        ordered.sort(java.util.Comparator.comparingInt(Result::rank));
        return ordered;
    }

    private static java.util.Iterator<Result> replica(LayerState state, boolean synchronize,
            java.util.Iterator<Shard> partition) {
        BarrierTaskContext context = BarrierTaskContext.get();
        Shard shard = partition.next();
        BatchNormLayer layer = state.build();
        float[] y = new float[shard.x().length];
        float[] dx = new float[shard.x().length];
        long[] sent = new long[1];
        Replicas spark = Replicas.of(context);
        Replicas counted = new Replicas() {
            @Override
            public int rank() {
                return spark.rank();
            }

            @Override
            public int size() {
                return spark.size();
            }

            @Override
            public String[] allGather(String message) {
                sent[0] += message.length();
                return spark.allGather(message);
            }
        };
        long start = System.nanoTime();
        if (synchronize) {
            SyncBatchNorm sync = new SyncBatchNorm(layer, counted);
            sync.forward(shard.shape(), shard.x(), y);
            sync.backward(shard.dy(), dx);
        } else {
            layer.forward(shard.shape(), shard.x(), y);
            layer.backward(shard.dy(), dx);
        }
        long nanos = System.nanoTime() - start;
        Result result = new Result(context.partitionId(), y, dx, layer.runningStatistics().mean().clone(),
                layer.runningStatistics().variance().clone(), layer.gammaGradient().clone(),
                layer.betaGradient().clone(), nanos, sent[0]);
        return List.of(result).iterator();
    }
}
