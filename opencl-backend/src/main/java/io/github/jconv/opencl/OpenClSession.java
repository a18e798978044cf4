package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.Shape;
import io.github.jconv.kernels.KernelSources;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.Support;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.jocl.CL.*;

/**
 * One OpenCL device: its own context and in-order queue, buffers, built programs. Thread-safe: the
 * queue, kernel arguments and program builds are used under one lock (OpenCL kernel objects are not
 * safe to set arguments on from several threads).
 */
final class OpenClSession implements ConvBackend {
    /** Upper bound on a work-group the host picks; a tuning value, lowered by every device and kernel limit. */
    private static final long PREFERRED_GROUP = 256;
    /** Byte budget of the deformable column-gradient scratch; the batch is processed in chunks that fit. */
    private static final long COL_BUDGET = 256L << 20;

    private final ClDevices.Found dev;
    private final DeviceInfo info;
    private final BufferTracker tracker = new BufferTracker(OpenClBackendProvider.NAME);
    private final Object lock = new Object();
    private final cl_context context;
    private final cl_command_queue queue;
    private final ProgramCache programs;
    private final Map<DType, Map<String, Family>> families = new EnumMap<>(DType.class);
    private final cl_mem dummy;
    private final ThreadLocal<String> last = ThreadLocal.withInitial(() -> "none");
    private volatile boolean closed;

    /** The kernels of one built program, with the reduction work-group size it was built for. */
    private record Family(cl_program program, Map<String, cl_kernel> kernels, Map<String, Long> groupSizes, int redWg) {
    }

    OpenClSession(ClDevices.Found dev, DeviceInfo info) {
        this.dev = dev;
        this.info = info;
        setExceptionsEnabled(true);
        this.context = clCreateContext(null, 1, new cl_device_id[] {dev.device()}, null, null, null);
        cl_command_queue q;
        try {
            q = clCreateCommandQueue(context, dev.device(), 0, null);
        } catch (RuntimeException | Error e) {
            clReleaseContext(context);
            throw e;
        }
        this.queue = q;
        this.programs = new ProgramCache(context, dev.device(), dev.identity(), ProgramCache.defaultDir());
        // Kernels take a buffer for an absent bias or mask; this one is never read (has_* = 0).
        this.dummy = clCreateBuffer(context, CL_MEM_READ_WRITE, 16, null, null);
    }

