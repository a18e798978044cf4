package io.github.jconv.cuda;

import io.github.jconv.DType;
import io.github.jconv.Role;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * What one convolution pass is to cuDNN's graph (backend) API, apart from any native call: the attribute
 * values of its three tensors, its convolution descriptor and its operation, derived from the same
 * {@link CudnnPlan} the legacy calls run (so transposed convolution is the adjoint, grouped convolution has
 * the filter's [K, C/g, k…] dims, 1D is lifted to 2D, asymmetric padding runs on the staged xc). Also the
 * pure parts of choosing an engine: which engine configurations a session may run (by their numerical
 * notes), the text form of a chosen configuration, its cache key and the label that names it.
 *
 * <p>The constants used here are cuDNN 9's enum values (cudnn_graph.h), compile-time constants of the
 * bindings: no native library is loaded by this class.
 */
record GraphConv(CudnnPlan.Op op, int operationType, int dataType, int computeType, Tensor x, Tensor w, Tensor y,
                 long[] prePadding, long[] postPadding, long[] stride, long[] dilation,
                 int convDescAttribute, int alphaAttribute, int betaAttribute, boolean doubleScalars, double alpha, double beta) {

    /** The unique ids of the graph's tensors: cuDNN's xc, its filter and its yc. */
    static final long UID_XC = 1, UID_W = 2, UID_YC = 3;

    /**
     * One tensor of the operation: the operation's attribute it is bound to (X, W, Y of forward; DX, W, DY of
     * backward data; X, DW, DY of backward filter), jconv's role whose buffer it is, and its descriptor values.
     */
    record Tensor(String port, int attribute, Role role, long uid, long[] dims, long[] strides, long alignment) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Tensor t && port.equals(t.port) && attribute == t.attribute && role == t.role && uid == t.uid
                    && Arrays.equals(dims, t.dims) && Arrays.equals(strides, t.strides) && alignment == t.alignment;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(port, attribute, role, uid, Arrays.hashCode(dims), alignment);
        }

        @Override
        public String toString() {
            return port + "(" + role + ", uid " + uid + ") dims " + Arrays.toString(dims) + " strides " + Arrays.toString(strides)
                    + " aligned " + alignment;
        }
    }

    /**
     * The graph of {@code plan} (any op but BACKWARD_BIAS) in {@code dtype}; {@code xcAlign}, {@code wAlign},
     * {@code ycAlign} are the byte alignments of the buffers it will run on ({@link #alignment}); beta is 1
     * when the pass adds into its output (weight gradients of later batch slices), else 0.
     */
    static GraphConv of(CudnnPlan plan, DType dtype, long xcAlign, long wAlign, long ycAlign, boolean accumulate) {
        if (plan.op() == CudnnPlan.Op.BACKWARD_BIAS) {
            throw new IllegalArgumentException("plan = " + plan + ": the bias gradient is no convolution; graphs cover FORWARD, "
                    + "BACKWARD_DATA and BACKWARD_FILTER plans");
        }
        String[] ports;
        int[] attrs;
        int opType, convAttr, alphaAttr, betaAttr;
        switch (plan.op()) {
            case FORWARD -> {
                ports = new String[]{"X", "W", "Y"};
                attrs = new int[]{CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                        CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y};
                opType = CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR;
                convAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC;
                alphaAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA;
                betaAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA;
            }
            case BACKWARD_DATA -> {
                ports = new String[]{"DX", "W", "DY"};
                attrs = new int[]{CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
                        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY};
                opType = CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR;
                convAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC;
                alphaAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA;
                betaAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA;
            }
            case BACKWARD_FILTER -> {
                ports = new String[]{"X", "DW", "DY"};
                attrs = new int[]{CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
                        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY};
                opType = CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR;
                convAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC;
                alphaAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA;
                betaAttr = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA;
            }
            default -> throw new AssertionError(plan.op());
        }
        Tensor xc = tensor(ports[0], attrs[0], plan.xc(), UID_XC, plan.xcDims(), xcAlign);
        Tensor w = tensor(ports[1], attrs[1], plan.w(), UID_W, plan.wDims(), wAlign);
        Tensor yc = tensor(ports[2], attrs[2], plan.yc(), UID_YC, plan.ycDims(), ycAlign);
        long[] pad = longs(plan.pad()); // cuDNN pads symmetrically in the legacy plan; the graph takes both sides
        return new GraphConv(plan.op(), opType, CudnnTypes.dataType(dtype), CudnnTypes.computeType(dtype), xc, w, yc,
                pad, pad.clone(), longs(plan.stride()), longs(plan.dilation()), convAttr, alphaAttr, betaAttr,
                dtype == DType.FP64, 1.0, accumulate ? 1.0 : 0.0);
    }

    private static Tensor tensor(String port, int attr, Role role, long uid, int[] dims, long align) {
        if (align < 1 || align > 16 || Long.bitCount(align) != 1) {
            throw new IllegalArgumentException("alignment of " + port + " = " + align + ": must be a power of two from 1 to 16 bytes; e.g. 16");
        }
        return new Tensor(port, attr, role, uid, longs(dims), longs(CudnnPlan.packedStrides(dims)), align);
    }

    private static long[] longs(int[] v) {
        long[] r = new long[v.length];
        for (int i = 0; i < v.length; i++) r[i] = v[i];
        return r;
    }

    /** The tensors in the order of their unique ids (xc, w, yc). */
    List<Tensor> tensors() {
        return List.of(x, w, y);
    }

    /** Spatial dimensions of the convolution (2 for 1D and 2D problems, 3 for 3D). */
    int spatialDims() {
        return stride.length;
    }

    /**
     * The byte alignment cuDNN is told for a buffer at {@code address}: the largest power of two up to 16 that
     * divides it (PyTorch tells cuDNN the same). Engines that vectorize loads need 16.
     */
    static long alignment(long address) {
        if (address == 0) return 16;
        return Math.min(16, Long.lowestOneBit(address));
    }

    // ---- engine configurations: which may run, and how a chosen one is written ----

    /** cudnnBackendNumericalNote_t names, for labels and reasons. */
    static String noteName(int note) {
        return switch (note) {
            case CUDNN_NUMERICAL_NOTE_TENSOR_CORE -> "tensor-core";
            case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS -> "down-convert-inputs";
            case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION -> "reduced-precision-reduction";
            case CUDNN_NUMERICAL_NOTE_FFT -> "fft";
            case CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC -> "non-deterministic";
            case CUDNN_NUMERICAL_NOTE_WINOGRAD -> "winograd";
            case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4 -> "winograd-4x4";
            case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6 -> "winograd-6x6";
            case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13 -> "winograd-13x13";
            case CUDNN_NUMERICAL_NOTE_STRICT_NAN_PROP -> "strict-nan-prop";
            default -> "note-" + note;
        };
    }

    /**
     * Why an engine with these numerical notes must not run in this session, or null when it may. As PyTorch
     * filters cuDNN's engine configurations: non-deterministic ones when the session is deterministic; those
     * that down-convert their inputs always (they would compute FP32 data in a narrower type); tensor-core ones
     * for FP32 data in FP32-exact math (on Ampere and later an FP32 tensor-core engine is TF32). FP64, FP16 and
     * BF16 engines may use tensor cores (FP64 tensor cores are exact FP64; 16-bit data is computed on them
     * with FP32 accumulation, the compute type of the convolution). Beyond PyTorch's filter, engines noted for
     * reduced-precision reduction are refused too: jconv promises FP32 accumulation for 16-bit data ({@link MathMode}),
     * and its conformance tolerances assume it.
     */
    static String refusal(int[] notes, DType dtype, MathMode math, boolean deterministic) {
        for (int n : notes) {
            if (n == CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC && deterministic) {
                return "non-deterministic (jconv.cuda.deterministic=false allows it)";
            }
            if (n == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS) return "down-converts its inputs";
            if (n == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION) return "reduces in less than the FP32 compute type";
            if (n == CUDNN_NUMERICAL_NOTE_TENSOR_CORE && dtype == DType.FP32 && math == MathMode.FP32) {
                return "tensor cores (TF32) in FP32-exact math (jconv.cuda.math=tf32 allows it)";
            }
        }
        return null;
    }

    /** One knob of an engine configuration: cudnnBackendKnobType_t and its value. */
    record Knob(int type, long value) {
    }

    /**
     * An engine configuration as cuDNN's heuristics return it, in a form that rebuilds it: the engine's global
     * index and its knob choices (sorted by knob type), with the workspace its execution plan needs.
     */
    record EngineChoice(long engine, List<Knob> knobs, long workspace) {
        EngineChoice {
            if (engine < 0) throw new IllegalArgumentException("engine = " + engine + ": must be >= 0; e.g. 12");
            if (workspace < 0) throw new IllegalArgumentException("workspace = " + workspace + ": must be >= 0 bytes; e.g. 0");
            List<Knob> sorted = new ArrayList<>(knobs);
            sorted.sort(java.util.Comparator.comparingInt(Knob::type));
            for (int i = 1; i < sorted.size(); i++) {
                if (sorted.get(i).type() == sorted.get(i - 1).type()) {
                    throw new IllegalArgumentException("knobs = " + knobs + ": knob type " + sorted.get(i).type()
                            + " is chosen twice; each knob takes one value");
                }
            }
            knobs = List.copyOf(sorted);
        }

        /** Whether two choices name the same engine configuration (workspace aside). */
        boolean sameConfig(EngineChoice o) {
            return engine == o.engine && knobs.equals(o.knobs);
        }

        /** e.g. "engine 12 knobs 2=1,5=0 workspace 4096"; "knobs -" when the engine has none. */
        String text() {
            StringBuilder b = new StringBuilder("engine ").append(engine).append(" knobs ");
            if (knobs.isEmpty()) b.append('-');
            for (int i = 0; i < knobs.size(); i++) {
                if (i > 0) b.append(',');
                b.append(knobs.get(i).type()).append('=').append(knobs.get(i).value());
            }
            return b.append(" workspace ").append(workspace).toString();
        }

        private static final Pattern TEXT = Pattern.compile("engine (\\d{1,18}) knobs (-|\\d{1,9}=-?\\d{1,18}(?:,\\d{1,9}=-?\\d{1,18})*) workspace (\\d{1,18})");

        /** The choice of {@link #text()}, or null when the text is not one (a damaged cache entry is measured again). */
        static EngineChoice parse(String text) {
            if (text == null) return null;
            Matcher m = TEXT.matcher(text);
            if (!m.matches()) return null;
            try {
                List<Knob> knobs = new ArrayList<>();
                if (!m.group(2).equals("-")) {
                    for (String kv : m.group(2).split(",")) {
                        int eq = kv.indexOf('=');
                        knobs.add(new Knob(Integer.parseInt(kv.substring(0, eq)), Long.parseLong(kv.substring(eq + 1))));
                    }
                }
                return new EngineChoice(Long.parseLong(m.group(1)), knobs, Long.parseLong(m.group(3)));
            } catch (IllegalArgumentException e) { // a repeated knob, or a number out of range
                return null;
            }
        }
    }

    /** e.g. "cudnn-graph fwd engine 12 (knobs 2=1 5=0; tensor-core; 4096 B workspace)": what {@code jconv bench} prints. */
    static String label(CudnnPlan.Op op, EngineChoice c, int[] notes) {
        StringBuilder b = new StringBuilder("cudnn-graph ").append(AlgoSelection.shortOp(op)).append(" engine ").append(c.engine()).append(" (");
        if (c.knobs().isEmpty()) b.append("no knobs");
        else {
            b.append("knobs");
            for (Knob k : c.knobs()) b.append(' ').append(k.type()).append('=').append(k.value());
        }
        b.append("; ");
        if (notes.length == 0) b.append("no numerical notes");
        for (int i = 0; i < notes.length; i++) b.append(i > 0 ? " " : "").append(noteName(notes[i]));
        return b.append("; ").append(c.workspace()).append(" B workspace)").toString();
    }

    /**
     * The text a graph's chosen engine is stored under in {@link AlgoDiskCache}'s file: the legacy key's text
     * (problem, pass, dtype, math, determinism, workspace limit), then what the graph alone depends on: the API,
     * the buffers' alignments and beta. A legacy entry never has this key.
     */
    static String cacheKey(AlgoSelection.Key k, GraphConv g) {
        return AlgoDiskCache.keyText(k) + "|api=graph|align=" + g.x.alignment() + "," + g.w.alignment() + "," + g.y.alignment()
                + "|beta=" + (g.beta == 0 ? "0" : "1");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GraphConv g && op == g.op && operationType == g.operationType && dataType == g.dataType
                && computeType == g.computeType && x.equals(g.x) && w.equals(g.w) && y.equals(g.y)
                && Arrays.equals(prePadding, g.prePadding) && Arrays.equals(postPadding, g.postPadding)
                && Arrays.equals(stride, g.stride) && Arrays.equals(dilation, g.dilation) && doubleScalars == g.doubleScalars
                && alpha == g.alpha && beta == g.beta;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(op, dataType, x, w, y, beta);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s graph: %s, %s, %s; pre %s post %s stride %s dilation %s; data %d compute %d; alpha %s beta %s",
                AlgoSelection.shortOp(op), x, w, y, Arrays.toString(prePadding), Arrays.toString(postPadding), Arrays.toString(stride),
                Arrays.toString(dilation), dataType, computeType, alpha, beta);
    }
}
