package io.github.batchnorm4j.internal.kernel;

/**
 * A variant's kernels for one layout family ({@link Plan.Layout}): each runs the path its plan
 * names, on the plan's view of the tensor. Inference is the same in every fast variant and
 * stays out of them (see {@code ByLayout}).
 */
public interface LayoutKernels {

    void forwardTraining(TrainingCall call, Plan plan);

    void backward(BackwardCall call, Plan plan);
}
