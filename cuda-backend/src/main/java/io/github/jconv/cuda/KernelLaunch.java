package io.github.jconv.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

import java.util.ArrayList;
import java.util.List;

/**
 * jconv's own kernel launches (deformable, window, bias gradient, conversions): a one-dimensional grid-stride
 * grid, and the argument list in the kernel's declaration order, checked against the PTX signatures by
 * {@code PtxBuildTest} without a GPU.
 */
final class KernelLaunch {
    static final int THREADS = 256;

    private KernelLaunch() {
    }

    /** One kernel launch: the kernel, its 1D grid and its arguments in declaration order. */
    record Launch(String kernel, long blocks, int threads, Object[] args) implements DeformableSteps.Step {
    }

    /** Grid-stride launch shape: blocks and the stride in items. */
    static long[] gridFor(long total, int sms) {
        long blocks = Math.max(1, Math.min((total + THREADS - 1) / THREADS, (long) Math.max(sms, 1) * 32));
        return new long[]{blocks, blocks * THREADS};
    }

    /** Arguments with int[] spread into Integers (the geometry). */
    static Object[] flat(Object... values) {
        List<Object> out = new ArrayList<>();
        for (Object v : values) {
            if (v instanceof int[] a) {
                for (int i : a) out.add(i);
            } else {
                out.add(v);
            }
        }
        return out.toArray();
    }

    /**
     * Kernel parameters in declaration order: device pointers, ints, longs, and int[] spread as
     * ints (the geometry). Integer and Long boxes keep C int and long apart.
     */
    static Pointer args(Object... values) {
        List<Pointer> ps = new ArrayList<>();
        for (Object v : values) {
            if (v instanceof CUdeviceptr p) ps.add(Pointer.to(p));
            else if (v instanceof Integer i) ps.add(Pointer.to(new int[]{i}));
            else if (v instanceof Long l) ps.add(Pointer.to(new long[]{l}));
            else if (v instanceof int[] a) for (int i : a) ps.add(Pointer.to(new int[]{i}));
            else throw new IllegalArgumentException("kernel argument " + v + ": expected CUdeviceptr, Integer, Long or int[]");
        }
        return Pointer.to(ps.toArray(new Pointer[0]));
    }

    /** Launches {@code l} from {@code module}'s PTX on the session's stream. */
    static void launch(DeviceContext ctx, String module, Launch l, String problem) {
        CUfunction f = ctx.function(module, l.kernel());
        ctx.launch(f, l.kernel(), l.blocks(), l.threads(), args(l.args()), problem);
    }
}
