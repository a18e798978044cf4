package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Algorithm choice and its cache, as pure functions of what cuDNN reports and the session's options. */
class AlgoSelectionTest {
    static final CudnnPlan.Op FWD = CudnnPlan.Op.FORWARD;
    static final int FMA = CudnnTypes.FMA_MATH;
    static final int TC = CudnnTypes.TENSOR_OP_MATH;

    static AlgoSelection.Result r(int algo, int status, float ms, long mem, boolean det, int math) {
        return new AlgoSelection.Result(algo, status, ms, mem, det, math);
    }

    static CudaOptions opts(MathMode m, boolean det, CudaOptions.AlgoMode mode, long ws) {
        return new CudaOptions(m, det, mode, ws);
    }

    static List<Integer> algos(List<AlgoSelection.Choice> cs) {
        return cs.stream().map(AlgoSelection.Choice::algo).toList();
    }

    @Test
    void heuristicsKeepCudnnsOrderAndDropFailedOversizedAndDuplicateResults() {
        List<AlgoSelection.Result> rs = List.of(
                r(1, 0, -1, 1000, true, FMA),
                r(6, 3000, -1, 0, true, FMA),        // not supported: dropped
                r(5, 0, -1, 1L << 40, true, FMA),    // over the workspace limit: dropped
                r(0, 0, -1, 0, true, FMA),
                r(1, 0, -1, 1000, true, FMA),        // duplicate: dropped
                r(2, 0, -1, 64, false, FMA));
        List<AlgoSelection.Choice> cs = AlgoSelection.rank(FWD, rs, DType.FP32,
                opts(MathMode.FP32, false, CudaOptions.AlgoMode.HEURISTIC, CudaOptions.DEFAULT_WORKSPACE_LIMIT));
        assertEquals(List.of(1, 0, 2), algos(cs));
        assertEquals(List.of(1, 0), algos(AlgoSelection.rank(FWD, rs, DType.FP32, CudaOptions.defaults())),
                "the default is deterministic: algorithm 2 (non-deterministic) is dropped");
        assertEquals(1000, cs.get(0).workspace());
    }

    @Test
    void deterministicModeKeepsOnlyDeterministicAlgorithms() {
        List<AlgoSelection.Result> rs = List.of(r(0, 0, -1, 0, false, FMA), r(1, 0, -1, 0, true, FMA));
        assertEquals(List.of(1), algos(AlgoSelection.rank(CudnnPlan.Op.BACKWARD_FILTER, rs, DType.FP32,
                opts(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, 1 << 30))));
    }

    @Test
    void fp32ExactRefusesTensorCoreResultsAndTf32AcceptsThem() {
        List<AlgoSelection.Result> rs = List.of(r(1, 0, -1, 0, true, TC), r(0, 0, -1, 0, true, FMA));
        assertEquals(List.of(0), algos(AlgoSelection.rank(FWD, rs, DType.FP32, CudaOptions.defaults())));
        assertEquals(List.of(1, 0), algos(AlgoSelection.rank(FWD, rs, DType.FP32,
                opts(MathMode.TF32, false, CudaOptions.AlgoMode.HEURISTIC, 1 << 30))));
        assertEquals(List.of(1, 0), algos(AlgoSelection.rank(FWD, rs, DType.BF16, CudaOptions.defaults())));
    }

    @Test
    void fp32ExactRunsDefaultMathResultsWithFmaMathAndMergesThemWithTheFmaOnes() {
        List<AlgoSelection.Result> rs = List.of(r(1, 0, -1, 0, true, CudnnTypes.DEFAULT_MATH), r(1, 0, -1, 0, true, FMA),
                r(0, 0, -1, 0, true, FMA));
        List<AlgoSelection.Choice> cs = AlgoSelection.rank(FWD, rs, DType.FP32, CudaOptions.defaults());
        assertEquals(List.of(1, 0), algos(cs));
        assertEquals(List.of(FMA, FMA), cs.stream().map(AlgoSelection.Choice::mathType).toList());
    }

