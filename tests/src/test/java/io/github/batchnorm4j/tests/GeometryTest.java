package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.Geometry;
import org.junit.jupiter.api.Test;

/** Every layout maps onto (outer, C, inner) as Geometry documents it. */
class GeometryTest {

    @Test
    void layoutsMapOntoOuterChannelsInner() {
        assertEquals(new Geometry(2, 3, 20), Geometry.nchw(2, 3, 4, 5));
        assertEquals(new Geometry(40, 3, 1), Geometry.nhwc(2, 4, 5, 3));
        assertEquals(new Geometry(7, 3, 1), Geometry.matrix(7, 3));
        assertEquals(new Geometry(2, 3, 9), Geometry.ncl(2, 3, 9));
        assertEquals(new Geometry(2, 3, 60), Geometry.ncdhw(2, 3, 3, 4, 5));
        assertEquals(new Geometry(120, 3, 1), Geometry.ndhwc(2, 3, 4, 5, 3));
    }

    @Test
    void kerasAxisCountsFromTheEndWhenNegative() {
        int[] shape = {2, 3, 4, 5};
        assertEquals(new Geometry(24, 5, 1), Geometry.ofShape(shape, -1));
        assertEquals(new Geometry(6, 4, 5), Geometry.ofShape(shape, 2));
        assertEquals(new Geometry(1, 2, 60), Geometry.ofShape(shape, 0));
        assertEquals(Geometry.ofShape(shape, 1), Geometry.ofShape(shape, -3));
    }

    @Test
    void sizesAndChannelsLast() {
        Geometry g = Geometry.nchw(2, 3, 4, 5);
        assertEquals(120, g.size());
        assertEquals(40, g.reductionSize());
        assertFalse(g.channelsLast());
        assertTrue(Geometry.nhwc(2, 4, 5, 3).channelsLast());
    }
}
