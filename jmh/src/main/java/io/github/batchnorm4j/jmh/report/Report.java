package io.github.batchnorm4j.jmh.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;

/**
 * Turns a JMH JSON result into a Markdown table per operation and a chart of GB/s by variant
 * and layout with the bandwidth baseline drawn as a line.
 *
 * <pre>java -cp benchmarks.jar io.github.batchnorm4j.jmh.report.Report result.json outDir</pre>
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: Report <jmh-result.json> <output directory>");
            System.exit(2);
        }
        System.setProperty("java.awt.headless", "true");
        Results results = Results.read(Path.of(args[0]));
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        String markdown = markdown(results);
        Files.writeString(out.resolve("results.md"), markdown);
        Path chart = out.resolve("results.png");
        chart(results, chart);
        System.out.println();
        System.out.println(markdown);
        System.out.println("Table: " + out.resolve("results.md").toAbsolutePath());
        System.out.println("Chart: " + chart.toAbsolutePath());
    }

    /** One table per operation, then the baselines. */
    public static String markdown(Results results) {
        StringBuilder md = new StringBuilder();
        md.append("GB/s counts the minimal traffic: 8 bytes an element for forward, inference and conversion\n")
                .append("(read x, write y), 12 for backward (read x and dy, write dx). `of copy`/`of triad` divides by\n")
                .append("the copy or triad loop's GB/s on the same shape and threads in the same run. `NHWC÷NCHW` is\n")
                .append("NHWC's time over NCHW's (below 1: NHWC is faster).\n");
        for (String operation : results.operations()) {
            List<Measurement> rows = results.rows(operation);
            String baseline = rows.get(0).baseline();
            md.append("\n### ").append(operation).append("\n\n")
                    .append("| variant | layout | shape | threads | ms/op | GB/s | of ").append(baseline)
                    .append(" | × naive | NHWC÷NCHW |\n")
                    .append("|---|---|---|---|---:|---:|---:|---:|---:|\n");
            for (Measurement m : rows) {
                md.append("| ").append(m.variant().isEmpty() ? "—" : m.variant())
                        .append(" | ").append(m.layout().isEmpty() ? "—" : m.layout())
                        .append(" | ").append(m.shape())
                        .append(" | ").append(m.threads())
                        .append(" | ").append(format("%.3f", m.msPerOp()))
                        .append(" | ").append(format("%.1f", m.gigabytesPerSecond()))
                        .append(" | ").append(optional("%.2f", results.fractionOfBandwidth(m)))
                        .append(" | ").append(optional("%.1f", results.speedupOverNaive(m)))
                        .append(" | ").append(optional("%.2f", results.nhwcOverNchw(m)))
                        .append(" |\n");
            }
        }
        List<Measurement> baselines = results.all().stream().filter(Measurement::isBaseline).toList();
        if (!baselines.isEmpty()) {
            md.append("\n### bandwidth baselines\n\n| loop | shape | threads | ms/op | GB/s |\n|---|---|---|---:|---:|\n");
            baselines.stream().sorted(java.util.Comparator.comparing(Measurement::shape)
                    .thenComparing(Measurement::threads).thenComparing(Measurement::operation))
                    .forEach(m -> md.append("| ").append(m.operation()).append(" | ").append(m.shape())
                            .append(" | ").append(m.threads()).append(" | ").append(format("%.3f", m.msPerOp()))
                            .append(" | ").append(format("%.1f", m.gigabytesPerSecond())).append(" |\n"));
            StringBuilder bounds = new StringBuilder();
            baselines.stream().map(m -> m.shape() + " " + m.threads()).distinct().sorted().forEach(key -> {
                String[] shapeThreads = key.split(" ");
                List<Optional<Double>> row = List.of(
                        results.readFirstBound(false, shapeThreads[0], shapeThreads[1]),
                        results.readFirstBound(true, shapeThreads[0], shapeThreads[1]),
                        results.planarBound(false, shapeThreads[0], shapeThreads[1]),
                        results.planarBound(true, shapeThreads[0], shapeThreads[1]));
                if (row.stream().anyMatch(Optional::isPresent)) {
                    bounds.append("| ").append(shapeThreads[0]).append(" | ").append(shapeThreads[1]);
                    row.forEach(bound -> bounds.append(" | ").append(optional("%.2f", bound)));
                    bounds.append(" |\n");
                }
            });
            if (!bounds.isEmpty()) {
                md.append("\n### bounds\n\n")
                        .append("Training must read a channel whole before its first y (backward: its x and dy before\n")
                        .append("its first dx); in NHWC and on 2-D shapes every row holds every channel, so all of x.\n")
                        .append("Read first: read all of it, then read it again while writing; the read-first loops make\n")
                        .append("both passes in one call (so a read finds in cache only what the pass before left there),\n")
                        .append("at most copy / readFirstForward and triad / readFirstBackward. Fused takes this path in\n")
                        .append("both layouts for tensors over 1 MiB. Planar (NCHW): reduce a channel, then write it\n")
                        .append("while it is still in L2; the planar loops make those passes with the arithmetic left out,\n")
                        .append("at most copy / planarForward and triad / planarBackward. Fused takes it only for NCHW\n")
                        .append("tensors up to 1 MiB, in cache either way.\n\n")
                        .append("| shape | threads | read first: forward ≤ | backward ≤ | planar: forward ≤ | backward ≤ |\n")
                        .append("|---|---|---:|---:|---:|---:|\n")
                        .append(bounds);
            }
        }
        return md.toString();
    }

    /**
     * One bar chart per operation at its highest thread count: GB/s per shape, a bar for each
     * variant and layout, and the copy or triad GB/s drawn as a line. Saved as one PNG.
     */
    public static void chart(Results results, Path png) throws IOException {
        List<CategoryChart> charts = new ArrayList<>();
        for (String operation : results.operations()) {
            List<Measurement> rows = results.rows(operation);
            String threads = rows.stream().map(Measurement::threads)
                    .max(java.util.Comparator.comparingInt(Report::threadOrder)).orElseThrow();
            List<Measurement> at = rows.stream().filter(m -> m.threads().equals(threads)).toList();
            List<String> shapes = new ArrayList<>(new TreeSet<>(at.stream().map(Measurement::shape).toList()));
            CategoryChart chart = new CategoryChartBuilder().width(900).height(480)
                    .title(operation + ": GB/s of minimal traffic, " + threads + " thread(s)")
                    .xAxisTitle("shape").yAxisTitle("GB/s").build();
            chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
            chart.getStyler().setOverlapped(false);
            TreeSet<String> series = new TreeSet<>(at.stream().map(m -> label(m)).toList());
            for (String name : series) {
                List<Double> values = new ArrayList<>();
                for (String shape : shapes) {
                    values.add(at.stream().filter(m -> label(m).equals(name) && m.shape().equals(shape))
                            .findFirst().map(Measurement::gigabytesPerSecond).orElse(0.0));
                }
                chart.addSeries(name, shapes, values);
            }
            String baseline = at.get(0).baseline();
            List<Double> line = new ArrayList<>();
            for (String shape : shapes) {
                Measurement any = at.stream().filter(m -> m.shape().equals(shape)).findFirst().orElseThrow();
                line.add(results.baseline(baseline, any).map(Measurement::gigabytesPerSecond).orElse(0.0));
            }
            CategorySeries bandwidth = chart.addSeries(baseline + " (bandwidth)", shapes, line);
            bandwidth.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
            charts.add(chart);
        }
        if (charts.isEmpty()) {
            throw new IOException("no operation to chart in the results");
        }
        String file = png.toString();
        String base = file.endsWith(".png") ? file.substring(0, file.length() - 4) : file;
        BitmapEncoder.saveBitmap(charts, charts.size(), 1, base, BitmapEncoder.BitmapFormat.PNG);
    }

    private static String label(Measurement m) {
        return (m.variant().isEmpty() ? m.operation() : m.variant()) + (m.layout().isEmpty() ? "" : " " + m.layout());
    }

    private static int threadOrder(String threads) {
        try {
            return Integer.parseInt(threads);
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    private static String format(String pattern, double value) {
        return String.format(Locale.ROOT, pattern, value);
    }

    private static String optional(String pattern, Optional<Double> value) {
        return value.map(v -> format(pattern, v)).orElse("—");
    }
}
