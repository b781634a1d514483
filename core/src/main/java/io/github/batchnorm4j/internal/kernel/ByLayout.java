package io.github.batchnorm4j.internal.kernel;

import io.github.batchnorm4j.Variant;
import io.github.batchnorm4j.internal.kernel.planar.PlanarInference;
import io.github.batchnorm4j.internal.kernel.rows.RowInference;
import io.github.batchnorm4j.internal.loops.Loops;
import io.github.batchnorm4j.internal.parallel.Tasks;

/**
 * A fast variant: each call's {@link Plan} picks the layout family, whose kernels run its path.
 * Inference, one multiply-add per element in every fast variant, runs here.
 */
final class ByLayout implements Kernels {
    private final Variant variant;
    private final Tasks tasks;
    private final LayoutKernels planar;
    private final LayoutKernels rows;
    private final PlanarInference planarInference;
    private final RowInference rowInference;

    ByLayout(Variant variant, Loops loops, Tasks tasks, LayoutKernels planar, LayoutKernels rows) {
        this.variant = variant;
        this.tasks = tasks;
        this.planar = planar;
        this.rows = rows;
        this.planarInference = new PlanarInference(loops, tasks);
        this.rowInference = new RowInference(loops, tasks);
    }

    @Override
    public void forwardTraining(TrainingCall call) {
        Plan plan = Plan.training(variant, call.geometry(), tasks);
        family(plan).forwardTraining(call.on(plan.geometry()), plan);
    }

    @Override
    public void forwardInference(InferenceCall call) {
        Plan plan = Plan.inference(call.geometry());
        if (plan.layout() == Plan.Layout.PLANAR) {
            planarInference.run(call.on(plan.geometry()), plan.write());
        } else {
            rowInference.run(call.on(plan.geometry()));
        }
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
