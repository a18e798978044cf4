package io.github.jconv.opencl;

import io.github.jconv.EngineOptions;
import io.github.jconv.opencl.tune.GemmParams;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The OpenCL session's settings, read once when a session opens (docs/options.md lists each option):
 * <ul>
 * <li>{@code algorithm}: {@code jconv.opencl.algorithm}, auto (by size, default), direct or gemm</li>
 * <li>{@code columnBudgetBytes}: {@code jconv.opencl.columnBudgetBytes}, most bytes of im2col columns per step
 *     (default 256 MiB; tests set it tiny to run one item per step)</li>
 * <li>{@code deformScatter}: {@code jconv.opencl.deformScatter}, auto (default), plane or rows</li>
 * <li>{@code implicitGemm}: {@code jconv.opencl.implicitGemm}; null: the tuner's choice, else false</li>
 * <li>{@code gemm}: {@code jconv.opencl.gemm} (or the older {@code jconv.opencl.gemmTiles}); null: the tuner's
 *     choice, else the built-in parameters</li>
 * <li>{@code splitK}: {@code jconv.opencl.splitK}, most slices of a split weight-gradient GEMM; 0: by occupancy
 *     only; {@code splitKForce}: {@code jconv.opencl.splitK.force}, always split that many</li>
 * <li>{@code cacheDir}: {@code jconv.cache.dir} / {@code JCONV_CACHE_DIR} + {@code /opencl}, where built
 *     programs and tuning results are kept (default {@code ~/.cache/jconv/opencl})</li>
 * </ul>
 * The device choice ({@code jconv.opencl.device}, {@code jconv.opencl.type}) and the library path
 * ({@code jconv.opencl.library}) act at probe, before any session, and are read from the system then.
 */
public record OpenClOptions(String algorithm, long columnBudgetBytes, String deformScatter, Boolean implicitGemm,
                            GemmParams gemm, int splitK, boolean splitKForce, Path cacheDir) {
    /** Default byte budget of the column scratch; the batch is processed in chunks of items that fit. */
    public static final long DEFAULT_COLUMN_BUDGET = 256L << 20;

    public OpenClOptions {
        Algorithms.Mode.parse(algorithm); // names the option and the values that work
        if (columnBudgetBytes < 1) {
            throw new IllegalArgumentException("columnBudgetBytes = " + columnBudgetBytes + ": must be at least 1 byte; e.g. "
                    + DEFAULT_COLUMN_BUDGET);
        }
        Algorithms.scatterOverride(deformScatter);
        if (splitK < 0) throw new IllegalArgumentException("splitK = " + splitK + ": the most slices, 0 (by occupancy) or positive; e.g. 8");
        if (cacheDir == null) throw new IllegalArgumentException("cacheDir = null: give a directory, e.g. Path.of(\"/tmp/jconv/opencl\")");
    }

    /** Every default: no system property or variable is read. */
    public static OpenClOptions defaults() {
        return from(EngineOptions.builder().build());
    }

    /** The typed options given in {@code options}, else those its settings describe. */
    public static OpenClOptions of(EngineOptions options) {
        if (options == null) throw new IllegalArgumentException("options = null: pass EngineOptions.fromSystem() or a built one");
        return options.backendOptions(OpenClOptions.class).orElseGet(() -> from(options));
    }

    static OpenClOptions from(EngineOptions o) {
        String algorithm = o.get(Algorithms.MODE_PROPERTY, "auto");
        // the older Long.getLong reading: a value that is not a number counts as absent; at least 1
        long budget = Math.max(1, o.number(ClSettings.COL_BUDGET_PROPERTY, DEFAULT_COLUMN_BUDGET));
        String scatter = o.get(Algorithms.SCATTER_PROPERTY);
        String implicit = o.get(ClSettings.IMPLICIT_GEMM_PROPERTY);
        Boolean imp = implicit == null ? null : Boolean.parseBoolean(implicit.trim());
        GemmParams gemm = null;
        String g = o.get(ClSettings.GEMM_PROPERTY);
        if (g != null) {
            gemm = GemmParams.parse(g, ClSettings.GEMM_PROPERTY);
        } else if ((g = o.get(ClSettings.GEMM_TILES_PROPERTY)) != null) {
            gemm = GemmParams.parse(g, ClSettings.GEMM_TILES_PROPERTY);
        }
        int splitK = 0;
        boolean force = false;
        String cap = o.get(ClSettings.SPLIT_K_PROPERTY);
        if (cap != null) {
            try {
                splitK = Math.max(1, Integer.parseInt(cap.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(ClSettings.SPLIT_K_PROPERTY + " = " + cap + ": the most slices, a positive integer; e.g. 8");
            }
            force = o.flag(ClSettings.SPLIT_K_PROPERTY + ".force", false);
        }
        return new OpenClOptions(algorithm.trim().toLowerCase(Locale.ROOT), budget, scatter, imp, gemm, splitK, force,
                ProgramCache.cacheDir(o));
    }
}
