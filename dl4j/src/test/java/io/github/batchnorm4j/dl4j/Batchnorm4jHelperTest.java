package io.github.batchnorm4j.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm4j.FloatSpan;
import io.github.batchnorm4j.dl4j.example.LeNet;
import io.github.batchnorm4j.dl4j.example.LeNet.Norm;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * DL4J's BatchNormalization on batchnorm4j against DL4J's own, in the seeds' LeNet: the same
 * network and seed give the same outputs, gradients and parameters (running statistics
 * included) after several training steps, within float rounding; the helper is the one in use;
 * saving, loading and cloning keep it.
 */
class Batchnorm4jHelperTest {
    private static final int BATCH = 16;
    private static final int STEPS = 4;
    private static final long SEED = 3;

    /** Two float computations of one value by different code agree to this, relative to the value or 1. */
    private static final double TOLERANCE = 2e-4;

    @ParameterizedTest
    @EnumSource(value = CNN2DFormat.class)
    void trainsAsDl4jDoes(CNN2DFormat format) {
        MultiLayerNetwork theirs = network(Norm.DL4J, format);
        MultiLayerNetwork ours = network(Norm.BATCHNORM4J, format);
        assertEquals(theirs.params(), ours.params(), "same seed, same initial parameters");
        for (int step = 0; step < STEPS; step++) {
            DataSet batch = batch(format, step);
            theirs.setInput(batch.getFeatures());
            theirs.setLabels(batch.getLabels());
            ours.setInput(batch.getFeatures());
            ours.setLabels(batch.getLabels());
            theirs.computeGradientAndScore();
            ours.computeGradientAndScore();
            assertClose("gradient at step " + step, theirs.gradient().gradient(), ours.gradient().gradient());
            assertEquals(theirs.score(), ours.score(), TOLERANCE * Math.max(1, Math.abs(theirs.score())), "loss");
            theirs.fit(batch);
            ours.fit(batch);
            assertClose("parameters after step " + step, theirs.params(), ours.params());
        }
        INDArray test = batch(format, 99).getFeatures();
        assertClose("inference output", theirs.output(test, false), ours.output(test, false));
        assertClose("training output", theirs.output(test, true), ours.output(test, true));
        assertEquals(4, batchNormLayers(ours).size());
        for (BatchNormalization layer : batchNormLayers(ours)) {
            Batchnorm4jHelper helper = assertInstanceOf(Batchnorm4jHelper.class, layer.getHelper());
            assertNotNull(helper.getMeanCache(DataType.FLOAT), "the helper ran the training forward");
        }
        for (BatchNormalization layer : batchNormLayers(theirs)) {
            assertNull(layer.getHelper(), "the reference is DL4J's own code");
        }
    }

    @Test
    void saveLoadAndCloneKeepTheHelper(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = network(Norm.BATCHNORM4J, CNN2DFormat.NHWC);
        net.fit(batch(CNN2DFormat.NHWC, 0));
        INDArray test = batch(CNN2DFormat.NHWC, 1).getFeatures();
        INDArray before = net.output(test, false);

        File file = dir.resolve("lenet.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        MultiLayerNetwork loaded = ModelSerializer.restoreMultiLayerNetwork(file, true);
        MultiLayerNetwork fromJson = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(net.getLayerWiseConfigurations().toJson()));
        fromJson.init(net.params().dup(), false);
        for (MultiLayerNetwork copy : List.of(loaded, fromJson, net.clone())) {
            assertEquals(4, batchNormLayers(copy).size());
            for (BatchNormalization layer : batchNormLayers(copy)) {
                assertInstanceOf(Batchnorm4jBatchNormalization.class, layer.conf().getLayer());
                assertInstanceOf(Batchnorm4jHelper.class, layer.getHelper());
            }
            assertEquals(before, copy.output(test, false), "same parameters, same helper, same bits");
        }
    }

    @Test
    void installSwitchesAnExistingConfiguration() {
        MultiLayerConfiguration conf = MultiLayerConfiguration.fromJson(
                LeNet.configuration(Norm.DL4J, CNN2DFormat.NCHW, 28, 28, 1, 10, SEED).toJson());
        assertEquals(4, Batchnorm4jBatchNormalization.install(conf));
        assertEquals(0, Batchnorm4jBatchNormalization.install(conf), "already on batchnorm4j");
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        for (BatchNormalization layer : batchNormLayers(net)) {
            assertInstanceOf(Batchnorm4jHelper.class, layer.getHelper());
            assertEquals(0.99, ((Batchnorm4jBatchNormalization) layer.conf().getLayer()).getDecay(), "settings kept");
        }
    }