    @Override
    public String name() {
        return OpenClBackendProvider.NAME;
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    @Override
    public BufferTracker tracker() {
        return tracker;
    }

    ProgramCache programCache() {
        return programs;
    }

    // ---- buffers ----

    @Override
    public DeviceBuffer allocate(DType dtype, Shape shape) {
        checkOpen();
        if (dtype != DType.FP32 && dtype != DType.FP64) {
            throw new IllegalArgumentException("dtype = " + dtype + ": the OpenCL backend stores FP32 and FP64; e.g. DType.FP32");
        }
        long bytes = shape.elementCount() * dtype.bytes();
        if (bytes > dev.maxAllocBytes()) {
            throw new IllegalArgumentException("shape = " + shape + ": " + bytes + " bytes requested, more than this device's "
                    + "largest allocation CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + dev.maxAllocBytes() + " bytes (global memory "
                    + dev.globalMemBytes() + " bytes); split the batch");
        }
        cl_mem m;
        synchronized (lock) {
            try {
                m = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
            } catch (CLException e) {
                throw new IllegalStateException("OpenCL could not allocate " + bytes + " bytes for " + dtype + shape + " on "
                        + info.name() + " (" + e.getMessage() + "; global memory " + dev.globalMemBytes() + " bytes, live "
                        + tracker.liveBytes() + " bytes in this session)", e);
            }
        }
        return new ClBuffer(this, dtype, shape, m);
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        ClBuffer b = transfer(dst, DType.FP32, dstOffset, src.length, srcOffset, length, "upload");
        if (length == 0) return;
        synchronized (lock) {
            clEnqueueWriteBuffer(queue, b.mem, CL_TRUE, dstOffset * Sizeof.cl_float, (long) length * Sizeof.cl_float,
                    Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_float), 0, null, null);
        }
    }

    @Override
    public void upload(DeviceBuffer dst, long dstOffset, double[] src, int srcOffset, int length) {
        ClBuffer b = transfer(dst, DType.FP64, dstOffset, src.length, srcOffset, length, "upload");
        if (length == 0) return;
        synchronized (lock) {
            clEnqueueWriteBuffer(queue, b.mem, CL_TRUE, dstOffset * Sizeof.cl_double, (long) length * Sizeof.cl_double,
                    Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_double), 0, null, null);
        }
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        ClBuffer b = transfer(src, DType.FP32, srcOffset, dst.length, dstOffset, length, "download");
        if (length == 0) return;
        synchronized (lock) {
            clEnqueueReadBuffer(queue, b.mem, CL_TRUE, srcOffset * Sizeof.cl_float, (long) length * Sizeof.cl_float,
                    Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_float), 0, null, null);
        }
    }

    @Override
    public void download(DeviceBuffer src, long srcOffset, double[] dst, int dstOffset, int length) {
        ClBuffer b = transfer(src, DType.FP64, srcOffset, dst.length, dstOffset, length, "download");
        if (length == 0) return;
        synchronized (lock) {
            clEnqueueReadBuffer(queue, b.mem, CL_TRUE, srcOffset * Sizeof.cl_double, (long) length * Sizeof.cl_double,
                    Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_double), 0, null, null);
        }
    }

    private ClBuffer transfer(DeviceBuffer buf, DType want, long devOffset, int arrayLength, int arrayOffset, int length, String what) {
        checkOpen();
        ClBuffer b = own(buf, "buffer");
        if (b.dtype() != want) {
            throw new IllegalArgumentException("buffer dtype = " + b.dtype() + ": " + what + " of a " + (want == DType.FP32 ? "float[]" : "double[]")
                    + " needs a " + want + " buffer; use the " + (b.dtype() == DType.FP32 ? "float[]" : "double[]") + " overload");
        }
        if (length < 0 || arrayOffset < 0 || (long) arrayOffset + length > arrayLength) {
            throw new IllegalArgumentException("array range [" + arrayOffset + ", " + ((long) arrayOffset + length) + ") of length "
                    + arrayLength + ": must lie inside the array; e.g. offset 0, length " + arrayLength);
        }
        if (devOffset < 0 || devOffset + length > b.elementCount()) {
            throw new IllegalArgumentException("buffer range [" + devOffset + ", " + (devOffset + length) + ") of " + b.elementCount()
                    + " elements: must lie inside the buffer; e.g. offset 0, length " + Math.min(arrayLength, b.elementCount()));
        }
        return b;
    }

    private ClBuffer own(DeviceBuffer buf, String role) {
        if (!(buf instanceof ClBuffer b) || b.owner() != this) {
            throw new IllegalArgumentException(role + " = " + buf + ": belongs to another session; allocate it with this one");
        }
        b.checkOpen();
        return b;
    }

    // ---- support, stated beside the implementation ----

    @Override
    public Support supports(ConvSpec spec, Pass pass, DType dtype) {
        if (dtype == DType.FP16 || dtype == DType.BF16) {
            return Support.no("the OpenCL backend computes in FP32 and FP64; " + dtype + " runs on the cuda backend");
        }
        if (dtype == DType.FP64 && !dev.fp64()) {
            return Support.no("device " + info.name() + " lacks cl_khr_fp64; use FP32 or a device with FP64");
        }
        if (pass == Pass.BACKWARD_OFFSET_MASK && spec.type() != ConvType.DEFORMABLE) {
            return Support.no("BACKWARD_OFFSET_MASK belongs to deformable convolution; this spec is " + spec.type());
        }
        List<Shape> shapes = new ArrayList<>(List.of(spec.inputShape(), spec.weightShape(), spec.outputShape()));
        if (spec.type() == ConvType.DEFORMABLE) {
            shapes.add(spec.offsetShape());
            long colPerBatch = (long) spec.inChannels() * spec.kernelVolume() * spec.outputSpatial() * dtype.bytes();
            if ((pass == Pass.BACKWARD_DATA || pass == Pass.BACKWARD_OFFSET_MASK) && colPerBatch > dev.maxAllocBytes()) {
                return Support.no("the column gradient of one batch item needs " + colPerBatch
                        + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = " + dev.maxAllocBytes() + "; use fewer channels or a smaller output");
            }
        }
        for (Shape s : shapes) {
            long bytes = s.elementCount() * dtype.bytes();
            if (bytes > dev.maxAllocBytes()) {
                return Support.no("a tensor of shape " + s + " needs " + bytes + " bytes, more than CL_DEVICE_MAX_MEM_ALLOC_SIZE = "
                        + dev.maxAllocBytes() + " on " + info.name() + "; split the batch");
            }
        }
        return Support.yes();
    }

    // ---- execution ----

    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        checkOpen();
        Algorithms.Choice choice = Algorithms.choose(spec, pass);
        DType dt = null;
        for (Role r : pass.outputs(spec)) dt = own(args.get(r), r.label()).dtype();
        synchronized (lock) {
            checkOpen();
            Family f = family(dt, choice.family());
            if (spec.type() == ConvType.DEFORMABLE) {
                runDeformable(f, pass, spec, args, dt);
            } else {
                runConv(f, choice, pass, spec, args);
            }
        }
        last.set(choice.label());
    }

    private void runConv(Family f, Algorithms.Choice choice, Pass pass, ConvSpec spec, ConvArgs a) {
        int[] g = Algorithms.convGeometry(spec);
        boolean tr = spec.type() == ConvType.TRANSPOSED;
        switch (pass) {
            case FORWARD -> {
                Object bias = spec.bias() ? mem(a, Role.B) : dummy;
                int hasBias = spec.bias() ? 1 : 0;
                long total = spec.outputShape().elementCount();
                // For a transposed spec this kernel is the convolution's data gradient: y plays that convolution's dx.
                grid(f, choice.kernel(), total, join(mem(a, Role.X), mem(a, Role.W), bias, hasBias, mem(a, Role.Y), g));
            }
            case BACKWARD_DATA -> grid(f, choice.kernel(), spec.inputShape().elementCount(),
                    join(mem(a, Role.DY), mem(a, Role.W), dummy, 0, mem(a, Role.DX), g));
            case BACKWARD_WEIGHT -> {
                // The convolution's input is the transposed op's output, so x and dy trade places.
                cl_mem convX = tr ? mem(a, Role.DY) : mem(a, Role.X);
                cl_mem convDy = tr ? mem(a, Role.X) : mem(a, Role.DY);
                groups(f, choice.kernel(), spec.weightShape().elementCount(), join(convX, convDy, mem(a, Role.DW), g));
            }
            case BACKWARD_BIAS -> groups(f, choice.kernel(), spec.outChannels(),
                    join(mem(a, Role.DY), mem(a, Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial()));
            case BACKWARD_OFFSET_MASK -> throw new IllegalArgumentException("pass = " + pass + ": deformable only");
        }
    }

    private void runDeformable(Family f, Pass pass, ConvSpec spec, ConvArgs a, DType dt) {
        int[] g = Algorithms.deformGeometry(spec);
        boolean m = spec.modulated() && pass != Pass.BACKWARD_BIAS;
        Object mask = m ? mem(a, Role.MASK) : dummy;
        int hasMask = m ? 1 : 0;
        switch (pass) {
            case FORWARD -> grid(f, "deform_forward", spec.outputShape().elementCount(),
                    join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask, mem(a, Role.W),
                            spec.bias() ? mem(a, Role.B) : dummy, spec.bias() ? 1 : 0, mem(a, Role.Y), g));
            case BACKWARD_WEIGHT -> groups(f, "deform_weight_grad", spec.weightShape().elementCount(),
                    join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask, mem(a, Role.DY), mem(a, Role.DW), g));
            case BACKWARD_BIAS -> groups(f, "deform_bias_grad", spec.outChannels(),
                    join(mem(a, Role.DY), mem(a, Role.DB), spec.batch(), spec.outChannels(), spec.outputSpatial()));
            case BACKWARD_DATA, BACKWARD_OFFSET_MASK -> {
                long perBatch = (long) spec.inChannels() * spec.kernelVolume() * spec.outputSpatial();
                long budget = Math.min(dev.maxAllocBytes(), COL_BUDGET) / dt.bytes();
                int chunk = (int) Math.max(1, Math.min(spec.batch(), budget / perBatch));
                cl_mem col = clCreateBuffer(context, CL_MEM_READ_WRITE, perBatch * chunk * dt.bytes(), null, null);
                try {
                    for (int n0 = 0; n0 < spec.batch(); n0 += chunk) {
                        int nb = Math.min(chunk, spec.batch() - n0);
                        grid(f, "deform_col_grad", perBatch * nb, join(mem(a, Role.DY), mem(a, Role.W), col, g, n0));
                        if (pass == Pass.BACKWARD_DATA) {
                            grid(f, "deform_input_grad", (long) nb * spec.inChannels(),
                                    join(col, mem(a, Role.OFFSET), mask, hasMask, mem(a, Role.DX), g, n0));
                        } else {
                            long total = (long) nb * spec.offsetGroups() * spec.kernelVolume() * spec.outputSpatial();
                            grid(f, "deform_offset_mask_grad", total, join(mem(a, Role.X), mem(a, Role.OFFSET), mask, hasMask,
                                    col, mem(a, Role.DOFFSET), m ? mem(a, Role.DMASK) : dummy, g, n0));
                        }
                    }
                } finally {
                    // Released after the queued kernels that use it finish (OpenCL defers the free).
                    clReleaseMemObject(col);
                }
            }
        }
    }

    private static cl_mem mem(ConvArgs a, Role r) {
        return ((ClBuffer) a.get(r)).mem;
    }

    private static List<Object> join(Object... parts) {
        List<Object> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof int[] ints) {
                for (int v : ints) out.add(v);
            } else {
                out.add(p);
            }
        }
        return out;
    }

    /** A grid-stride launch: the kernel's last two arguments are total and step (the global size). */
    private void grid(Family f, String name, long total, List<Object> args) {
        cl_kernel k = f.kernels().get(name);
        long local = f.groupSizes().get(name);
        long groupsWanted = (total + local - 1) / local;
        long groupCap = Math.max(1L, (long) info.computeUnits() * 64);
        long global = Math.max(1, Math.min(groupsWanted, groupCap)) * local;
        int i = setArgs(k, args);
        clSetKernelArg(k, i++, Sizeof.cl_long, Pointer.to(new long[] {total}));
        clSetKernelArg(k, i, Sizeof.cl_long, Pointer.to(new long[] {global}));
        clEnqueueNDRangeKernel(queue, k, 1, null, new long[] {global}, new long[] {local}, 0, null, null);
    }

    /** One work-group of exactly RED_WG items per output value. */
    private void groups(Family f, String name, long count, List<Object> args) {
        cl_kernel k = f.kernels().get(name);
        setArgs(k, args);
        clEnqueueNDRangeKernel(queue, k, 1, null, new long[] {count * f.redWg()}, new long[] {f.redWg()}, 0, null, null);
    }

    private static int setArgs(cl_kernel k, List<Object> args) {
        int i = 0;
        for (Object o : args) {
            if (o instanceof cl_mem m) {
                clSetKernelArg(k, i++, Sizeof.cl_mem, Pointer.to(m));
            } else if (o instanceof Integer v) {
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[] {v}));
            } else if (o instanceof Long v) {
                clSetKernelArg(k, i++, Sizeof.cl_long, Pointer.to(new long[] {v}));
            } else {
                throw new IllegalStateException("kernel argument " + i + " has unexpected type " + o.getClass());
            }
        }
        return i;
    }

    // ---- programs ----

    private Family family(DType dt, String name) {
        Map<String, Family> byName = families.computeIfAbsent(dt, d -> new HashMap<>());
        Family f = byName.get(name);
        if (f == null) {
            int redWg = (int) Long.highestOneBit(Math.min(PREFERRED_GROUP, Math.min(dev.maxWorkGroupSize(), dev.maxItemSize0())));
            while (true) {
                f = build(dt, name, redWg);
                long smallest = Long.MAX_VALUE;
                for (Map.Entry<String, cl_kernel> e : f.kernels().entrySet()) {
                    smallest = Math.min(smallest, kernelLong(e.getValue(), CL_KERNEL_WORK_GROUP_SIZE));
                }
                if (smallest >= redWg || redWg == 1) break;
                // A kernel allows fewer items than RED_WG: rebuild with the largest power of two it allows.
                release(f);
                redWg = (int) Long.highestOneBit(Math.max(1, smallest));
            }
            byName.put(name, f);
        }
        return f;
    }

    private Family build(DType dt, String name, int redWg) {
        String options = (dt == DType.FP64 ? "-DREAL=double -DJCONV_FP64=1" : "-DREAL=float -DJCONV_FP64=0") + " -DRED_WG=" + redWg;
        cl_program p = programs.get(name + ".cl", KernelSources.source(name), options);
        Map<String, cl_kernel> ks = new HashMap<>();
        Map<String, Long> sizes = new HashMap<>();
        for (String kn : KernelSources.kernelNames(name)) {
            cl_kernel k = clCreateKernel(p, kn, null);
            ks.put(kn, k);
            long max = Math.min(kernelLong(k, CL_KERNEL_WORK_GROUP_SIZE), Math.min(dev.maxItemSize0(), PREFERRED_GROUP));
            long multiple = kernelLong(k, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE);
            long local = multiple > 0 && max >= multiple ? max / multiple * multiple : max;
            sizes.put(kn, Math.max(1, local));
        }
        return new Family(p, ks, sizes, redWg);
    }

    private long kernelLong(cl_kernel k, int param) {
        long[] v = new long[1];
        clGetKernelWorkGroupInfo(k, dev.device(), param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static void release(Family f) {
        for (cl_kernel k : f.kernels().values()) clReleaseKernel(k);
    }

    // ---- lifecycle ----

    @Override
    public String lastAlgorithm() {
        return last.get();
    }

    @Override
    public void synchronize() {
        synchronized (lock) {
            checkOpen();
            clFinish(queue);
        }
    }

    @Override
    public boolean threadSafe() {
        return true;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("OpenCL session on " + info.name() + " is closed: open a new one");
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            clFinish(queue);
            for (Map<String, Family> m : families.values()) for (Family f : m.values()) release(f);
            families.clear();
            programs.close();
            clReleaseMemObject(dummy);
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
        }
    }
}
