package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The graph API's pure parts, without a GPU: the attribute values of each pass's graph (derived by hand from
 * the problem below, and the enum values of cuDNN 9's cudnn_graph.h), the alignment rule, the filtering of
 * engine configurations by their numerical notes, the text of a chosen engine, its cache key and label, and
 * the option that turns the graph API on.
 */
class GraphConvTest {
    // P1 of docs/bench-problems.md: g1mb8ic64ih56iw56oc64kh3kw3ph1pw1
    static final ConvSpec P1 = ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build();

    static GraphConv graph(ConvSpec spec, Pass pass, DType dt) {
        return GraphConv.of(CudnnPlan.of(spec, pass), dt, 16, 16, 16, false);
    }

    @Test
    void p1ForwardIsXWYWithPackedNchwStridesAndSymmetricPadding() {
        GraphConv g = graph(P1, Pass.FORWARD, DType.FP32);
        // cudnn_graph.h: CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR = 10; its X/W/Y attributes 704/703/705,
        // CONV_DESC 702, ALPHA 700, BETA 701; CUDNN_DATA_FLOAT = 0 for data and compute
        assertEquals(10, g.operationType());
        assertEquals(0, g.dataType());
        assertEquals(0, g.computeType());
        assertEquals(List.of("X", "W", "Y"), g.tensors().stream().map(GraphConv.Tensor::port).toList());
        assertEquals(List.of(704, 703, 705), g.tensors().stream().map(GraphConv.Tensor::attribute).toList());
        assertEquals(List.of(Role.X, Role.W, Role.Y), g.tensors().stream().map(GraphConv.Tensor::role).toList());
        assertEquals(List.of(1L, 2L, 3L), g.tensors().stream().map(GraphConv.Tensor::uid).toList());
        assertEquals(702, g.convDescAttribute());
        assertEquals(700, g.alphaAttribute());
        assertEquals(701, g.betaAttribute());
        // x = [N, C, H, W] = [8, 64, 56, 56]: strides [64·56·56, 56·56, 56, 1]
        assertArrayEquals(new long[]{8, 64, 56, 56}, g.x().dims());
        assertArrayEquals(new long[]{200704, 3136, 56, 1}, g.x().strides());
        // w = [K, C/g, kh, kw] = [64, 64, 3, 3]: strides [64·9, 9, 3, 1]
        assertArrayEquals(new long[]{64, 64, 3, 3}, g.w().dims());
        assertArrayEquals(new long[]{576, 9, 3, 1}, g.w().strides());
        // y: (56 + 2·1 − 3)/1 + 1 = 56
        assertArrayEquals(new long[]{8, 64, 56, 56}, g.y().dims());
        assertArrayEquals(new long[]{200704, 3136, 56, 1}, g.y().strides());
        assertEquals(2, g.spatialDims());
        assertArrayEquals(new long[]{1, 1}, g.prePadding());
        assertArrayEquals(new long[]{1, 1}, g.postPadding());
        assertArrayEquals(new long[]{1, 1}, g.stride());
        assertArrayEquals(new long[]{1, 1}, g.dilation());
        assertFalse(g.doubleScalars(), "FP32 compute takes float alpha and beta");
        assertEquals(1.0, g.alpha());
        assertEquals(0.0, g.beta());
        assertEquals(16, g.x().alignment());
    }

    @Test
    void backwardPassesBindTheirOwnPortsToJconvsGradientBuffers() {
        GraphConv d = graph(P1, Pass.BACKWARD_DATA, DType.FP32);
        // CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR = 12: DX 710, W 709, DY 711; CONV_DESC 708, ALPHA 706, BETA 707
        assertEquals(12, d.operationType());
        assertEquals(List.of("DX", "W", "DY"), d.tensors().stream().map(GraphConv.Tensor::port).toList());
        assertEquals(List.of(710, 709, 711), d.tensors().stream().map(GraphConv.Tensor::attribute).toList());
        assertEquals(List.of(Role.DX, Role.W, Role.DY), d.tensors().stream().map(GraphConv.Tensor::role).toList());
        assertEquals(List.of(708, 706, 707), List.of(d.convDescAttribute(), d.alphaAttribute(), d.betaAttribute()));
        GraphConv f = graph(P1, Pass.BACKWARD_WEIGHT, DType.FP32);
        // CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR = 11: X 716, DW 715, DY 717; CONV_DESC 714, ALPHA 712, BETA 713
        assertEquals(11, f.operationType());
        assertEquals(List.of("X", "DW", "DY"), f.tensors().stream().map(GraphConv.Tensor::port).toList());
        assertEquals(List.of(716, 715, 717), f.tensors().stream().map(GraphConv.Tensor::attribute).toList());
        assertEquals(List.of(Role.X, Role.DW, Role.DY), f.tensors().stream().map(GraphConv.Tensor::role).toList());
        assertEquals(List.of(714, 712, 713), List.of(f.convDescAttribute(), f.alphaAttribute(), f.betaAttribute()));
        assertThrows(IllegalArgumentException.class, () -> GraphConv.of(CudnnPlan.of(P1, Pass.BACKWARD_BIAS), DType.FP32, 16, 16, 16, false));
    }

    @Test
    void transposedForwardIsCudnnsBackwardDataIntoOurOutputAnd1dIsLifted() {
        // in 3, out 2, length 5, k 3, stride 2, pad 1, output_padding 1: output (5 − 1)·2 − 2 + 3 + 1 = 10
        ConvSpec t = ConvSpec.transposed().batch(2).channels(3, 2).input(5).kernel(3).stride(2).padding(1).outputPadding(1).build();
        GraphConv g = graph(t, Pass.FORWARD, DType.FP32);
        assertEquals(12, g.operationType(), "the adjoint: cuDNN's backward data");
        assertEquals(Role.Y, g.x().role(), "cuDNN's DX (the larger tensor) is our output y");
        assertEquals(Role.X, g.y().role(), "cuDNN's DY is our input x");
        // DX = [N, C_out, 1, 10]; W as cuDNN's [K, C/g, 1, k] = [C_in = 3, C_out = 2, 1, 3]; DY = [N, C_in, 1, 5]
        assertArrayEquals(new long[]{2, 2, 1, 10}, g.x().dims());
        assertArrayEquals(new long[]{20, 10, 10, 1}, g.x().strides());
        assertArrayEquals(new long[]{3, 2, 1, 3}, g.w().dims());
        assertArrayEquals(new long[]{6, 3, 3, 1}, g.w().strides());
        assertArrayEquals(new long[]{2, 3, 1, 5}, g.y().dims());
        assertArrayEquals(new long[]{15, 5, 5, 1}, g.y().strides());
        // the height axis added for 1D is neutral; cuDNN's yc = (10 + 2·1 − 3)/2 + 1 = 5 holds
        assertArrayEquals(new long[]{0, 1}, g.prePadding());
        assertArrayEquals(new long[]{0, 1}, g.postPadding());
        assertArrayEquals(new long[]{1, 2}, g.stride());
        assertArrayEquals(new long[]{1, 1}, g.dilation());
        // transposed backward data runs cuDNN's forward with our dy as xc
        GraphConv bd = graph(t, Pass.BACKWARD_DATA, DType.FP32);
        assertEquals(10, bd.operationType());
        assertEquals(Role.DY, bd.x().role());
        assertEquals(Role.DX, bd.y().role());
    }

    @Test
    void groupedAnd3dProblemsAndTheOtherDtypes() {
        // 8 → 16 channels in 4 groups: w = [16, 8/4, 3, 3], strides [2·9, 9, 3, 1]
        ConvSpec grouped = ConvSpec.convolution().batch(2).channels(8, 16).groups(4).input(10, 10).kernel(3).padding(1).build();
        GraphConv g = graph(grouped, Pass.FORWARD, DType.FP16);
        assertArrayEquals(new long[]{16, 2, 3, 3}, g.w().dims());
        assertArrayEquals(new long[]{18, 9, 3, 1}, g.w().strides());
        assertEquals(2, g.dataType(), "CUDNN_DATA_HALF");
        assertEquals(0, g.computeType(), "FP16 accumulates in float");
        // NCDHW [1, 4, 6, 6, 6]: strides [4·216, 216, 36, 6, 1]; three spatial dims
        ConvSpec d3 = ConvSpec.convolution().batch(1).channels(4, 8).input(6, 6, 6).kernel(3).padding(1).build();
        GraphConv v = graph(d3, Pass.BACKWARD_WEIGHT, DType.BF16);
        assertArrayEquals(new long[]{1, 4, 6, 6, 6}, v.x().dims());
        assertArrayEquals(new long[]{864, 216, 36, 6, 1}, v.x().strides());
        assertArrayEquals(new long[]{8, 4, 3, 3, 3}, v.w().dims());
        assertEquals(3, v.spatialDims());
        assertArrayEquals(new long[]{1, 1, 1}, v.prePadding());
        assertEquals(9, v.dataType(), "CUDNN_DATA_BFLOAT16");
        assertEquals(0, v.computeType());
        GraphConv f64 = graph(P1, Pass.FORWARD, DType.FP64);
        assertEquals(1, f64.dataType(), "CUDNN_DATA_DOUBLE");
        assertEquals(1, f64.computeType());
        assertTrue(f64.doubleScalars(), "FP64 compute takes double alpha and beta");
        // weight gradients of later batch slices add into the first: beta 1
        GraphConv acc = GraphConv.of(CudnnPlan.of(P1, Pass.BACKWARD_WEIGHT), DType.FP32, 16, 16, 16, true);
        assertEquals(1.0, acc.beta());
    }

    @Test
    void alignmentIsTheLargestPowerOfTwoUpToSixteenDividingTheAddress() {
        assertEquals(16, GraphConv.alignment(0x7f00_0000_0100L));
        assertEquals(16, GraphConv.alignment(0x7f00_0000_0010L));
        assertEquals(8, GraphConv.alignment(0x7f00_0000_0108L));
        assertEquals(4, GraphConv.alignment(0x7f00_0000_0104L)); // an FP32 batch slice may start here
        assertEquals(2, GraphConv.alignment(0x7f00_0000_0102L));
        assertEquals(1, GraphConv.alignment(0x7f00_0000_0101L));
        assertEquals(16, GraphConv.alignment(0));
        GraphConv g = GraphConv.of(CudnnPlan.of(P1, Pass.FORWARD), DType.FP32, 16, 8, 4, false);
        assertEquals(List.of(16L, 8L, 4L), g.tensors().stream().map(GraphConv.Tensor::alignment).toList());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GraphConv.of(CudnnPlan.of(P1, Pass.FORWARD), DType.FP32, 3, 16, 16, false));
        assertTrue(e.getMessage().contains("alignment of X = 3"), e.getMessage());
    }

    // cudnnBackendNumericalNote_t: TENSOR_CORE 0, DOWN_CONVERT_INPUTS 1, REDUCED_PRECISION_REDUCTION 2, FFT 3,
    // NONDETERMINISTIC 4, WINOGRAD 5
    @Test
    void engineNotesFilterAsPyTorchDoesAndKeepFp32Accumulation() {
        int[] none = {};
        int[] tensorCore = {0};
        int[] downConvert = {1};
        int[] nondet = {4};
        int[] winogradTc = {5, 0};
        for (DType dt : DType.values()) assertNull(GraphConv.refusal(none, dt, MathMode.FP32, true), dt.toString());
        // non-deterministic: refused only when the session is deterministic
        assertNotNull(GraphConv.refusal(nondet, DType.FP32, MathMode.FP32, true));
        assertTrue(GraphConv.refusal(nondet, DType.BF16, MathMode.FP32, true).contains("non-deterministic"));
        assertNull(GraphConv.refusal(nondet, DType.FP32, MathMode.FP32, false));
        // down-converting inputs: always refused
        for (DType dt : DType.values()) assertNotNull(GraphConv.refusal(downConvert, dt, MathMode.TF32, false), dt.toString());
        // reduced-precision reduction: always refused (jconv accumulates 16-bit data in FP32)
        for (DType dt : DType.values()) assertNotNull(GraphConv.refusal(new int[]{2}, dt, MathMode.TF32, false), dt.toString());
        // tensor cores: refused for FP32 data in exact math only
        assertTrue(GraphConv.refusal(tensorCore, DType.FP32, MathMode.FP32, true).contains("TF32"));
        assertNotNull(GraphConv.refusal(winogradTc, DType.FP32, MathMode.FP32, false));
        assertNull(GraphConv.refusal(tensorCore, DType.FP32, MathMode.TF32, true));
        assertNull(GraphConv.refusal(tensorCore, DType.FP16, MathMode.FP32, true));
        assertNull(GraphConv.refusal(tensorCore, DType.BF16, MathMode.FP32, true));
        assertNull(GraphConv.refusal(tensorCore, DType.FP64, MathMode.FP32, true));
        assertNull(GraphConv.refusal(new int[]{5}, DType.FP32, MathMode.FP32, true), "Winograd on FMA units is FP32 math");
    }

    @Test
    void anEngineChoiceIsWrittenAsTextAndReadBack() {
        GraphConv.EngineChoice c = new GraphConv.EngineChoice(12, List.of(new GraphConv.Knob(5, 0), new GraphConv.Knob(2, 1)), 4096);
        assertEquals("engine 12 knobs 2=1,5=0 workspace 4096", c.text(), "knobs sorted by type");
        assertEquals(c, GraphConv.EngineChoice.parse(c.text()));
        GraphConv.EngineChoice bare = new GraphConv.EngineChoice(3, List.of(), 0);
        assertEquals("engine 3 knobs - workspace 0", bare.text());
        assertEquals(bare, GraphConv.EngineChoice.parse("engine 3 knobs - workspace 0"));
        assertEquals(new GraphConv.EngineChoice(7, List.of(new GraphConv.Knob(1, -1)), 0), GraphConv.EngineChoice.parse("engine 7 knobs 1=-1 workspace 0"));
        for (String bad : new String[]{null, "", "engine x knobs - workspace 0", "engine 3 knobs 2=1,2=5 workspace 0",
                "engine 3 knobs - workspace -1", "engine 3 knobs - workspace 0 extra", "engine 3 knobs 2= workspace 0", "3:0:4096:3"}) {
            assertNull(GraphConv.EngineChoice.parse(bad), bad);
        }
        assertTrue(c.sameConfig(new GraphConv.EngineChoice(12, List.of(new GraphConv.Knob(2, 1), new GraphConv.Knob(5, 0)), 0)));
        assertFalse(c.sameConfig(new GraphConv.EngineChoice(12, List.of(new GraphConv.Knob(2, 2), new GraphConv.Knob(5, 0)), 4096)));
        assertThrows(IllegalArgumentException.class, () -> new GraphConv.EngineChoice(-1, List.of(), 0));
    }

    @Test
    void theLabelSaysGraphPassEngineKnobsNotesAndWorkspace() {
        GraphConv.EngineChoice c = new GraphConv.EngineChoice(12, List.of(new GraphConv.Knob(2, 1), new GraphConv.Knob(5, 0)), 4096);
        assertEquals("cudnn-graph fwd engine 12 (knobs 2=1 5=0; tensor-core; 4096 B workspace)",
                GraphConv.label(CudnnPlan.Op.FORWARD, c, new int[]{0}));
        assertEquals("cudnn-graph bwd-filter engine 0 (no knobs; no numerical notes; 0 B workspace)",
                GraphConv.label(CudnnPlan.Op.BACKWARD_FILTER, new GraphConv.EngineChoice(0, List.of(), 0), new int[0]));
    }

    @Test
    void theCacheKeyExtendsTheLegacyKeyWithApiAlignmentAndBeta(@TempDir Path dir) {
        AlgoSelection.Key k = new AlgoSelection.Key(P1.toString(), Pass.FORWARD, DType.FP32, MathMode.FP32, true, "0:NVIDIA H200:sm90",
                1L << 30, CudaOptions.AlgoMode.BENCHMARK);
        GraphConv g = GraphConv.of(CudnnPlan.of(P1, Pass.FORWARD), DType.FP32, 16, 16, 4, false);
        String text = GraphConv.cacheKey(k, g);
        assertEquals(P1 + "|FORWARD|FP32|FP32|det=true|ws=1073741824|api=graph|align=16,16,4|beta=0", text);
        assertTrue(GraphConv.cacheKey(k, GraphConv.of(CudnnPlan.of(P1, Pass.FORWARD), DType.FP32, 16, 16, 4, true)).endsWith("|beta=1"));

        // in the benchmark cache's file beside the legacy entries, neither disturbing the other
        AlgoDiskCache cache = new AlgoDiskCache(dir, AlgoDiskCacheTest.H200);
        assertNull(cache.getText(text));
        GraphConv.EngineChoice c = new GraphConv.EngineChoice(12, List.of(new GraphConv.Knob(2, 1)), 4096);
        assertTrue(cache.putText(text, c.text()));
        assertNull(cache.get(k), "a graph entry is no legacy entry");
        List<AlgoSelection.Choice> legacy = List.of(new AlgoSelection.Choice(CudnnPlan.Op.FORWARD, 1, 0, CudnnTypes.FMA_MATH));
        assertTrue(cache.put(k, legacy));
        AlgoDiskCache later = new AlgoDiskCache(dir, AlgoDiskCacheTest.H200);
        assertEquals(c, GraphConv.EngineChoice.parse(later.getText(text)));
        assertEquals(legacy, later.get(k));
        assertFalse(cache.putText("a\tb", c.text()), "a tab would break the line format");
        assertFalse(cache.putText(text, "two\nlines"));
    }

    @Test
    void aDamagedGraphLineIsIgnored(@TempDir Path dir) throws Exception {
        AlgoDiskCache cache = new AlgoDiskCache(dir, AlgoDiskCacheTest.H200);
        assertTrue(cache.putText("k|api=graph", "engine 1 knobs - workspace 0"));
        String file = Files.readString(cache.file(), StandardCharsets.UTF_8);
        Files.writeString(cache.file(), file.replace("engine 1 ", "engine 9 "), StandardCharsets.UTF_8); // checksum no longer matches
        assertNull(new AlgoDiskCache(dir, AlgoDiskCacheTest.H200).getText("k|api=graph"));
    }

    @Test
    void aFailedBackendCallNamesTheCallItsTargetAndTheStatus() {
        // what a fallback label and the GPU run's failures show (cudnn_graph.h: CUDNN_STATUS_BAD_PARAM = 2000,
        // CUDNN_STATUS_NOT_SUPPORTED = 3000); a code outside the table still names its family
        GraphCalls.BuildFailure f = new GraphCalls.BuildFailure(
                "cudnnBackendSetAttribute(X tensor [8, 64, 56, 56], CUDNN_ATTR_TENSOR_STRIDES [200704, 3136, 56, 1])", 2000);
        assertEquals("cudnnBackendSetAttribute(X tensor [8, 64, 56, 56], CUDNN_ATTR_TENSOR_STRIDES [200704, 3136, 56, 1]) returned "
                + "CUDNN_STATUS_BAD_PARAM (2000)", f.getMessage());
        assertEquals(2000, f.status);
        assertEquals("cudnnBackendFinalize(execution plan of engine 7) returned CUDNN_STATUS_NOT_SUPPORTED (3000)",
                new GraphCalls.BuildFailure("cudnnBackendFinalize(execution plan of engine 7)", 3000).getMessage());
        assertEquals("cudnnBackendFinalize(x) returned CUDNN_STATUS_3999 (3999)", new GraphCalls.BuildFailure("cudnnBackendFinalize(x)", 3999).getMessage());
    }

    @Test
    void theGraphApiIsOptInByPropertyOrEnvironment() {
        // the graph API is the default since the H200 run of 2026-11-30 (docs/gpu-runs.md); the 4-argument constructor
        // of callers that predate the choice keeps the legacy calls
        assertEquals(CudaOptions.Api.GRAPH, CudaOptions.from(new Properties(), Map.of()).api());
        assertEquals(CudaOptions.Api.GRAPH, CudaOptions.defaults().api());
        assertEquals(CudaOptions.Api.LEGACY, new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, 1L << 30).api());
        assertEquals(CudaOptions.Api.GRAPH, CudaOptions.from(new Properties(), Map.of("JCONV_CUDA_API", "GRAPH")).api());
        Properties p = new Properties();
        p.setProperty("jconv.cuda.api", " graph ");
        assertEquals(CudaOptions.Api.GRAPH, CudaOptions.from(p, Map.of("JCONV_CUDA_API", "legacy")).api());
        p.setProperty("jconv.cuda.api", "legacy");
        assertEquals(CudaOptions.Api.LEGACY, CudaOptions.from(p, Map.of("JCONV_CUDA_API", "graph")).api());
        p.setProperty("jconv.cuda.api", "frontend");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaOptions.from(p, Map.of()));
        assertTrue(e.getMessage().contains("jconv.cuda.api = frontend") && e.getMessage().contains("legacy or graph"), e.getMessage());
        // the four-field constructor keeps its meaning: the legacy API
        CudaOptions four = new CudaOptions(MathMode.TF32, false, CudaOptions.AlgoMode.BENCHMARK, 1024);
        assertEquals(CudaOptions.Api.LEGACY, four.api());
        assertEquals(CudaOptions.Api.GRAPH, four.withApi(CudaOptions.Api.GRAPH).api());
        assertEquals(MathMode.TF32, four.withApi(CudaOptions.Api.GRAPH).math());
        assertThrows(IllegalArgumentException.class, () -> new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, 0, null));
    }
}
