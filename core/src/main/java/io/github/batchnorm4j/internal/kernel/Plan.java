package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.internal.kernel.planar.Planes;
import io.github.batchnorm4j.internal.parallel.Tasks;

/**
 * The path one call takes: where the channel's values lie, how the per-channel sums are taken,
 * how the output is written. Chosen from the variant, the geometry and the threads, never from
 * the data, so every rule reads in the tables below and a test can reach each path. (Fused
 * training forward has one choice the data makes: where every channel takes the multiply-add
 * form, it writes through inference's loops; see {@code FusedPlanar}.)
 *
 * @param geometry the view the family's kernels see: a single channel as one plane of all its
 *     values, any other tensor as given
 */
public record Plan(Layout layout, Geometry geometry, Reduce reduce, Write write) {

    /** Where a channel's values lie. */
    public enum Layout {
        /** In runs of {@code inner} contiguous floats, a run per image: NCHW, NCL, NCDHW; one channel in any layout. */
        PLANAR,
        /** Side by side with the other channels', a row per position: NHWC, NDHWC, (N, C). */
        ROWS
    }

    /** How forward's statistics or backward's two sums are taken. */
    public enum Reduce {
        /** Nothing to reduce: inference. */
        NONE,
        /** Planar, block by block ({@link Planes}), every block's sums apart, merged per channel in block order. */
        BLOCKS,
        /** Planar, whole groups of channels a task, each channel reduced and then written while it is in L2. */
        CHANNEL_GROUPS,
        /** Planar, plane by plane in memory order, each plane's sums apart, merged per channel in image order. */
        PLANES,
        /** Rows, chunk by chunk, each chunk's sub-blocks added up in double, chunks merged in order. */
        ROW_CHUNKS
    }

    /** How y or dx is written. */
    public enum Write {
        /** Within {@link Reduce#CHANNEL_GROUPS}: a channel's blocks, while the next channel is summed. */
        CHANNEL_GROUPS,
        /** Planar, block by block, over the same tasks as the reduction. */
        BLOCKS,
        /** Planar, ranges of whole planes in memory order, as a copy walks. */
        PLANE_RANGES,
        /** Planar with planes under {@link #SHORT_PLANE} floats: an image a row, through the row loops. */
        IMAGE_ROWS,
        /** Rows, chunk by chunk, the last chunk first: the reduction has just left it in cache. */
        ROW_CHUNKS
    }

    /** Planar tensors up to this many floats (1 MiB) keep a task's channels in L2 between reading and writing. */
    public static final int IN_CACHE_FLOATS = 1 << 18;

    /** Planes shorter than this are written through the row loops: a call per plane costs more than the plane. */
    public static final int SHORT_PLANE = 32;

    /**
     * Planes of at least this many floats, short enough that a block would take several
     * images, are reduced plane by plane in tensors over {@link #IN_CACHE_FLOATS}: in memory
     * order rather than one image apart. Shorter planes lose more to a call and a lane reduction
     * per plane than the order gains.
     */
    public static final int PLANE_SUMS = 256;

    /**
     * Training forward.
     *
     * <pre>
     * layout  variant     condition                                        reduce          write
     * ROWS    any                                                          ROW_CHUNKS      ROW_CHUNKS
     * PLANAR  VECTORIZED                                                   BLOCKS          BLOCKS
     * PLANAR  FUSED       up to IN_CACHE_FLOATS, a channel group a task     CHANNEL_GROUPS  CHANNEL_GROUPS
     * PLANAR  FUSED       larger, planes of PLANE_SUMS up to half a block   PLANES          by plane length
     * PLANAR  FUSED       otherwise                                         BLOCKS          by plane length
     * </pre>
     *
     * By plane length: {@link Write#IMAGE_ROWS} under {@link #SHORT_PLANE}, else
     * {@link Write#PLANE_RANGES}.
     */
    public static Plan training(Variant variant, Geometry g, Tasks tasks) {
        return reduced(variant, g, tasks, 2L * g.size());
    }

    /** Backward: the table of {@link #training}, for its three tensors' traffic. */
    public static Plan backward(Variant variant, Geometry g, Tasks tasks) {
        return reduced(variant, g, tasks, 3L * g.size());
    }

    /** Inference, one multiply-add per element in every variant: ROWS by row chunks, PLANAR by plane length. */
    public static Plan inference(Geometry g) {
        Geometry view = view(g);
        return layout(g) == Layout.ROWS
                ? new Plan(Layout.ROWS, view, Reduce.NONE, Write.ROW_CHUNKS)
                : new Plan(Layout.PLANAR, view, Reduce.NONE, byPlaneLength(view));
    }

    private static Plan reduced(Variant variant, Geometry g, Tasks tasks, long floats) {
        Geometry view = view(g);
        if (layout(g) == Layout.ROWS) {
            return new Plan(Layout.ROWS, view, Reduce.ROW_CHUNKS, Write.ROW_CHUNKS);
        }
        if (variant != Variant.FUSED) {
            return new Plan(Layout.PLANAR, view, Reduce.BLOCKS, Write.BLOCKS);
        }
        if (view.size() <= IN_CACHE_FLOATS && Planes.byChannels(view.channels(), floats, tasks)) {
            return new Plan(Layout.PLANAR, view, Reduce.CHANNEL_GROUPS, Write.CHANNEL_GROUPS);
        }
        boolean planeSums = view.size() > IN_CACHE_FLOATS && view.inner() >= PLANE_SUMS
                && view.inner() <= Planes.BLOCK_FLOATS / 2;
        return new Plan(Layout.PLANAR, view, planeSums ? Reduce.PLANES : Reduce.BLOCKS, byPlaneLength(view));
    }

    /**
     * Planar where a channel's values run: planes longer than one float, or a single channel in
     * any layout, whose memory is one plane (rows of one float would run the row loops a lane at
     * a time).
     */
    private static Layout layout(Geometry g) {
        return g.inner() > 1 || g.channels() == 1 && g.size() > 1 ? Layout.PLANAR : Layout.ROWS;
    }

    private static Geometry view(Geometry g) {
        return g.channels() == 1 && g.size() <= Integer.MAX_VALUE ? new Geometry(1, 1, (int) g.size()) : g;
    }

    private static Write byPlaneLength(Geometry g) {
        return g.inner() < SHORT_PLANE ? Write.IMAGE_ROWS : Write.PLANE_RANGES;
    }
}
