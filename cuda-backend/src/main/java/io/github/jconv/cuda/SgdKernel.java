package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;

/** sgd.cu's kernel: {@code param -= learningRate * grad} on the device, for FP32 and FP64 buffers of one session. */
final class SgdKernel {
    static final int THREADS = 256;

    private SgdKernel() {
    }

    /** One step on the device, or false (nothing done) where the host must step: not both this session's, mixed, 2-byte. */
    static boolean step(CudaBackend session, DeviceContext ctx, DeviceBuffer param, DeviceBuffer grad, double learningRate) {
        if (param == null || grad == null || !session.owns(param) || !session.owns(grad) || param.dtype() != grad.dtype()
                || param.elementCount() != grad.elementCount() || (param.dtype() != DType.FP32 && param.dtype() != DType.FP64)) {
            return false;
        }
        CudaBuffer p = (CudaBuffer) param;
        CudaBuffer g = (CudaBuffer) grad;
        long n = p.elementCount();
        if (n == 0) return true;
        p.pin(); // a close() from another thread frees the memory only after this launch is queued
        try {
            g.pin();
            try {
                session.guardedRun(() -> {
                    boolean f64 = p.dtype() == DType.FP64;
                    String kernel = f64 ? "sgd_f64" : "sgd_f32";
                    jcuda.Pointer lr = f64 ? jcuda.Pointer.to(new double[]{learningRate}) : jcuda.Pointer.to(new float[]{(float) learningRate});
                    jcuda.Pointer args = jcuda.Pointer.to(jcuda.Pointer.to(p.ptr), jcuda.Pointer.to(g.ptr), lr, jcuda.Pointer.to(new long[]{n}));
                    ctx.launch(ctx.function("sgd.ptx", kernel), kernel, (n + THREADS - 1) / THREADS, THREADS, args, "sgdStep " + p.dtype() + " x " + n);
                });
            } finally {
                g.unpin();
            }
        } finally {
            p.unpin();
        }
        return true;
    }
}
