package io.github.batchnorm4j.internal.kernel;

/**
 * A variant's kernels for one layout family ({@link Plan.Layout}): each runs the path its plan
 * names, on the plan's view of the tensor.
 */
public interface LayoutKernels {

    void forwardTraining(TrainingCall call, Plan plan);

    void forwardInference(InferenceCall call, Plan plan);

    void backward(BackwardCall call, Plan plan);
}
