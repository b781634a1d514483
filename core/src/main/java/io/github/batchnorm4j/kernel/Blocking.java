package io.github.batchnorm4j.kernel;

import io.github.batchnorm4j.Geometry;

/**
 * How a tensor is cut into reduction blocks. Every cut depends on the shape alone, never on the
 * thread count or the machine, so results are bitwise the same on any number of threads.
 */
final class Blocking {
    /** Floats in one NCHW reduction block: 16 KiB, a third of L1, so a block's second pass hits L1. */
    static final int BLOCK_FLOATS = 4096;
    /**
     * Floats in one NHWC sub-block of rows: 512 KiB, a quarter of L2 (a sub-block whose sums
     * cancel is swept again from there). Float sums run over one sub-block, then add up in
     * double; each sub-block also costs a pass of scalar work per channel, so fewer, larger ones
     * measured faster (128 KiB ones took (2048,512) forward from 0.55-0.62 of copy to 0.46).
     */
    static final int ROW_BLOCK_FLOATS = 131072;
    /**
     * Rows of an NHWC sub-block at most: a channel's float sum then takes at most this many
     * values before it goes into double. That bounds its rounding where a few values outweigh
     * the rest, since each value added after an outlier rounds at the outlier's scale.
     */
    static final int MAX_SUM_ROWS = 1024;
    /** NCHW tensors up to this many floats (1 MiB) keep a task's channels in L2 between sweeps. */
    static final int IN_CACHE_FLOATS = 1 << 18;
    /**
     * NCHW planes shorter than this are written through the row loops, an image a row with each
     * channel's values spread over its plane: a call per plane costs more than the plane.
     */
    static final int SHORT_PLANE = 32;
    /**
     * NCHW planes of at least this many floats (and at most {@link #BLOCK_FLOATS} / 2) are
     * reduced one plane at a time, in memory order, in tensors over {@link #IN_CACHE_FLOATS}
     * (see FusedKernels#byPlanes); shorter ones a block of several images at a time.
     */
    static final int PLANE_SUMS = 256;
    /** Floats in one task of an NCHW sweep over whole planes: 256 KiB, a quarter of L2. */
    static final int PLANE_RANGE_FLOATS = 65536;
    /** At most this many row chunks per NHWC tensor: enough tasks for any thread count. */
    static final int MAX_CHUNKS = 64;
    /**
     * At least this many NHWC sub-blocks when each can still hold {@link #BLOCK_FLOATS}: a
     * tensor that fits in cache then still splits over threads.
     */
    static final int MIN_ROW_BLOCKS = 8;

    private Blocking() {}

    /**
     * The end of piece k of {@code total} items cut into pieces of {@code per}:
     * {@code min(total, (k + 1) * per)}, in long, since the product may pass 2^31 when the
     * total is near it.
     */
    static int end(int k, int per, int total) {
        return (int) Math.min(total, (long) (k + 1) * per);
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
                        Math.ceilDiv(g.outer(), segments));
            }
            int pieces = Math.ceilDiv(inner, BLOCK_FLOATS);
            int piece = Math.ceilDiv(inner, pieces);
            return new Planar(g.outer(), g.channels(), inner, 1, pieces, piece, Math.multiplyExact(g.outer(), pieces));
        }

        /** Distance between the starts of two runs of one channel: {@code channels * inner}. */
        int stride() {
            return channels * inner;
        }

        /** Number of runs in block b. */
        int runs(int b) {
            if (pieces == 1) {
                return Math.min(outer - b * segmentsPerBlock, segmentsPerBlock);
            }
            return 1;
        }

        /** Length of each run of block b. */
        int length(int b) {
            if (pieces == 1) {
                return inner;
            }
            int p = b % pieces;
            return end(p, piece, inner) - p * piece;
        }

        /** Tensor-relative index of the first value of channel c's block b. */
        int from(int c, int b) {
            if (pieces == 1) {
                return (b * segmentsPerBlock * channels + c) * inner;
            }
            return ((b / pieces) * channels + c) * inner + (b % pieces) * piece;
        }

        /** Number of values of one channel in block b. */
        int size(int b) {
            return runs(b) * length(b);
        }
    }

    /** NHWC: rows of C values, reduced a sub-block of rows at a time. */
    record Rows(int outer, int channels, int rowsPerBlock, int rowsPerChunk, int chunks) {
        static Rows of(Geometry g) {
            int channels = g.channels();
            int perBlock = Math.max(1, Math.min(Math.min(ROW_BLOCK_FLOATS / channels, MAX_SUM_ROWS), Math.max(
                    Math.ceilDiv(g.outer(), MIN_ROW_BLOCKS), Math.ceilDiv(BLOCK_FLOATS, channels))));
            int blocks = Math.ceilDiv(g.outer(), perBlock);
            int perChunk = Math.ceilDiv(blocks, MAX_CHUNKS) * perBlock;
            return new Rows(g.outer(), channels, perBlock, perChunk, Math.ceilDiv(g.outer(), perChunk));
        }

        int chunkFrom(int chunk) {
            return chunk * rowsPerChunk;
        }

        int chunkTo(int chunk) {
            return end(chunk, rowsPerChunk, outer);
        }
    }
}
