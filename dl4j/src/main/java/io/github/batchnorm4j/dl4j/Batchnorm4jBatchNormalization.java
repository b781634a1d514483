package io.github.batchnorm4j.dl4j;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.nn.layers.normalization.Batchnorm4jBatchNormalizationLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's {@code BatchNormalization} layer configuration whose layers run on batchnorm4j. It has
 * every setting of DL4J's and no other, so a network built with it saves and loads (JSON,
 * {@code ModelSerializer}) and clones as DL4J's does, and the layers it makes keep batchnorm4j.
 *
 * <pre>{@code
 * .layer(new Batchnorm4jBatchNormalization.Builder().nOut(6).build())     // in place of BatchNormalization.Builder
 * .layer(Batchnorm4jBatchNormalization.of(existingBatchNormalizationConf)) // or from an existing one
 * }</pre>
 */
public class Batchnorm4jBatchNormalization extends BatchNormalization {
    /** DL4J's defaults; for JSON loading. */
    public Batchnorm4jBatchNormalization() {
        super();
    }

    /** A configuration with every setting of {@code settings} (decay, eps, format, updater, name...). */
    public static Batchnorm4jBatchNormalization of(BatchNormalization settings) {
        if (settings == null) {
            throw new NullPointerException("settings must not be null");
        }
        return copySettings(settings, new Batchnorm4jBatchNormalization());
    }

    /**
     * Every setting of {@code from} into {@code to}: each field DL4J's configuration classes
     * declare. This class adds none, so that is the whole configuration, whatever a DL4J version
     * adds. For subclasses that make other layers ({@link #newLayer}).
     */
    protected static <T extends BatchNormalization> T copySettings(BatchNormalization from, T to) {
        for (Class<?> type = BatchNormalization.class; type != Object.class; type = type.getSuperclass()) {
            for (Field field : type.getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers())) {
                    continue;
                }
                try {
                    field.setAccessible(true);
                    field.set(to, field.get(from));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    throw new IllegalStateException("cannot copy DL4J's BatchNormalization setting " + field, e);
                }
            }
        }
        return to;
    }

    /**
     * Puts batchnorm4j under every BatchNormalization layer of a network configuration not yet
     * built into a network (as one loaded from JSON): each is replaced by one with its settings.
     *
     * @return how many layers were replaced
     */
    public static int install(MultiLayerConfiguration configuration) {
        int replaced = 0;
        for (NeuralNetConfiguration layer : configuration.getConfs()) {
            replaced += install(layer);
        }
        return replaced;
    }

    /** {@link #install(MultiLayerConfiguration)} for a computation graph's layers. */
    public static int install(ComputationGraphConfiguration configuration) {
        int replaced = 0;
        for (GraphVertex vertex : configuration.getVertices().values()) {
            if (vertex instanceof LayerVertex layer) {
                replaced += install(layer.getLayerConf());
            }
        }
        return replaced;
    }

    private static int install(NeuralNetConfiguration layer) {
        if (layer.getLayer() instanceof BatchNormalization settings && !(settings instanceof Batchnorm4jBatchNormalization)) {
            layer.setLayer(of(settings));
            return 1;
        }
        return 0;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
            int layerIndex, INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        // as DL4J's BatchNormalization.instantiate, with batchnorm4j's layer
        LayerValidation.assertNOutSet("BatchNormalization", getLayerName(), layerIndex, getNOut());
        org.deeplearning4j.nn.layers.normalization.BatchNormalization layer = newLayer(conf, networkDataType);
        layer.setListeners(trainingListeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(layerParamsView);
        Map<String, INDArray> params = initializer().init(conf, layerParamsView, initializeParams);
        layer.setParamTable(params);
        layer.setConf(conf);
        return layer;
    }

    /** The layer {@link #instantiate} sets up: DL4J's, with batchnorm4j as its helper. */
    protected org.deeplearning4j.nn.layers.normalization.BatchNormalization newLayer(NeuralNetConfiguration conf,
            DataType dataType) {
        return new Batchnorm4jBatchNormalizationLayer(conf, dataType);
    }

    @Override
    public Batchnorm4jBatchNormalization clone() {
        return (Batchnorm4jBatchNormalization) super.clone();
    }

    /** DL4J's builder, building this configuration. */
    public static class Builder extends BatchNormalization.Builder {
        @Override
        public Batchnorm4jBatchNormalization build() {
            return of(super.build());
        }
    }
}
