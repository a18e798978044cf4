package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.kernels.KernelSources;
import io.github.jconv.opencl.tune.GemmClass;
import io.github.jconv.opencl.tune.GemmDefaults;
import io.github.jconv.opencl.tune.GemmParams;
import io.github.jconv.opencl.tune.TuningDatabase;
import org.jocl.CLException;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_program;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.jocl.CL.*;

/**
 * A session's built programs, per dtype and kernel family (conv, im2col and deformable once per
 * {@link IndexWidth}, and one gemm build per GEMM parameter set), through the on-disk {@link ProgramCache}
 * (whose key hashes the build options, -DIDX included); and which GEMM parameter set each (dtype, GEMM class)
 * runs with. Used under the session lock.
 */
final class ClPrograms {
    /** Upper bound on a work-group the host picks; a tuning value, lowered by every device and kernel limit. */
    static final long PREFERRED_GROUP = 256;

    private final ClContext cl;
    private final ProgramCache cache;
    private final TuningDatabase tuning;
    /** -Djconv.opencl.gemm (or the older jconv.opencl.gemmTiles), read when the session opens; null: none. */
    private final GemmParams gemmOverride;
    private final Map<DType, Map<String, ClProgram>> built = new EnumMap<>(DType.class);
    /** The GEMM parameter set each (dtype, class) resolved to on this device. */
    private final Map<String, GemmParams> gemmChoice = new HashMap<>();
    /** Tests only: the index width every family program is built with instead of the pass's own choice; null: none. */
    private IndexWidth forcedIndex;

    ClPrograms(ClContext cl, ProgramCache cache, TuningDatabase tuning, GemmParams gemmOverride) {
        this.cl = cl;
        this.cache = cache;
        this.tuning = tuning;
        this.gemmOverride = gemmOverride;
    }

    ProgramCache cache() {
        return cache;
    }

    /**
     * The GEMM program for class {@code c}: {@code forced} when given (the tuner; null when it does not fit),
     * else the first that fits the device and its built kernel of: the override property, this device's
     * tuned winner, the built-in default, the small fallbacks.
     */
    ClProgram gemm(DType dt, GemmClass c, GemmParams forced) {
        String dkey = dt.name().toLowerCase(java.util.Locale.ROOT);
        List<GemmParams> chain;
        if (forced != null) {
            chain = List.of(forced);
        } else {
            GemmParams known = gemmChoice.get(dkey + "." + c.key());
            chain = known != null ? List.of(known) : GemmDefaults.chain(gemmOverride != null ? gemmOverride : tuning.get(dkey, c),
                    String.valueOf(cl.info.properties().get("vendor")), cl.info.type(), c);
        }
        Map<String, ClProgram> byName = built.computeIfAbsent(dt, d -> new HashMap<>());
        String real = realOptions(dt);
        for (GemmParams p : chain) {
            String name = "gemm/" + p;
            ClProgram f = byName.get(name);
            if (f == null) {
                ClDevices.Found dev = cl.dev;
                if (!p.fits(dev.maxWorkGroupSize(), dev.maxItemSize0(), dev.maxWorkGroupSize(), dev.localMemBytes(), arithmeticBytes(dt))) continue;
                f = build("gemm", real + " " + p.defines(), 0, new int[] {p.tsm(), p.tsn(), p.tsk(), p.wptm(), p.wptn(), p.vw(), p.db() ? 1 : 0});
                if (smallestGroup(f) < p.threads()) {
                    release(f);
                    continue;
                }
                byName.put(name, f);
            }
            if (forced == null) gemmChoice.put(dkey + "." + c.key(), p);
            return f;
        }
        if (forced != null) return null;
        throw new UnsupportedOperationException("no GEMM parameter set fits device " + cl.info.name() + "; use -D"
                + Algorithms.MODE_PROPERTY + "=direct");
    }

    /** The parameter set GEMMs of {@code dtype} and class {@code c} run with (resolving it if needed). */
    GemmParams gemmParams(DType dtype, GemmClass c) {
        gemm(dtype, c, null);
        return gemmChoice.get(dtype.name().toLowerCase(java.util.Locale.ROOT) + "." + c.key());
    }

