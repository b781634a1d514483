package io.github.batchnorm4j.dl4j.example;

import io.github.batchnorm4j.dl4j.example.LeNet.Norm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Trains the seeds' LeNet on Fashion-MNIST three times, with DL4J's own batch norm, with
 * batchnorm4j's and without batch norm, on the same data order and initial weights, and writes
 * the test accuracy curves as a chart and a table with the time per epoch and the share of it
 * spent in batch norm.
 *
 * <pre>
 * --data DIR      the IDX files (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)
 * --out DIR       where results.md and results.png go (default target/fashion-mnist)
 * --epochs N      default 3
 * --batch N       minibatch size, default 64 (the seed's)
 * --format F      NHWC (Keras', the seed's) or NCHW
 * --train N       use the first N training images only (default all 60000)
 * --test N        use the first N test images only (default all 10000)
 * </pre>
 */
public final class FashionMnistLeNet {
    private FashionMnistLeNet() {}

    private static final int CLASSES = 10;
    private static final long SEED = 3;

    /** One network's training: test accuracy, mean training loss and times, per epoch. */
    record Run(Norm norm, double[] accuracy, double[] loss, double[] epochSeconds, double[] batchNormSeconds) {
        double meanEpochSeconds() {
            return java.util.Arrays.stream(epochSeconds).average().orElse(Double.NaN);
        }

        double batchNormShare() {
            return java.util.Arrays.stream(batchNormSeconds).sum() / java.util.Arrays.stream(epochSeconds).sum();
        }
    }

    record Options(Path data, Path out, int epochs, int batch, CNN2DFormat format, int train, int test) {
        static Options parse(String[] args) {
            Path data = Path.of("/usr/share/datasets/fashion-mnist");
            Path out = Path.of("target/fashion-mnist");
            int epochs = 3;
            int batch = 64;
            CNN2DFormat format = CNN2DFormat.NHWC;
            int train = Integer.MAX_VALUE;
            int test = Integer.MAX_VALUE;
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 == args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String value = args[i + 1];
                switch (args[i]) {
                    case "--data" -> data = Path.of(value);
                    case "--out" -> out = Path.of(value);
                    case "--epochs" -> epochs = positive("--epochs", value);
                    case "--batch" -> batch = positive("--batch", value);
                    case "--format" -> format = CNN2DFormat.valueOf(value.toUpperCase(Locale.ROOT));
                    case "--train" -> train = positive("--train", value);
                    case "--test" -> test = positive("--test", value);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]
                            + "; options: --data DIR --out DIR --epochs N --batch N --format NHWC|NCHW --train N --test N");
                }
            }
            return new Options(data, out, epochs, batch, format, train, test);
        }

        private static int positive(String name, String value) {
            int n = Integer.parseInt(value);
            if (n < 1) {
                throw new IllegalArgumentException(name + " must be at least 1, got " + n);
            }
            return n;
        }
    }

    public static void main(String[] args) throws IOException {
        Options options = Options.parse(args);
        Images train = Images.load(options.data(), "train", options.train(), CLASSES);
        Images test = Images.load(options.data(), "t10k", options.test(), CLASSES);
        System.out.printf("LeNet on %d training and %d test images from %s, %s, batch %d, %d epochs%n",
                train.count(), test.count(), options.data(), options.format(), options.batch(), options.epochs());
        List<Run> runs = new ArrayList<>();
        for (Norm norm : List.of(Norm.DL4J, Norm.BATCHNORM4J, Norm.NONE)) {
            runs.add(train(norm, train, test, options));
        }
        Files.createDirectories(options.out());
        Files.writeString(options.out().resolve("results.md"), table(runs, train, test, options));
        BitmapEncoder.saveBitmap(chart(runs), options.out().resolve("results.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        System.out.print(table(runs, train, test, options));
        System.out.println("Wrote " + options.out().resolve("results.md") + " and results.png");
    }

    static Run train(Norm norm, Images train, Images test, Options options) {
        MultiLayerConfiguration configuration = LeNet.configuration(norm, options.format(), train.height(), train.width(),
                1, CLASSES, SEED);
        if (norm != Norm.NONE) {
            TimedBatchNorm.install(configuration, norm == Norm.BATCHNORM4J);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(configuration);
        net.init();
        Random shuffle = new Random(SEED);
        int epochs = options.epochs();
        double[] accuracy = new double[epochs];
        double[] loss = new double[epochs];
        double[] seconds = new double[epochs];
        double[] batchNorm = new double[epochs];
        int batches = (train.count() + options.batch() - 1) / options.batch();
        for (int epoch = 0; epoch < epochs; epoch++) {
            int[] order = permutation(train.count(), shuffle);
            TimedBatchNorm.takeNanos();
            double lossSum = 0;
            long start = System.nanoTime();
            try (ProgressBar bar = new ProgressBarBuilder().setTaskName(String.format("%-11s epoch %d", label(norm), epoch + 1))
                    .setInitialMax(batches).setStyle(ProgressBarStyle.ASCII).continuousUpdate().build()) {
                for (int from = 0; from < train.count(); from += options.batch()) {
                    net.fit(train.batch(order, from, Math.min(train.count(), from + options.batch()), options.format()));
                    lossSum += net.score();
                    bar.step();
                }
            }
            seconds[epoch] = (System.nanoTime() - start) / 1e9;
            batchNorm[epoch] = TimedBatchNorm.takeNanos() / 1e9;
            loss[epoch] = lossSum / batches;
            accuracy[epoch] = accuracy(net, test, options.format());
            System.out.printf("%-11s epoch %d: loss %.4f, test accuracy %.4f, %.1f s (batch norm %.1f s)%n", label(norm),
                    epoch + 1, loss[epoch], accuracy[epoch], seconds[epoch], batchNorm[epoch]);
        }
        return new Run(norm, accuracy, loss, seconds, batchNorm);
    }

    static double accuracy(MultiLayerNetwork net, Images test, CNN2DFormat format) {
        int[] order = permutation(test.count(), null);
        int right = 0;
        for (int from = 0; from < test.count(); from += 500) {
            int to = Math.min(test.count(), from + 500);
            DataSet batch = test.batch(order, from, to, format);
            INDArray predicted = Nd4j.argMax(net.output(batch.getFeatures(), false), 1);
            INDArray actual = Nd4j.argMax(batch.getLabels(), 1);
            for (int i = 0; i < to - from; i++) {
                right += predicted.getInt(i) == actual.getInt(i) ? 1 : 0;
            }
        }
        return (double) right / test.count();
    }

    /** 0..n-1, shuffled by random, or in order when it is null. */
    private static int[] permutation(int n, Random random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; random != null && i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    static String label(Norm norm) {
        return switch (norm) {
            case DL4J -> "DL4J BN";
            case BATCHNORM4J -> "batchnorm4j";
            case NONE -> "no BN";
        };
    }

    static String table(List<Run> runs, Images train, Images test, Options options) {
        StringBuilder s = new StringBuilder();
        s.append(String.format("LeNet (d2l, with and without batch norm) on %d Fashion-MNIST training images, tested on %d;%n"
                + "%s, batch %d, RMSprop 0.001, %d epochs, %d threads available.%n%n", train.count(), test.count(),
                options.format(), options.batch(), options.epochs(), Runtime.getRuntime().availableProcessors()));
        s.append("| network | test accuracy by epoch | final | training loss, last epoch | s per epoch | batch norm share |\n");
        s.append("|---|---|---|---|---|---|\n");
        for (Run run : runs) {
            StringBuilder curve = new StringBuilder();
            for (double a : run.accuracy()) {
                curve.append(curve.length() == 0 ? "" : ", ").append(String.format("%.4f", a));
            }
            int last = run.accuracy().length - 1;
            s.append(String.format("| %s | %s | %.4f | %.4f | %.1f | %s |%n", label(run.norm()), curve, run.accuracy()[last],
                    run.loss()[last], run.meanEpochSeconds(),
                    run.norm() == Norm.NONE ? "-" : String.format("%.0f%%", 100 * run.batchNormShare())));
        }
        return s.toString();
    }

    static XYChart chart(List<Run> runs) {
        XYChart chart = new XYChartBuilder().width(800).height(500).title("LeNet on Fashion-MNIST: test accuracy")
                .xAxisTitle("epoch").yAxisTitle("test accuracy").build();
        for (Run run : runs) {
            double[] epochs = new double[run.accuracy().length];
            for (int e = 0; e < epochs.length; e++) {
                epochs[e] = e + 1;
            }
            chart.addSeries(label(run.norm()), epochs, run.accuracy());
        }
        return chart;
    }
}
