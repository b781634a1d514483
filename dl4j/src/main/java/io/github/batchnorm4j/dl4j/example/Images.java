package io.github.batchnorm4j.dl4j.example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Grey images with class labels, pixels scaled to [0, 1], as Fashion-MNIST's IDX files hold them. */
record Images(float[] pixels, int[] labels, int height, int width, int classes) {

    int count() {
        return labels.length;
    }

    /**
     * The images and labels of one IDX pair, {@code <prefix>-images-idx3-ubyte[.gz]} and
     * {@code <prefix>-labels-idx1-ubyte[.gz]}, the first {@code limit} of them at most.
     */
    static Images load(Path directory, String prefix, int limit, int classes) throws IOException {
        Idx.Array images = Idx.read(find(directory, prefix + "-images-idx3-ubyte"));
        Idx.Array labels = Idx.read(find(directory, prefix + "-labels-idx1-ubyte"));
        if (images.dimensions().length != 3 || labels.dimensions().length != 1 || images.count() != labels.count()) {
            throw new IOException(directory + ": " + prefix + " images and labels do not match (dimensions "
                    + java.util.Arrays.toString(images.dimensions()) + " and " + java.util.Arrays.toString(labels.dimensions()) + ")");
        }
        int count = Math.min(limit, images.count());
        int size = images.itemSize();
        float[] pixels = new float[count * size];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (images.values()[i] & 0xff) / 255f;
        }
        int[] classOf = new int[count];
        for (int i = 0; i < count; i++) {
            classOf[i] = labels.values()[i] & 0xff;
            if (classOf[i] >= classes) {
                throw new IOException(directory + ": label " + classOf[i] + " of " + prefix + " item " + i
                        + " is not below " + classes);
            }
        }
        return new Images(pixels, classOf, images.dimensions()[1], images.dimensions()[2], classes);
    }

    private static Path find(Path directory, String name) throws IOException {
        for (String candidate : new String[] {name + ".gz", name}) {
            Path file = directory.resolve(candidate);
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        throw new IOException("no " + name + "(.gz) in " + directory
                + ": install Fashion-MNIST (sudo apt-get install dataset-fashion-mnist) or pass --data DIR");
    }

    /** Items order[from, to) as one batch: features in the format (one channel), one-hot labels. */
    DataSet batch(int[] order, int from, int to, CNN2DFormat format) {
        int n = to - from;
        int size = height * width;
        float[] features = new float[n * size];
        INDArray oneHot = Nd4j.zeros(DataType.FLOAT, n, classes);
        for (int i = 0; i < n; i++) {
            System.arraycopy(pixels, order[from + i] * size, features, i * size, size);
            oneHot.putScalar(i, labels[order[from + i]], 1f);
        }
        // with one channel, NCHW and NHWC hold the same floats
        long[] shape = format == CNN2DFormat.NCHW ? new long[] {n, 1, height, width} : new long[] {n, height, width, 1};
        return new DataSet(Nd4j.create(features, shape, 'c'), oneHot);
    }
}
