package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's usage example compiles, runs, and is the same text as here. */
class ReadmeExampleTest {

    @Test
    void exampleRunsAndNormalizes() {
        // README-BEGIN
        BatchNorm bn = BatchNorm.builder().build();         // fused kernels, all cores
        Geometry g = Geometry.nchw(8, 16, 32, 32);          // N, C, H, W
        float[] x = new float[g.size()], y = new float[g.size()];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i); // some input

        float[] gamma = new float[16], beta = new float[16];
        java.util.Arrays.fill(gamma, 1f);
        Parameters p = Parameters.affine(gamma, beta).withEpsilon(1e-5f);
        RunningStatistics running = RunningStatistics.initial(16, RunningUpdate.pytorch(0.1));
        BatchStatistics saved = BatchStatistics.allocate(16);

        bn.forwardTraining(g, x, y, p, saved, running);     // y = normalized x

        float[] dy = new float[g.size()], dx = new float[g.size()];
        java.util.Arrays.fill(dy, 1f);
        ParameterGradients grads = ParameterGradients.allocate(16);
        bn.backward(g, x, y, dy, dx, p, saved, grads);      // dx, dgamma, dbeta

        bn.forwardInference(g, x, y, p, running);           // y with running statistics
        // README-END

        assertEquals(8 * 32 * 32, grads.dbeta()[0], 1e-2);
        assertEquals(0, grads.dgamma()[0], 1e-1);
        assertEquals(1, running.batchesTracked());
        assertTrue(Math.abs(dx[0]) < 1e-4, "a constant dy has no gradient through the mean");
    }

    @Test
    void readmeShowsThisExample() throws IOException {
        Path source = Path.of("src/test/java/io/github/batchnorm4j/tests/ReadmeExampleTest.java");
        List<String> lines = Files.readAllLines(source);
        int begin = indexOf(lines, "// README-BEGIN") + 1;
        int end = indexOf(lines, "// README-END");
        String example = String.join("\n", lines.subList(begin, end).stream().map(l -> l.replaceFirst("^ {8}", "")).toList());

        String readme = Files.readString(Path.of("../README.md"));
        int start = readme.indexOf("```java\n") + "```java\n".length();
        String block = readme.substring(start, readme.indexOf("```", start)).strip();
        assertEquals(example.strip(), block, "README.md's java block must be the example in this test");
    }

    private static int indexOf(List<String> lines, String marker) {
        for (int k = 0; k < lines.size(); k++) {
            if (lines.get(k).strip().equals(marker)) {
                return k;
            }
        }
        throw new AssertionError(marker + " not found");
    }
}
