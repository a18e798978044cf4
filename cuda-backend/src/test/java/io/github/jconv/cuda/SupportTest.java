package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.Support;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the CUDA session says it supports, from the rule beside its code, per compute capability. */
class SupportTest {
    static final ConvSpec CONV = ConvSpec.convolution().batch(2).channels(4, 8).input(9, 9).kernel(3).padding(1).build();
    static final ConvSpec ASYM = ConvSpec.convolution().batch(2).channels(4, 8).input(9, 9).kernel(3).paddingLo(1).paddingHi(0).build();
    static final ConvSpec TRANS = ConvSpec.transposed().batch(1).channels(4, 4).input(5, 5, 5).kernel(3).stride(2).padding(1).outputPadding(1).build();
    static final ConvSpec DEFORM = ConvSpec.deformable().batch(1).channels(4, 4).input(6, 6).kernel(3).padding(1).offsetGroups(2).mask(true).build();
    static final ConvSpec HUGE = ConvSpec.convolution().batch(64).channels(256, 256).input(400, 400).kernel(3).padding(1).build();
    static final ConvSpec ONE_ITEM_TOO_BIG = ConvSpec.convolution().batch(1).channels(16384, 16).input(400, 400).kernel(1).build();

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(CONV, Pass.FORWARD, DType.FP32, 90, true, ""),
                Arguments.of(CONV, Pass.BACKWARD_WEIGHT, DType.FP16, 75, true, ""),
                Arguments.of(CONV, Pass.FORWARD, DType.BF16, 75, false, "BF16 needs compute capability 8.0"),
                Arguments.of(CONV, Pass.FORWARD, DType.BF16, 80, true, ""),
                Arguments.of(CONV, Pass.FORWARD, DType.FP64, 90, true, ""),
                Arguments.of(CONV, Pass.BACKWARD_OFFSET_MASK, DType.FP32, 90, false, "only for deformable"),
                Arguments.of(ASYM, Pass.BACKWARD_DATA, DType.FP32, 90, true, ""),
                Arguments.of(ASYM, Pass.BACKWARD_DATA, DType.FP32, 70, false, "staged through a jconv kernel"),
                Arguments.of(ASYM, Pass.BACKWARD_BIAS, DType.FP32, 70, true, ""),
                Arguments.of(TRANS, Pass.FORWARD, DType.FP16, 90, true, ""),
                Arguments.of(DEFORM, Pass.BACKWARD_OFFSET_MASK, DType.FP32, 90, true, ""),
                Arguments.of(DEFORM, Pass.FORWARD, DType.FP64, 75, true, ""),
                Arguments.of(DEFORM, Pass.FORWARD, DType.FP16, 90, true, ""), // FP16 storage, FP32 compute
                Arguments.of(DEFORM, Pass.BACKWARD_OFFSET_MASK, DType.BF16, 80, true, ""),
                Arguments.of(DEFORM, Pass.FORWARD, DType.BF16, 75, false, "BF16 needs compute capability 8.0"),
                Arguments.of(DEFORM, Pass.BACKWARD_DATA, DType.FP16, 70, false, "compute_75"),
                Arguments.of(DEFORM, Pass.FORWARD, DType.FP32, 70, false, "compute_75"),
                Arguments.of(HUGE, Pass.FORWARD, DType.FP32, 90, true, ""),
                Arguments.of(ONE_ITEM_TOO_BIG, Pass.FORWARD, DType.FP32, 90, true, ""), // split along H (SpatialSplit)
                Arguments.of(ONE_ITEM_TOO_BIG, Pass.BACKWARD_DATA, DType.FP32, 90, true, ""),
                Arguments.of(ONE_ITEM_TOO_BIG, Pass.FORWARD, DType.FP32, 70, false, "compute_75"));
    }

    @ParameterizedTest(name = "{1} {2} on sm{3} of {0}: {4}")
    @MethodSource("cases")
    void supportFollowsTheRuleBesideTheCode(ConvSpec spec, Pass pass, DType dtype, int cc, boolean yes, String why) {
        Support s = CudaBackend.supports(spec, pass, dtype, cc);
        assertEquals(yes, s.supported(), s.reason());
        assertTrue(s.reason().contains(why), s.reason());
    }

    @org.junit.jupiter.api.Test
    void everyOperationJconvDefinesIsSupportedInFp32OnAHopperGpu() {
        for (ConvType t : ConvType.values()) {
            for (int rank = 1; rank <= 3; rank++) {
                if (t == ConvType.DEFORMABLE && rank != 2) continue;
                ConvSpec s = io.github.jconv.spi.Capabilities.representative(t, rank);
                for (Pass p : Pass.values()) {
                    if (p == Pass.BACKWARD_OFFSET_MASK && t != ConvType.DEFORMABLE) continue;
                    Support sup = CudaBackend.supports(s, p, DType.FP32, 90);
                    assertTrue(sup.supported(), t + " " + rank + "D " + p + ": " + sup.reason());
                }
            }
        }
    }
}