    @Test
    void installSwitchesAComputationGraph() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in")
                .addLayer("dense", new DenseLayer.Builder().nIn(5).nOut(4).build(), "in")
                .addLayer("bn", new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder().build(), "dense")
                .addLayer("out", new OutputLayer.Builder().nOut(2).build(), "bn")
                .setOutputs("out").setInputTypes(InputType.feedForward(5)).build();
        assertEquals(1, Batchnorm4jBatchNormalization.install(conf));
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        BatchNormalization bn = (BatchNormalization) graph.getLayer("bn");
        assertInstanceOf(Batchnorm4jHelper.class, bn.getHelper());
        graph.fit(new DataSet(Nd4j.rand(DataType.FLOAT, 8, 5), Nd4j.eye(2).repeat(0, 4).castTo(DataType.FLOAT)));
        assertNotNull(((Batchnorm4jHelper) bn.getHelper()).getMeanCache(DataType.FLOAT), "2-D training ran on batchnorm4j");
    }

    @Test
    void ofKeepsEverySetting() {
        org.deeplearning4j.nn.conf.layers.BatchNormalization settings = new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder()
                .decay(0.8).eps(1e-4).lockGammaBeta(true).gamma(2).beta(0.5).nOut(7).name("bn7").build();
        Batchnorm4jBatchNormalization ours = Batchnorm4jBatchNormalization.of(settings);
        assertEquals(settings, ours, "equal as DL4J configurations");
        assertEquals(0.8, ours.getDecay());
        assertEquals("bn7", ours.getLayerName());
        assertTrue(ours.isLockGammaBeta());
    }

    @Test
    void backpropWithoutTrainingForwardIsRefused() {
        Batchnorm4jHelper helper = new Batchnorm4jHelper(DataType.FLOAT);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 2, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> helper.backpropGradient(x, x.dup(),
                new long[] {1, 3}, Nd4j.ones(DataType.FLOAT, 1, 3), Nd4j.zeros(DataType.FLOAT, 1, 3),
                Nd4j.zeros(DataType.FLOAT, 1, 3), Nd4j.zeros(DataType.FLOAT, 1, 3), 1e-5, CNN2DFormat.NCHW,
                LayerWorkspaceMgr.noWorkspaces()));
        assertTrue(e.getMessage().contains("has not run one"), e.getMessage());
    }

    @Test
    void viewsAreReadInPlaceAndOthersCopied() {
        INDArray whole = Nd4j.arange(0, 60).castTo(DataType.FLOAT).reshape(5, 12);
        INDArray rows = whole.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all()); // packed, at offset 24
        INDArray columns = whole.get(NDArrayIndex.all(), NDArrayIndex.interval(3, 6)); // strided
        assertTrue(NdSpans.packed(rows));
        assertTrue(!NdSpans.packed(columns));
        for (INDArray a : List.of(rows, columns, whole.transpose())) {
            FloatSpan span = NdSpans.read(a);
            INDArray flat = a.dup('c').reshape(a.length());
            for (int i = 0; i < a.length(); i++) {
                assertEquals(flat.getFloat(i), span.get(i), "element " + i);
            }
        }
        FloatSpan inPlace = NdSpans.write(rows);
        inPlace.set(0, -1f);
        assertEquals(-1f, whole.getFloat(2, 0), "a write lands in the array's own memory");
    }

    private static MultiLayerNetwork network(Norm norm, CNN2DFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(LeNet.configuration(norm, format, 28, 28, 1, 10, SEED, new Sgd(0.1)));
        net.init();
        return net;
    }

    /** Random images in [0, 1) and one-hot labels, the same for a given step. */
    private static DataSet batch(CNN2DFormat format, int step) {
        Random random = new Random(1000 + step);
        float[] pixels = new float[BATCH * 28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = random.nextFloat();
        }
        long[] shape = format == CNN2DFormat.NCHW ? new long[] {BATCH, 1, 28, 28} : new long[] {BATCH, 28, 28, 1};
        INDArray labels = Nd4j.zeros(DataType.FLOAT, BATCH, 10);
        for (int i = 0; i < BATCH; i++) {
            labels.putScalar(i, random.nextInt(10), 1f);
        }
        return new DataSet(Nd4j.create(pixels, shape, 'c'), labels);
    }

    private static List<BatchNormalization> batchNormLayers(MultiLayerNetwork net) {
        List<BatchNormalization> found = new ArrayList<>();
        for (Layer layer : net.getLayers()) {
            if (layer instanceof BatchNormalization bn) {
                found.add(bn);
            }
        }
        return found;
    }

    private static void assertClose(String what, INDArray expected, INDArray actual) {
        float[] e = expected.dup('c').reshape(expected.length()).toFloatVector();
        float[] a = actual.dup('c').reshape(actual.length()).toFloatVector();
        assertEquals(e.length, a.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.length; i++) {
            double error = Math.abs((double) e[i] - a[i]) / Math.max(1, Math.abs(e[i]));
            if (!(error <= worst)) {
                worst = error;
                at = i;
            }
        }
        int where = at;
        double largest = worst;
        assertTrue(largest <= TOLERANCE, () -> what + ": element " + where + " is " + a[where] + ", DL4J's "
                + e[where] + " (relative error " + largest + ")");
    }
}