    @Test
    void benchmarkModeOrdersByMeasuredTime() {
        List<AlgoSelection.Result> rs = List.of(r(0, 0, 0.30f, 0, true, FMA), r(1, 0, 0.10f, 0, true, FMA), r(7, 0, 0.20f, 0, true, FMA));
        assertEquals(List.of(1, 7, 0), algos(AlgoSelection.rank(FWD, rs, DType.FP32,
                opts(MathMode.FP32, false, CudaOptions.AlgoMode.BENCHMARK, 1 << 30))));
    }

    @Test
    void aZeroWorkspaceLimitLeavesOnlyWorkspaceFreeAlgorithms() {
        List<AlgoSelection.Result> rs = List.of(r(1, 0, -1, 4096, true, FMA), r(0, 0, -1, 0, true, FMA));
        assertEquals(List.of(0), algos(AlgoSelection.rank(FWD, rs, DType.FP32,
                opts(MathMode.FP32, false, CudaOptions.AlgoMode.HEURISTIC, 0))));
    }

    @Test
    void whenNothingSurvivesTheReasonNamesEachAlgorithmsProblem() {
        List<AlgoSelection.Result> rs = List.of(r(0, 0, -1, 0, false, FMA), r(1, 0, -1, 0, true, TC), r(2, 3000, -1, 0, true, FMA));
        CudaOptions o = opts(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, 1 << 30);
        assertTrue(AlgoSelection.rank(FWD, rs, DType.FP32, o).isEmpty());
        String why = AlgoSelection.whyNone(rs, DType.FP32, o);
        assertTrue(why.contains("0=non-deterministic") && why.contains("1=tensor-op breaks math mode FP32")
                && why.contains("2=CUDNN_STATUS_NOT_SUPPORTED") && why.contains("jconv.cuda.deterministic=false"), why);
    }

    @Test
    void choicesAreNamedAfterCudnnsEnums() {
        assertEquals("cudnn fwd IMPLICIT_PRECOMP_GEMM (fma, 0 B workspace)", new AlgoSelection.Choice(FWD, 1, 0, FMA).name());
        assertEquals("WINOGRAD_NONFUSED", AlgoSelection.algoName(CudnnPlan.Op.BACKWARD_DATA, 5));
        assertEquals("FFT_TILING", AlgoSelection.algoName(CudnnPlan.Op.BACKWARD_FILTER, 6));
        assertEquals(8, AlgoSelection.algoCount(FWD));
        assertEquals(6, AlgoSelection.algoCount(CudnnPlan.Op.BACKWARD_DATA));
        assertEquals(7, AlgoSelection.algoCount(CudnnPlan.Op.BACKWARD_FILTER));
    }

