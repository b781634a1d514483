package io.github.batchnorm4j.internal.kernel.rows;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.internal.parallel.Tasks;

/**
 * How a tensor of rows (C values side by side, a row per position) is cut: into at most
 * {@link #MAX_CHUNKS} chunks of rows, a task each, and each chunk into sub-blocks of rows. A
 * sweep that writes takes a sub-block a call; the sums take it in slices of
 * {@link #MAX_SUM_ROWS} rows, a float sum each before they add up in double. Every cut depends
 * on the shape alone, never on the thread count, so results are bitwise the same on any number
 * of threads.
 */
public record RowChunks(int outer, int channels, int rowsPerBlock, int rowsPerChunk, int chunks) {

    /**
     * Floats in one sub-block: 512 KiB, a quarter of L2 (a slice whose sums cancel is swept
     * again from there). Each call costs a pass of scalar work per channel, so fewer, larger
     * ones run faster.
     */
    static final int ROW_BLOCK_FLOATS = 131072;

    /**
     * Rows of a sub-block at most: 512 KiB of small rows is still too many rows for one float
     * sum in line.
     */
    static final int MAX_BLOCK_ROWS = 1024;

    /**
     * Rows a channel's float sum takes at most before it goes into double (a quarter as many
     * additions in line where four rows go a step): the sums go over a sub-block in slices of
     * this many rows. That bounds the sums' rounding, which reaches y through the mean and the
     * variance, and where a few values outweigh the rest, each value added after an outlier
     * rounds at the outlier's scale. The sweeps that write take the whole sub-block at once: a
     * call per slice costs them time and buys nothing.
     */
    static final int MAX_SUM_ROWS = 256;

    /** Floats a sub-block holds at least, where the rows allow: a third of L1. */
    static final int MIN_BLOCK_FLOATS = 4096;

    /** At most this many chunks: enough tasks for any thread count. */
    static final int MAX_CHUNKS = 64;

    /** At least this many sub-blocks when each can still hold {@link #MIN_BLOCK_FLOATS}: a tensor in cache still splits over threads. */
    static final int MIN_ROW_BLOCKS = 8;

    public static RowChunks of(Geometry g) {
        int channels = g.channels();
        int perBlock = Math.max(1, Math.min(Math.min(ROW_BLOCK_FLOATS / channels, MAX_BLOCK_ROWS), Math.max(
                Math.ceilDiv(g.outer(), MIN_ROW_BLOCKS), Math.ceilDiv(MIN_BLOCK_FLOATS, channels))));
        int blocks = Math.ceilDiv(g.outer(), perBlock);
        int perChunk = Math.ceilDiv(blocks, MAX_CHUNKS) * perBlock;
        return new RowChunks(g.outer(), channels, perBlock, perChunk, Math.ceilDiv(g.outer(), perChunk));
    }

    /** Work on rows [from, to) of a chunk. */
    public interface RowsTask {
        void run(int from, int to);
    }

    /**
     * Runs {@code task} on the rows of chunk {@code chunk} for a sum: a slice of at most
     * {@link #MAX_SUM_ROWS} rows at a time, in order.
     */
    public void forEachSumSlice(int chunk, RowsTask task) {
        forEach(chunk, Math.min(rowsPerBlock, MAX_SUM_ROWS), task);
    }

    /** Runs {@code task} on each sub-block of rows of chunk {@code chunk}, in order: for a sweep that writes. */
    public void forEachSubBlock(int chunk, RowsTask task) {
        forEach(chunk, rowsPerBlock, task);
    }

    private void forEach(int chunk, int step, RowsTask task) {
        int to = Tasks.end(chunk, rowsPerChunk, outer);
        for (int r = chunk * rowsPerChunk, end; r < to; r = end) {
            end = (int) Math.min(to, (long) r + step);
            task.run(r, end);
        }
    }

    /**
     * Runs {@code task} on every sub-block of every chunk, over the tasks, the last chunk first:
     * the sweep before this one has just left that chunk in cache.
     */
    void forEachSubBlockLastChunkFirst(Tasks tasks, long floats, RowsTask task) {
        tasks.forEach(chunks, floats, k -> forEachSubBlock(chunks - 1 - k, task));
    }
}
