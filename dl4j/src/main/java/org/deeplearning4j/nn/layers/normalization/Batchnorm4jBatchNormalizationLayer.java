package org.deeplearning4j.nn.layers.normalization;

import io.github.batchnorm4j.dl4j.Batchnorm4jHelper;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * DL4J's batch-norm layer with batchnorm4j as its helper. It lives in DL4J's package because the
 * layer's helper field and the method that sets it are package-private; everything else is
 * DL4J's own layer.
 */
public class Batchnorm4jBatchNormalizationLayer extends BatchNormalization {
    public Batchnorm4jBatchNormalizationLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    void initializeHelper() {
        BatchNormalizationHelper chosen = newHelper();
        helper = chosen != null && chosen.checkSupported(layerConf().getEps(), layerConf().isLockGammaBeta()) ? chosen : null;
    }

    /**
     * The helper the layer runs on: batchnorm4j's. A subclass that returns null runs DL4J's own
     * code. Called from the constructor, before a subclass's fields are set.
     */
    protected BatchNormalizationHelper newHelper() {
        return new Batchnorm4jHelper(dataType);
    }
}
