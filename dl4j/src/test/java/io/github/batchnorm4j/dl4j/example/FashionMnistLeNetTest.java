package io.github.batchnorm4j.dl4j.example;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.dl4j.example.LeNet.Norm;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Fashion-MNIST example on a small synthetic set written as gzipped IDX files (the build has
 * no Fashion-MNIST): it reads them back exactly, trains the three networks, and writes the table
 * and chart; both batch-norm networks learn the set and agree.
 */
class FashionMnistLeNetTest {
    private static final int SIDE = 28;

    @Test
    void readsIdxFiles(@TempDir Path dir) throws IOException {
        Synthetic set = Synthetic.of(37, 5);
        set.write(dir, "train");
        Images images = Images.load(dir, "train", Integer.MAX_VALUE, 10);
        assertEquals(37, images.count());
        assertEquals(SIDE, images.height());
        assertArrayEquals(set.labels, images.labels());
        for (int i = 0; i < set.pixels.length; i++) {
            assertEquals((set.pixels[i] & 0xff) / 255f, images.pixels()[i]);
        }
        assertEquals(20, Images.load(dir, "train", 20, 10).count(), "--train limits the images read");
        IOException missing = assertThrows(IOException.class, () -> Images.load(dir, "t10k", 10, 10));
        assertTrue(missing.getMessage().contains("apt-get install dataset-fashion-mnist"), missing.getMessage());
    }

    @Test
    void trainsTheThreeNetworksAndWritesTheReport(@TempDir Path dir) throws IOException {
        // 240 steps: the running statistics (Keras' momentum 0.99) have come 90% of the way
        Synthetic.of(960, 1).write(dir, "train");
        Synthetic.of(300, 2).write(dir, "t10k");
        Path out = dir.resolve("out");
        FashionMnistLeNet.Options options = FashionMnistLeNet.Options.parse(new String[] {"--data", dir.toString(), "--out",
                out.toString(), "--epochs", "2", "--batch", "8", "--format", "nchw"});
        Images train = Images.load(dir, "train", Integer.MAX_VALUE, 10);
        Images test = Images.load(dir, "t10k", Integer.MAX_VALUE, 10);
        FashionMnistLeNet.Run dl4j = FashionMnistLeNet.train(Norm.DL4J, train, test, options);
        FashionMnistLeNet.Run ours = FashionMnistLeNet.train(Norm.BATCHNORM4J, train, test, options);
        double last = ours.accuracy()[1];
        assertTrue(last > 0.9, "batchnorm4j's LeNet learns the synthetic classes: test accuracy " + last);
        assertEquals(dl4j.accuracy()[1], last, 0.02, "the same network with DL4J's own batch norm");
        assertTrue(ours.batchNormShare() > 0 && ours.batchNormShare() < 1, "batch norm time is part of the epoch");

        FashionMnistLeNet.main(new String[] {"--data", dir.toString(), "--out", out.toString(), "--epochs", "1",
                "--train", "320", "--test", "100"});
        String table = Files.readString(out.resolve("results.md"));
        for (String network : List.of("| DL4J BN |", "| batchnorm4j |", "| no BN |")) {
            assertTrue(table.contains(network), table);
        }
        assertTrue(Files.size(out.resolve("results.png")) > 1000, "the chart");
    }

    @Test
    void badOptionsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnistLeNet.Options.parse(new String[] {"--epochs", "0"}));
        assertTrue(e.getMessage().contains("--epochs must be at least 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FashionMnistLeNet.Options.parse(new String[] {"--speed", "1"}));
        assertTrue(e.getMessage().contains("unknown option --speed"), e.getMessage());
    }

    /** Images whose class is where a bright square sits, on a noisy background. */
    private record Synthetic(byte[] pixels, int[] labels) {
        static Synthetic of(int count, long seed) {
            Random random = new Random(seed);
            byte[] pixels = new byte[count * SIDE * SIDE];
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                int label = random.nextInt(10);
                labels[i] = label;
                int top = 2 + (label / 5) * 13;
                int left = 1 + (label % 5) * 5;
                for (int y = 0; y < SIDE; y++) {
                    for (int x = 0; x < SIDE; x++) {
                        boolean square = y >= top && y < top + 8 && x >= left && x < left + 5;
                        int value = square ? 200 + random.nextInt(56) : random.nextInt(60);
                        pixels[(i * SIDE + y) * SIDE + x] = (byte) value;
                    }
                }
            }
            return new Synthetic(pixels, labels);
        }

        void write(Path dir, String prefix) throws IOException {
            try (DataOutputStream out = gzip(dir.resolve(prefix + "-images-idx3-ubyte.gz"))) {
                out.writeInt(0x0803);
                out.writeInt(labels.length);
                out.writeInt(SIDE);
                out.writeInt(SIDE);
                out.write(pixels);
            }
            try (DataOutputStream out = gzip(dir.resolve(prefix + "-labels-idx1-ubyte.gz"))) {
                out.writeInt(0x0801);
                out.writeInt(labels.length);
                for (int label : labels) {
                    out.writeByte(label);
                }
            }
        }

        private static DataOutputStream gzip(Path file) throws IOException {
            OutputStream raw = Files.newOutputStream(file);
            return new DataOutputStream(new GZIPOutputStream(raw));
        }
    }
}
