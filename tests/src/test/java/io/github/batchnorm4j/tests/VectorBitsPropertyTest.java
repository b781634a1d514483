package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A {@code -Dbatchnorm4j.vectorBits} value that names no vector width is not a silent fall back
 * to scalar loops: a JVM started with one logs what was wrong and what is accepted, and runs the
 * preferred vector width.
 */
class VectorBitsPropertyTest {

    /** Run in a JVM of its own: prints the lanes the kernels run with and the preferred width's. */
    public static void main(String[] args) {
        System.out.println("lanes=" + BatchNorm.vectorLanes()
                + " preferred=" + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());
    }

    @Test
    void anUnknownWidthIsNamedInTheLogAndThePreferredOneRuns() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        for (String argument : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (argument.startsWith("--add-modules")) {
                command.add(argument);
            }
        }
        command.addAll(List.of("-Dbatchnorm4j.vectorBits=100", "-cp", System.getProperty("java.class.path"),
                VectorBitsPropertyTest.class.getName()));
        Process child = new ProcessBuilder(command).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(child.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), () -> "child failed: " + out + err);
        assertTrue(err.contains("-Dbatchnorm4j.vectorBits must be one of [64, 128, 256, 512], got \"100\";"
                + " using the machine's preferred vector width"), () -> "log was: " + err);
        String[] lanes = out.trim().split(" ");
        assertEquals(lanes[1].replace("preferred", "lanes"), lanes[0], "the preferred width runs: " + out);
    }
}
