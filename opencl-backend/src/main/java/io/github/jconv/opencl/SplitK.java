package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.spi.ConvGeometry;
import org.jocl.cl_mem;

/** Split-K weight gradients: partial products of runs of whole items in slots of a temporary, summed in order. */
final class SplitK {
    private SplitK() {
    }

    /**
     * dW (+)= dy * columns^T with the chunk's {@code nb} items split into {@code slices} runs of whole items: each
     * run's partial product goes to its own M x N slot of a temporary buffer (the full runs as one batched GEMM,
     * a shorter last run as another), then gemm_sum adds the slots in order into dW. {@code bItemStride}: the
     * distance between items in the B operand.
     */
    static void weightGradient(ClLauncher launch, ClPrograms programs, ClMemory memory, DType dt, ConvGeometry g, Mat a, Mat b,
                               long bItemStride, int nb, int slices, cl_mem dw, boolean accumulate) {
        long m = g.outChannelsPerGroup(), n = g.columnRows(), o = g.outSpatial(), k = g.outChannels();
        int per = (nb + slices - 1) / slices;
        int full = nb / per;
        int rest = nb - full * per;
        int used = full + (rest > 0 ? 1 : 0);
        long mn = m * n;
        cl_mem part = memory.temporary(used * mn * dt.bytes());
        try {
            launch.gemm(dt, full, m, n, (long) per * o, a.at(a.off(), (long) per * k * o), b.at(b.off(), per * bItemStride),
                    Mat.of(part, 0, mn, n, 1), null, false);
            if (rest > 0) {
                launch.gemm(dt, 1, m, n, (long) rest * o, a.at(a.off() + (long) full * per * k * o, 0),
                        b.at(b.off() + (long) full * per * bItemStride, 0), Mat.of(part, (long) full * mn, 0, n, 1), null, false);
            }
            ClProgram f = programs.gemm(dt, GemmClass.of(m, n, (long) per * o), null);
            launch.grid(f, "gemm_sum", mn, new KernelArgs().i32(used).buf(part).buf(dw).flag(accumulate));
        } finally {
            // freed once the queued kernels that use it finish
            memory.release(part);
        }
    }
}
