package io.github.batchnorm4j.jmh.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** A JMH run's measurements, and the ratios the report derives from them. */
public final class Results {
    private static final List<String> VARIANTS = List.of("NAIVE", "VECTORIZED", "FUSED");

    private final List<Measurement> measurements;

    public Results(List<Measurement> measurements) {
        this.measurements = List.copyOf(measurements);
    }

    /** Reads the file JMH writes with {@code -rf json}. */
    public static Results read(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        List<Measurement> list = new ArrayList<>();
        for (JsonNode run : root) {
            String benchmark = run.get("benchmark").asText();
            JsonNode params = run.path("params");
            JsonNode metric = run.get("primaryMetric");
            double score = metric.get("score").asDouble();
            double error = metric.path("scoreError").asDouble(Double.NaN);
            String unit = metric.get("scoreUnit").asText();
            if (!unit.equals("ms/op")) {
                throw new IOException(benchmark + ": expected scores in ms/op, got " + unit);
            }
            list.add(new Measurement(benchmark.substring(benchmark.lastIndexOf('.') + 1),
                    params.path("variant").asText(""), params.path("layout").asText(""),
                    params.path("shape").asText(), params.path("threads").asText("1"), score, error));
        }
        return new Results(list);
    }

    public List<Measurement> all() {
        return measurements;
    }

    /** The operations measured, baselines excluded, in a fixed order. */
    public List<String> operations() {
        List<String> order = List.of("forwardTraining", "forwardInference", "backward", "nchwToNhwc", "nhwcToNchw");
        return order.stream().filter(op -> measurements.stream().anyMatch(m -> m.operation().equals(op))).toList();
    }

    /** The rows of one operation, sorted by shape, threads, layout, variant. */
    public List<Measurement> rows(String operation) {
        return measurements.stream().filter(m -> m.operation().equals(operation))
                .sorted(Comparator.comparing(Measurement::shape).thenComparing(Measurement::threads)
                        .thenComparing(Measurement::layout)
                        .thenComparing(m -> VARIANTS.indexOf(m.variant())))
                .toList();
    }

    /** The baseline {@code name} (copy, triad, arraycopy) on the same shape and threads. */
    public Optional<Measurement> baseline(String name, Measurement m) {
        return measurements.stream().filter(b -> b.operation().equals(name) && b.shape().equals(m.shape())
                && b.threads().equals(m.threads())).findFirst();
    }

    /**
     * The most an operation that reads all of its inputs before it writes anything (training in
     * NHWC or on a 2-D shape, where every row holds every channel, and fused NCHW training on
     * tensors over 1 MiB) can reach, as a fraction of its baseline: copy / readFirstForward for
     * forward, triad / readFirstBackward for backward (both passes in one call, see
     * BandwidthBenchmark), measured on {@code shape} and {@code threads} in the same run.
     */
    public Optional<Double> readFirstBound(boolean backward, String shape, String threads) {
        return bound(backward, backward ? "readFirstBackward" : "readFirstForward", shape, threads);
    }

    /**
     * The most NCHW training can reach as a fraction of its baseline when it writes each channel
     * while the channel is still in L2: copy / planarForward for forward, triad / planarBackward
     * for backward (those passes over memory, see BandwidthBenchmark), measured on {@code shape}
     * and {@code threads} in the same run.
     */
    public Optional<Double> planarBound(boolean backward, String shape, String threads) {
        return bound(backward, backward ? "planarBackward" : "planarForward", shape, threads);
    }

    /** The baseline's time (copy, or triad for backward) over the time of the loops {@code passes}. */
    private Optional<Double> bound(boolean backward, String passes, String shape, String threads) {
        Optional<Measurement> baseline = find(backward ? "triad" : "copy", "", "", shape, threads);
        Optional<Measurement> made = find(passes, "", "", shape, threads);
        return baseline.flatMap(b -> made.map(p -> b.msPerOp() / p.msPerOp()));
    }

    /** This operation's GB/s over its baseline's (copy or triad) GB/s, measured in the same run. */
    public Optional<Double> fractionOfBandwidth(Measurement m) {
        return baseline(m.baseline(), m).map(b -> m.gigabytesPerSecond() / b.gigabytesPerSecond());
    }

    /** Naive's time over this one's, same operation, layout, shape and threads. */
    public Optional<Double> speedupOverNaive(Measurement m) {
        return find(m.operation(), "NAIVE", m.layout(), m.shape(), m.threads()).map(n -> n.msPerOp() / m.msPerOp());
    }

    /** For an NHWC row: its time over the NCHW time of the same variant, shape and threads. */
    public Optional<Double> nhwcOverNchw(Measurement m) {
        if (!m.layout().equals("NHWC")) {
            return Optional.empty();
        }
        return find(m.operation(), m.variant(), "NCHW", m.shape(), m.threads()).map(n -> m.msPerOp() / n.msPerOp());
    }

    private Optional<Measurement> find(String operation, String variant, String layout, String shape, String threads) {
        return measurements.stream().filter(x -> x.operation().equals(operation) && x.variant().equals(variant)
                && x.layout().equals(layout) && x.shape().equals(shape) && x.threads().equals(threads)).findFirst();
    }
}
