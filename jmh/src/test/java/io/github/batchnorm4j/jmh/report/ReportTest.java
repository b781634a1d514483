package io.github.batchnorm4j.jmh.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report step on a JMH JSON fixture (src/test/resources/jmh-fixture.json, round scores on
 * shape 8x64x16x16). Expected numbers come from the shape and the traffic formula here (forward
 * 8 bytes an element, backward 12),
 * not from the report.
 */
class ReportTest {
    private static final Path FIXTURE = Path.of("src/test/resources/jmh-fixture.json");
    private static final long ELEMENTS = 8L * 64 * 16 * 16;
    private static final double FORWARD_BYTES = 8.0 * ELEMENTS;
    private static final double BACKWARD_BYTES = 12.0 * ELEMENTS;

    private static double gbps(double bytes, double ms) {
        return bytes / (ms / 1000) / 1e9;
    }

    @Test
    void ratiosFollowFromShapeAndScores() throws IOException {
        Results results = Results.read(FIXTURE);
        Measurement fusedNchw = find(results, "forwardTraining", "FUSED", "NCHW");
        Measurement fusedNhwc = find(results, "forwardTraining", "FUSED", "NHWC");
        Measurement backward = find(results, "backward", "FUSED", "NCHW");

        assertEquals(gbps(FORWARD_BYTES, 0.05), fusedNchw.gigabytesPerSecond(), 1e-9);
        assertEquals(20.97152, fusedNchw.gigabytesPerSecond(), 1e-9);
        assertEquals(gbps(FORWARD_BYTES, 0.05) / gbps(FORWARD_BYTES, 0.04), results.fractionOfBandwidth(fusedNchw).orElseThrow(), 1e-12);
        assertEquals(0.5 / 0.05, results.speedupOverNaive(fusedNchw).orElseThrow(), 1e-12);
        assertEquals(0.04 / 0.05, results.nhwcOverNchw(fusedNhwc).orElseThrow(), 1e-12);
        assertTrue(results.nhwcOverNchw(fusedNchw).isEmpty(), "the ratio sits on NHWC rows");

        assertEquals(gbps(BACKWARD_BYTES, 0.08), backward.gigabytesPerSecond(), 1e-9);
        assertEquals(gbps(BACKWARD_BYTES, 0.08) / gbps(BACKWARD_BYTES, 0.06), results.fractionOfBandwidth(backward).orElseThrow(), 1e-12);
        assertEquals(0.6 / 0.08, results.speedupOverNaive(backward).orElseThrow(), 1e-12);

        // read-first passes in one call: forward 0.065 ms against copy 0.04 (not copy + read,
        // 0.06), backward 0.11 against triad 0.06 (not triad + dot, 0.105)
        assertEquals(0.04 / 0.065, results.readFirstBound(false, "8x64x16x16", "1").orElseThrow(), 1e-12);
        assertEquals(0.06 / 0.11, results.readFirstBound(true, "8x64x16x16", "1").orElseThrow(), 1e-12);
        assertTrue(results.readFirstBound(false, "8x64x16x16", "2").isEmpty(), "no baselines at 2 threads");
        // planar passes: forward 0.05 ms against copy 0.04, backward 0.075 against triad 0.06
        assertEquals(0.04 / 0.05, results.planarBound(false, "8x64x16x16", "1").orElseThrow(), 1e-12);
        assertEquals(0.06 / 0.075, results.planarBound(true, "8x64x16x16", "1").orElseThrow(), 1e-12);
    }

    @Test
    void mainWritesTheTableAndAChart(@TempDir Path out) throws IOException {
        Report.main(new String[] {FIXTURE.toString(), out.toString()});

        String table = Files.readString(out.resolve("results.md"));
        assertTrue(table.contains("| FUSED | NCHW | 8x64x16x16 | 1 | 0.050 | 21.0 | 0.80 | 10.0 | — |"), table);
        assertTrue(table.contains("| FUSED | NHWC | 8x64x16x16 | 1 | 0.040 | 26.2 | 1.00 | 35.0 | 0.80 |"), table);
        assertTrue(table.contains("| FUSED | NCHW | 8x64x16x16 | 1 | 0.080 | 19.7 | 0.75 | 7.5 | — |"), table);
        assertTrue(table.contains("### forwardTraining") && table.contains("### backward") && table.contains("of triad"), table);
        assertTrue(table.contains("| 8x64x16x16 | 1 | 0.62 | 0.55 | 0.80 | 0.80 |"), table);
        assertTrue(table.contains("| readFirstBackward | 8x64x16x16 | 1 | 0.110 | 14.3 |"), table);
        assertTrue(table.contains("| read | 8x64x16x16 | 1 | 0.020 | 26.2 |"), table);

        byte[] png = Files.readAllBytes(out.resolve("results.png"));
        assertTrue(png.length > 1000, "chart is " + png.length + " bytes");
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4), "a PNG file");
    }

    private static Measurement find(Results results, String operation, String variant, String layout) {
        return results.all().stream().filter(m -> m.operation().equals(operation) && m.variant().equals(variant)
                && m.layout().equals(layout)).findFirst().orElseThrow();
    }
}