    @Test
    void algorithmCountsMatchCudnnsEnums() {
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_COUNT, AlgoSelection.algoCount(FWD));
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, AlgoSelection.algoCount(CudnnPlan.Op.BACKWARD_DATA));
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, AlgoSelection.algoCount(CudnnPlan.Op.BACKWARD_FILTER));
        assertEquals("WINOGRAD", AlgoSelection.algoName(FWD, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD));
        assertEquals("FFT_TILING", AlgoSelection.algoName(CudnnPlan.Op.BACKWARD_DATA, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING));
        assertEquals("ALGO_3", AlgoSelection.algoName(CudnnPlan.Op.BACKWARD_FILTER, org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3));
    }

    // ---- cache keys ----

    static final ConvSpec SPEC = ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build();
    static final AlgoSelection.Key BASE = AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, CudaOptions.defaults(), "0:NVIDIA H200:sm90");

    static Stream<Arguments> variants() {
        CudaOptions d = CudaOptions.defaults();
        String dev = "0:NVIDIA H200:sm90";
        return Stream.of(
                Arguments.of("batch", AlgoSelection.Key.of(SPEC.toBuilder().batch(16).build(), Pass.FORWARD, DType.FP32, d, dev)),
                Arguments.of("stride", AlgoSelection.Key.of(SPEC.toBuilder().stride(2).build(), Pass.FORWARD, DType.FP32, d, dev)),
                Arguments.of("padding hi", AlgoSelection.Key.of(SPEC.toBuilder().paddingHi(2).build(), Pass.FORWARD, DType.FP32, d, dev)),
                Arguments.of("groups", AlgoSelection.Key.of(SPEC.toBuilder().groups(2).build(), Pass.FORWARD, DType.FP32, d, dev)),
                Arguments.of("pass", AlgoSelection.Key.of(SPEC, Pass.BACKWARD_DATA, DType.FP32, d, dev)),
                Arguments.of("dtype", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.BF16, d, dev)),
                Arguments.of("math", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, opts(MathMode.TF32, d.deterministic(), CudaOptions.AlgoMode.HEURISTIC, d.workspaceLimit()), dev)),
                Arguments.of("deterministic", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, opts(MathMode.FP32, !d.deterministic(), CudaOptions.AlgoMode.HEURISTIC, d.workspaceLimit()), dev)),
                Arguments.of("workspace limit", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, opts(MathMode.FP32, d.deterministic(), CudaOptions.AlgoMode.HEURISTIC, 1 << 20), dev)),
                Arguments.of("mode", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, opts(MathMode.FP32, d.deterministic(), CudaOptions.AlgoMode.BENCHMARK, d.workspaceLimit()), dev)),
                Arguments.of("device", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, d, "1:NVIDIA H200:sm90")),
                Arguments.of("device model", AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32, d, "0:NVIDIA H100 80GB HBM3:sm90")));
    }

    @ParameterizedTest(name = "a different {0} is a different cache entry")
    @MethodSource("variants")
    void everyPartOfTheProblemAndOptionsSeparatesCacheEntries(String what, AlgoSelection.Key other) {
        assertNotEquals(BASE, other);
        AlgoSelection.Cache c = new AlgoSelection.Cache();
        c.put(BASE, List.of(new AlgoSelection.Choice(FWD, 1, 0, FMA)));
        assertNull(c.get(other));
    }

    @Test
    void theSameProblemBuiltTwiceHitsTheSameEntry() {
        ConvSpec again = ConvSpec.parse(SPEC.toString());
        AlgoSelection.Key k = AlgoSelection.Key.of(again, Pass.FORWARD, DType.FP32, CudaOptions.defaults(), "0:NVIDIA H200:sm90");
        assertEquals(BASE, k);
        AlgoSelection.Cache c = new AlgoSelection.Cache();
        c.put(BASE, List.of(new AlgoSelection.Choice(FWD, 1, 0, FMA)));
        assertEquals(1, c.get(k).get(0).algo());
    }

    static final AlgoSelection.Key FAST = AlgoSelection.Key.of(SPEC, Pass.FORWARD, DType.FP32,
            opts(MathMode.FP32, false, CudaOptions.AlgoMode.HEURISTIC, CudaOptions.DEFAULT_WORKSPACE_LIMIT), "0:NVIDIA H200:sm90");

    @Test
    void outsideDeterministicModeAnAlgorithmThatRanOutOfMemoryMovesToTheBackOfItsEntry() {
        AlgoSelection.Cache c = new AlgoSelection.Cache();
        AlgoSelection.Choice big = new AlgoSelection.Choice(FWD, 7, 1L << 30, FMA);
        AlgoSelection.Choice small = new AlgoSelection.Choice(FWD, 1, 0, FMA);
        c.put(FAST, List.of(big, small));
        c.demote(FAST, big);
        assertEquals(List.of(small, big), c.get(FAST));
        assertEquals(1, c.size());
    }

    @Test
    void inDeterministicModeAKeysOrderNeverChangesSoEveryCallTriesTheSameAlgorithmFirst() {
        assertTrue(BASE.deterministic(), "the default options are deterministic");
        AlgoSelection.Cache c = new AlgoSelection.Cache();
        AlgoSelection.Choice big = new AlgoSelection.Choice(FWD, 7, 1L << 30, FMA);
        AlgoSelection.Choice small = new AlgoSelection.Choice(FWD, 1, 0, FMA);
        c.put(BASE, List.of(big, small));
        c.demote(BASE, big);
        assertEquals(List.of(big, small), c.get(BASE));
    }

    @Test
    void theDefaultsPromiseBitIdenticalResults() {
        assertTrue(CudaOptions.defaults().deterministic());
        assertTrue(CudaOptions.from(new java.util.Properties(), java.util.Map.of()).deterministic());
        assertTrue(!CudaOptions.from(new java.util.Properties(), java.util.Map.of("JCONV_CUDA_DETERMINISTIC", "false")).deterministic(),
                "switched off on request");
    }
}
