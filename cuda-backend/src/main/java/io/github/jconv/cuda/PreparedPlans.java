package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;

/**
 * The prepared-plan cache: per (problem, pass, dtype) ({@link PreparedKey}) the {@link CudnnPlan}, its descriptors
 * (from {@link CudnnDescriptors}) and its algorithm key, made on the first call and kept for the session.
 */
final class PreparedPlans {
    private final CudaBackend session;
    private final CudnnDescriptors descriptors;

    PreparedPlans(CudaBackend session, CudnnDescriptors descriptors) {
        this.session = session;
        this.descriptors = descriptors;
    }

    /** What a cuDNN call derives from (spec, pass, dtype) alone: made on the first call, kept for the session. */
    record Prepared(CudnnPlan plan, String problem, int dt, cudnnTensorStruct xD, cudnnTensorStruct yD, cudnnFilterStruct wD,
          cudnnConvolutionStruct cD, cudnnTensorStruct bD, cudnnTensorStruct outD, AlgoSelection.Key key) {
    }

    private final java.util.Map<PreparedKey, Prepared> prepared = new java.util.HashMap<>(); // calls are serialized by the session

    Prepared prepare(Pass pass, ConvSpec spec, DType dtype) {
        PreparedKey k = new PreparedKey(spec, pass, dtype);
        Prepared known = prepared.get(k);
        if (known != null) return known;
        CudnnPlan plan = CudnnPlan.of(spec, pass);
        String problem = spec.toString();
        int dt = CudnnTypes.dataType(dtype);
        Prepared p;
        if (plan.op() == CudnnPlan.Op.BACKWARD_BIAS) {
            p = new Prepared(plan, problem, dt, null, descriptors.tensor(plan.ycDims(), dt, problem), null, null,
                    descriptors.tensor(CudnnPlan.biasDims(spec.outChannels(), plan.ycDims()), dt, problem), null, null);
        } else {
            CudaOptions o = session.options();
            cudnnTensorStruct bD = null, outD = null;
            if (plan.addBias()) {
                int[] yDims = CudnnPlan.outputDims(spec);
                bD = descriptors.tensor(CudnnPlan.biasDims(spec.outChannels(), yDims), dt, problem);
                outD = descriptors.tensor(yDims, dt, problem);
            }
            p = new Prepared(plan, problem, dt, descriptors.tensor(plan.xcDims(), dt, problem), descriptors.tensor(plan.ycDims(), dt, problem),
                    descriptors.filter(plan.wDims(), dt, problem), descriptors.conv(plan, dtype, o, problem), bD, outD,
                    AlgoSelection.Key.of(spec, pass, dtype, o, session.deviceKey()));
        }
        prepared.put(k, p);
        return p;
    }

    void clear() {
        prepared.clear();
    }
}
