package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.opencl.tune.GemmClass;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

import static org.jocl.CL.clEnqueueNDRangeKernel;

/**
 * Enqueues kernels on the session's queue in the three launch shapes jconv's kernels use: a
 * grid-stride 1D range, one work-group per reduced value, and gemm.cl's 3D tile grid. Every launch
 * checks its {@link KernelArgs} against the kernel's signature. Used under the session lock.
 */
final class ClLauncher {
    private final ClContext cl;
    private final ClPrograms programs;
    private final ClMemory memory;

    ClLauncher(ClContext cl, ClPrograms programs, ClMemory memory) {
        this.cl = cl;
        this.programs = programs;
        this.memory = memory;
    }

    /** A grid-stride launch: the kernel's last two arguments are total and step (the global size), appended here. */
    void grid(ClProgram f, String name, long total, KernelArgs args) {
        cl_kernel k = f.kernel(name);
        long local = f.groupSizes().get(name);
        long groupsWanted = (total + local - 1) / local;
        long groupCap = Math.max(1L, (long) cl.info.computeUnits() * 64);
        long global = Math.max(1, Math.min(groupsWanted, groupCap)) * local;
        args.i64(total).i64(global).apply(k, name, f.signature(name));
        clEnqueueNDRangeKernel(cl.queue, k, 1, null, new long[] {global}, new long[] {local}, 0, null, null);
    }

    /** One work-group of exactly RED_WG items per output value. */
    void groups(ClProgram f, String name, long count, KernelArgs args) {
        cl_kernel k = f.kernel(name);
        args.apply(k, name, f.signature(name));
        clEnqueueNDRangeKernel(cl.queue, k, 1, null, new long[] {count * f.redWg()}, new long[] {f.redWg()}, 0, null, null);
    }

    /** C (+)= A B per batch (A m x kDepth, B kDepth x nCols), with bias per row when given, on the GEMM program of its class. */
    void gemm(DType dt, long batches, long m, long nCols, long kDepth, Mat a, Mat b, Mat c, cl_mem bias, boolean accumulate) {
        gemm(programs.gemm(dt, GemmClass.of(m, nCols, kDepth), null), batches, m, nCols, kDepth, a, b, c, bias, accumulate);
    }

    void gemm(ClProgram f, long batches, long m, long nCols, long kDepth, Mat a, Mat b, Mat c, cl_mem bias, boolean accumulate) {
        KernelArgs args = new KernelArgs().i32(m).i32(nCols).i32(kDepth).operand(a).operand(b).operand(c);
        args.buf(bias == null ? dummy() : bias).flag(bias != null).flag(accumulate);
        tiles(f, "gemm", args, batches, m, nCols);
    }

    /**
     * A gemm.cl kernel ({@code gemm}, {@code gemm_conv}) over an m x nCols result per batch, with the work-group
     * shape of the program's parameter set.
     */
    void tiles(ClProgram f, String name, KernelArgs args, long batches, long m, long nCols) {
        cl_kernel k = f.kernel(name);
        args.apply(k, name, f.signature(name));
        int[] cfg = f.gemmTiles();
        long lm = cfg[0] / cfg[3];
        long ln = cfg[1] / cfg[4];
        long gm = (m + cfg[0] - 1) / cfg[0];
        long gn = (nCols + cfg[1] - 1) / cfg[1];
        clEnqueueNDRangeKernel(cl.queue, k, 3, null, new long[] {gm * lm, gn * ln, batches}, new long[] {lm, ln, 1}, 0, null, null);
    }

    /** The never-read buffer kernels take for an absent bias or mask. */
    cl_mem dummy() {
        return memory.dummy;
    }

    /** {@code m}, or the never-read buffer when null. */
    cl_mem orDummy(cl_mem m) {
        return m == null ? memory.dummy : m;
    }
}
