package io.github.batchnorm4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.BatchNorm;
import io.github.batchnorm4j.BatchStatistics;
import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.Geometry;
import io.github.batchnorm4j.ParameterGradients;
import io.github.batchnorm4j.Parameters;
import io.github.batchnorm4j.RunningStatistics;
import io.github.batchnorm4j.RunningUpdate;
import io.github.batchnorm4j.layer.BatchNormLayer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's usage examples compile, run, and are the same text as here, in the same order. */
class ReadmeExampleTest {

    @Test
    void layerExampleRunsAndNormalizes() {
        // LAYER-BEGIN
        BatchNormLayer layer = BatchNormLayer.pytorch().channels(16).build(); // BatchNorm2d(16)
        int[] shape = {8, 16, 32, 32};                                         // N, C, H, W
        float[] x = new float[8 * 16 * 32 * 32], y = new float[x.length];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i);        // some input

        layer.forward(shape, x, y);                  // training phase: batch statistics
        float[] dy = new float[x.length], dx = new float[x.length];
        java.util.Arrays.fill(dy, 1f);
        layer.backward(dy, dx);                      // dx; dgamma and dbeta add up in the layer
        float[] dgamma = layer.gammaGradient();      // an optimizer steps gamma() and beta() with these
        float[] dbeta = layer.betaGradient();

        layer.eval().forward(shape, x, y);           // inference: running statistics
        List<float[]> weights = layer.getWeights();  // Keras order: gamma, beta, moving mean and variance
        // LAYER-END

        assertEquals(4, weights.size());
        assertEquals(8 * 32 * 32, dbeta[0], 1e-2);
        assertEquals(0, dgamma[0], 1e-1);
        assertEquals(1, layer.runningStatistics().batchesTracked());
        assertTrue(Math.abs(dx[0]) < 1e-4, "a constant dy has no gradient through the mean");
    }

    @Test
    void exampleRunsAndNormalizes() {
        // README-BEGIN
        BatchNorm bn = BatchNorm.builder().build();         // fused kernels, all cores
        Geometry g = Geometry.nchw(8, 16, 32, 32);          // N, C, H, W
        int n = Math.toIntExact(g.size());                  // a long: segments hold more than arrays
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i); // some input

        float[] gamma = new float[16], beta = new float[16];
        java.util.Arrays.fill(gamma, 1f);
        Parameters p = Parameters.affine(gamma, beta).withEpsilon(1e-5f);
        RunningStatistics running = RunningStatistics.initial(16, RunningUpdate.pytorch(0.1));
        BatchStatistics saved = BatchStatistics.allocate(16);

        bn.forwardTraining(g, x, y, p, saved, running);     // y = normalized x

        float[] dy = new float[n], dx = new float[n];
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
    void offHeapExampleRunsAndNormalizes() {
        BatchNorm bn = BatchNorm.builder().build();
        Geometry g = Geometry.nhwc(8, 32, 32, 16);
        Parameters p = Parameters.none();
        BatchStatistics saved = BatchStatistics.allocate(16);
        // SEGMENT-BEGIN
        try (Arena arena = Arena.ofConfined()) {           // or memory a framework already holds
            MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, g.size());
            MemorySegment y = arena.allocate(ValueLayout.JAVA_FLOAT, g.size());
            for (long i = 0; i < g.size(); i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(i));

            bn.forwardTraining(g, FloatSpan.of(x), FloatSpan.of(y), p, saved, null); // no copy
        }
        // SEGMENT-END

        double sum = 0;
        for (long i = 0; i < g.size(); i += 16) {
            sum += (float) Math.sin(i); // channel 0 of NHWC
        }
        assertEquals(sum / (g.size() / 16), saved.mean()[0], 1e-6);
    }

    @Test
    void readmeShowsTheseExamples() throws IOException {
        String readme = Files.readString(Path.of("../README.md"));
        int first = readme.indexOf("```java\n");
        int second = readme.indexOf("```java\n", first + 1);
        int third = readme.indexOf("```java\n", second + 1);
        assertEquals(example("LAYER"), block(readme, first), "README.md's first java block must be the layer example");
        assertEquals(example("README"), block(readme, second), "README.md's second java block must be the kernel example");
        assertEquals(example("SEGMENT"), block(readme, third), "README.md's third java block must be the off-heap example");
    }

    private static String example(String marker) throws IOException {
        Path source = Path.of("src/test/java/io/github/batchnorm4j/tests/ReadmeExampleTest.java");
        List<String> lines = Files.readAllLines(source);
        int begin = indexOf(lines, "// " + marker + "-BEGIN") + 1;
        int end = indexOf(lines, "// " + marker + "-END");
        String indent = lines.get(begin).replaceFirst("\\S.*", "");
        return String.join("\n", lines.subList(begin, end).stream().map(l -> l.replaceFirst("^" + indent, "")).toList())
                .strip();
    }

    private static String block(String readme, int at) {
        if (at < 0) {
            throw new AssertionError("README.md has fewer java blocks than examples");
        }
        int start = at + "```java\n".length();
        return readme.substring(start, readme.indexOf("```", start)).strip();
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
