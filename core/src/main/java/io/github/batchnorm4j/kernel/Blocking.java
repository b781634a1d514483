package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.Geometry;

/**
 * How a tensor is cut into reduction blocks. Every cut depends on the shape alone, never on the
 * thread count or the machine, so results are bitwise the same on any number of threads.
 */
final class Blocking {
    /** Floats in one reduction block: 16 KiB, a third of L1, so a block's second pass hits L1. */
    static final int BLOCK_FLOATS = 4096;
    /** Floats of one channel block that fused NHWC keeps in L2 between statistics and normalize. */
    static final int CACHE_FLOATS = 1 << 18;
    /** Channels per NHWC channel block are a multiple of this (a 512-bit vector of floats). */
    static final int CHANNEL_QUANTUM = 16;
    /** At most this many row chunks per NHWC tensor: enough tasks for any thread count. */
    static final int MAX_CHUNKS = 64;

    private Blocking() {}

    /** What a run does with the run at tensor-relative index {@code at} of length {@code n}. */
    interface RunAction {
        void run(int at, int n);
    }

    /** A float reduction of the run at tensor-relative index {@code at} of length {@code n}. */
    interface RunSum {
        float of(int at, int n);
    }

    /**
     * NCHW: one channel's {@code outer * inner} values cut into blocks of whole segments (when
     * inner fits in a block) or into equal pieces of one segment (when it does not).
     */
    record Planar(int outer, int channels, int inner, int segmentsPerBlock, int pieces, int piece, int count) {
        static Planar of(Geometry g) {
            int inner = g.inner();
            if (inner <= BLOCK_FLOATS) {
                int segments = BLOCK_FLOATS / inner;
                return new Planar(g.outer(), g.channels(), inner, segments, 1, inner,
                        (g.outer() + segments - 1) / segments);
            }
            int pieces = (inner + BLOCK_FLOATS - 1) / BLOCK_FLOATS;
            int piece = (inner + pieces - 1) / pieces;
            return new Planar(g.outer(), g.channels(), inner, 1, pieces, piece, g.outer() * pieces);
        }

        /** Number of values of one channel in block b. */
        int size(int b) {
            if (pieces == 1) {
                int from = b * segmentsPerBlock;
                return (Math.min(outer, from + segmentsPerBlock) - from) * inner;
            }
            int p = b % pieces;
            return Math.min(inner, (p + 1) * piece) - p * piece;
        }

        /** Calls {@code action} on each contiguous run of channel c's block b, in order. */
        void forEachRun(int c, int b, RunAction action) {
            if (pieces == 1) {
                int from = b * segmentsPerBlock;
                int to = Math.min(outer, from + segmentsPerBlock);
                for (int o = from; o < to; o++) {
                    action.run((o * channels + c) * inner, inner);
                }
            } else {
                int o = b / pieces;
                int p = b % pieces;
                int start = p * piece;
                action.run((o * channels + c) * inner + start, Math.min(inner, start + piece) - start);
            }
        }

        /** The runs' float reductions of channel c's block b, added in order in double. */
        double sum(int c, int b, RunSum reduction) {
            double total = 0;
            if (pieces == 1) {
                int from = b * segmentsPerBlock;
                int to = Math.min(outer, from + segmentsPerBlock);
                for (int o = from; o < to; o++) {
                    total += reduction.of((o * channels + c) * inner, inner);
                }
            } else {
                int o = b / pieces;
                int p = b % pieces;
                int start = p * piece;
                total = reduction.of((o * channels + c) * inner + start, Math.min(inner, start + piece) - start);
            }
            return total;
        }
    }

    /** NHWC: rows of C values, reduced a sub-block of rows at a time. */
    record Rows(int outer, int channels, int rowsPerBlock, int rowsPerChunk, int chunks) {
        static Rows of(Geometry g, int width) {
            int perBlock = Math.max(1, BLOCK_FLOATS / width);
            int blocks = (g.outer() + perBlock - 1) / perBlock;
            int blocksPerChunk = (blocks + MAX_CHUNKS - 1) / MAX_CHUNKS;
            int perChunk = blocksPerChunk * perBlock;
            return new Rows(g.outer(), g.channels(), perBlock, perChunk, (g.outer() + perChunk - 1) / perChunk);
        }

        int chunkFrom(int chunk) {
            return chunk * rowsPerChunk;
        }

        int chunkTo(int chunk) {
            return Math.min(outer, (chunk + 1) * rowsPerChunk);
        }
    }

    /**
     * Fused NHWC keeps a block of channels over all rows in cache between statistics and
     * normalization when one such block fits: the width of that block, or 0 when none fits.
     */
    static int channelBlock(Geometry g) {
        int c = g.channels();
        if (c < 2 * CHANNEL_QUANTUM) {
            return 0;
        }
        int fits = CACHE_FLOATS / g.outer() / CHANNEL_QUANTUM * CHANNEL_QUANTUM;
        if (fits < CHANNEL_QUANTUM) {
            return 0;
        }
        // at least four blocks where the channels allow: tasks for the threads
        int quarter = ((c + 3) / 4 + CHANNEL_QUANTUM - 1) / CHANNEL_QUANTUM * CHANNEL_QUANTUM;
        return Math.min(fits, quarter);
    }
}
