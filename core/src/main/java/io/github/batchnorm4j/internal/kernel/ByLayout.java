package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.internal.parallel.Tasks;

/** A fast variant: each call's {@link Plan} picks the layout family, whose kernels run its path. */
final class ByLayout implements Kernels {
    private final Variant variant;
    private final Tasks tasks;
    private final LayoutKernels planar;
    private final LayoutKernels rows;

    ByLayout(Variant variant, Tasks tasks, LayoutKernels planar, LayoutKernels rows) {
        this.variant = variant;
        this.tasks = tasks;
        this.planar = planar;
        this.rows = rows;
    }

    @Override
    public void forwardTraining(TrainingCall call) {
        Plan plan = Plan.training(variant, call.geometry(), tasks);
        family(plan).forwardTraining(call.on(plan.geometry()), plan);
    }

    @Override
    public void forwardInference(InferenceCall call) {
        Plan plan = Plan.inference(call.geometry());
        family(plan).forwardInference(call.on(plan.geometry()), plan);
    }

    @Override
    public void backward(BackwardCall call) {
        Plan plan = Plan.backward(variant, call.geometry(), tasks);
        family(plan).backward(call.on(plan.geometry()), plan);
    }

    private LayoutKernels family(Plan plan) {
        return plan.layout() == Plan.Layout.PLANAR ? planar : rows;
    }

    @Override
    public String toString() {
        return variant + "[" + planar + ", " + rows + "]";
    }
}
