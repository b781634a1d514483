package io.github.batchnorm4j.spark;

import org.apache.spark.BarrierTaskContext;

/**
 * The replicas of one data-parallel step as a collective sees them: this one's rank, how many
 * there are, and an all-gather. {@link #of(BarrierTaskContext)} is Spark's barrier task; any
 * other engine's collective fits too.
 */
public interface Replicas {

    /** This replica's rank, in [0, {@link #size()}). */
    int rank();

    int size();

    /** Every replica's message, this one's included; blocks until all have sent theirs. */
    String[] allGather(String message);

    /**
     * The tasks of a Spark barrier stage (inside {@code rdd.barrier().mapPartitions(...)}): the
     * rank is the partition, the all-gather Spark's, through the driver.
     */
    static Replicas of(BarrierTaskContext context) {
        return new Replicas() {
            @Override
            public int rank() {
                return context.partitionId();
            }

            @Override
            public int size() {
                return context.getTaskInfos().length;
            }

            @Override
            public String[] allGather(String message) {
                return context.allGather(message);
            }
        };
    }
}
