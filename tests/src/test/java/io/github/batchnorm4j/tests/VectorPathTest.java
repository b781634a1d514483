package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import org.junit.jupiter.api.Test;

/**
 * The suite runs once per loop implementation (see tests/pom.xml); this says which one ran, and
 * fails when a run did not get the path it asked for, so a silently scalar run cannot pass as a
 * vector one.
 */
class VectorPathTest {

    @Test
    void theRequestedLoopsAreTheOnesRunning() {
        int lanes = BatchNorm.vectorLanes();
        String bits = System.getProperty("batchnorm4j.vectorBits");
        System.out.println("VectorPathTest: kernels run with " + lanes + " float lane(s) per vector");
        if ("false".equals(System.getProperty("batchnorm4j.vector"))) {
            assertEquals(1, lanes, "vector loops were switched off");
        } else if (bits != null) {
            assertEquals(Integer.parseInt(bits) / 32, lanes, "vector width forced to " + bits + " bits");
        } else {
            assertTrue(lanes >= 4, "the vector module is on the test JVM's command line, so vectors must run");
        }
    }
}