    /**
     * The program of kernel family {@code family} (conv, im2col, deformable) for {@code dt} with index type {@code index}
     * (the pass's {@link IndexWidth}), built on first use; each (dtype, family, index width) is a program of its own.
     */
    ClProgram program(DType dt, String family, IndexWidth index) {
        IndexWidth idx = forcedIndex != null ? forcedIndex : index;
        Map<String, ClProgram> byName = built.computeIfAbsent(dt, d -> new HashMap<>());
        String name = family + "/" + idx.type;
        ClProgram f = byName.get(name);
        if (f != null) return f;
        String real = realOptions(dt) + " " + idx.define();
        if (family.equals("im2col")) {
            f = build(family, real, 0, null);
        } else {
            int redWg = (int) Long.highestOneBit(Math.min(PREFERRED_GROUP, Math.min(cl.dev.maxWorkGroupSize(), cl.dev.maxItemSize0())));
            while (true) {
                f = build(family, real + " -DRED_WG=" + redWg, redWg, null);
                long smallest = smallestGroup(f);
                if (smallest >= redWg || redWg == 1) break;
                // A kernel allows fewer items than RED_WG: rebuild with the largest power of two it allows.
                release(f);
                redWg = (int) Long.highestOneBit(Math.max(1, smallest));
            }
        }
        byName.put(name, f);
        return f;
    }

    /** Tests only: builds every family program with {@code index} (null: each pass's own choice again). */
    void forceIndexWidth(IndexWidth index) {
        forcedIndex = index;
    }

    /** The family programs built so far for {@code dt}, as family/index type (conv/int, deformable/long, ...). */
    java.util.Set<String> familyPrograms(DType dt) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        for (String n : built.getOrDefault(dt, Map.of()).keySet()) if (!n.startsWith("gemm/")) names.add(n);
        return names;
    }

    /**
     * The build options of a dtype: its arithmetic type, and for FP16 half storage (-DSTORE_HALF=1). The options are
     * part of the program cache key, so the half programs are cached apart from the float ones.
     */
    private static String realOptions(DType dt) {
        return switch (dt) {
            case FP64 -> "-DREAL=double -DJCONV_FP64=1";
            case FP16 -> "-DREAL=float -DJCONV_FP64=0 -DSTORE_HALF=1";
            default -> "-DREAL=float -DJCONV_FP64=0";
        };
    }

    /** Bytes of one value of the arithmetic (and local-memory) type of {@code dt}: float for FP16. */
    private static int arithmeticBytes(DType dt) {
        return dt == DType.FP16 ? Sizeof.cl_float : dt.bytes();
    }

    private long smallestGroup(ClProgram f) {
        long smallest = Long.MAX_VALUE;
        for (cl_kernel k : f.kernels().values()) smallest = Math.min(smallest, cl.kernelLong(k, CL_KERNEL_WORK_GROUP_SIZE));
        return smallest;
    }

    private ClProgram build(String name, String options, int redWg, int[] gemmTiles) {
        cl_program p = cache.get(name + ".cl", KernelSources.source(name), options);
        try {
            return kernels(p, name, redWg, gemmTiles);
        } catch (CLException e) {
            // A cached binary of another program that passed every check (CL_INVALID_KERNEL_NAME): build from source, once.
            p = cache.rebuild(name + ".cl", KernelSources.source(name), options);
            return kernels(p, name, redWg, gemmTiles);
        }
    }

    private ClProgram kernels(cl_program p, String name, int redWg, int[] gemmTiles) {
        Map<String, cl_kernel> ks = new HashMap<>();
        Map<String, Long> sizes = new HashMap<>();
        try {
            for (String kn : KernelSources.kernelNames(name)) {
                cl_kernel k = clCreateKernel(p, kn, null);
                ks.put(kn, k);
                sizes.put(kn, localSize(k));
            }
        } catch (RuntimeException e) {
            for (cl_kernel k : ks.values()) clReleaseKernel(k);
            throw e;
        }
        return new ClProgram(name, p, ks, sizes, redWg, gemmTiles);
    }

    private long localSize(cl_kernel k) {
        long max = Math.min(cl.kernelLong(k, CL_KERNEL_WORK_GROUP_SIZE), Math.min(cl.dev.maxItemSize0(), PREFERRED_GROUP));
        long multiple = cl.kernelLong(k, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE);
        long local = multiple > 0 && max >= multiple ? max / multiple * multiple : max;
        return Math.max(1, local);
    }

    private static void release(ClProgram f) {
        for (cl_kernel k : f.kernels().values()) clReleaseKernel(k);
    }

    /** Releases every kernel and the program cache's programs. */
    void close() {
        for (Map<String, ClProgram> m : built.values()) for (ClProgram f : m.values()) release(f);
        built.clear();
        cache.close();
    }
}
