package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.Pass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Algorithm choice is a pure function of spec and pass. */
class CpuAlgorithmsTest {
    /** The third column: without the Vector API; the fourth: with it, where unit-stride gathers take the implicit GEMM. */
    @ParameterizedTest(name = "{0} {1} -> {2} / {3}")
    @CsvSource({
            "mb8ic64ih56oc64kh3ph1, FORWARD, IM2COL_GEMM, IMPLICIT_GEMM",
            "mb8ic64ih56oc64kh3ph1, BACKWARD_DATA, IM2COL_GEMM, IMPLICIT_GEMM",
            "mb8ic64ih56oc64kh3sh2ph1, BACKWARD_DATA, PHASE_GEMM, PHASE_GEMM",
            "mb8ic64ih56oc64kh3sh2ph1dh2, BACKWARD_DATA, GEMM_COL2IM, GEMM_COL2IM",
            "mb8ic64ih56oc64kh3ph3, BACKWARD_DATA, GEMM_COL2IM, GEMM_COL2IM",
            "mb2ic4ih9oc4kh3ph4dh2, BACKWARD_DATA, IM2COL_GEMM, IMPLICIT_GEMM",
            "tr1mb8ic64ih28oc32kh3ph1, FORWARD, IM2COL_GEMM, IMPLICIT_GEMM",
            "mb8ic64ih56oc64kh3ph1, BACKWARD_WEIGHT, IM2COL_GEMM, IMPLICIT_GEMM",
            "mb8ic64ih56oc64kh3ph1, BACKWARD_BIAS, CHANNEL_SUM, CHANNEL_SUM",
            "mb8ic256ih14oc256kh1, FORWARD, POINTWISE_GEMM, POINTWISE_GEMM",
            "mb8ic256ih14oc256kh1, BACKWARD_DATA, POINTWISE_GEMM, POINTWISE_GEMM",
            "mb8ic256ih14oc256kh1, BACKWARD_WEIGHT, POINTWISE_GEMM, POINTWISE_GEMM",
            "mb8ic256ih14oc256kh1sh2, FORWARD, IM2COL_GEMM, IM2COL_GEMM",
            "mb8ic256ih14oc256kh1ph1, FORWARD, IM2COL_GEMM, IMPLICIT_GEMM",
            "g256mb8ic256ih28oc256kh3ph1, FORWARD, DIRECT_DEPTHWISE, DIRECT_DEPTHWISE",
            "g256mb8ic256ih28oc256kh3ph1, BACKWARD_DATA, DIRECT_DEPTHWISE, DIRECT_DEPTHWISE",
            "g256mb8ic256ih28oc256kh3ph1, BACKWARD_WEIGHT, DIRECT_DEPTHWISE, DIRECT_DEPTHWISE",
            "g256mb8ic256ih28oc512kh3ph1, FORWARD, IM2COL_GEMM, IMPLICIT_GEMM",
            "g8mb8ic128ih28oc128kh3ph1, FORWARD, IM2COL_GEMM, IMPLICIT_GEMM",
            "tr1mb8ic64ih28oc32kh4sh2ph1, FORWARD, PHASE_GEMM, PHASE_GEMM",
            "tr1mb8ic64ih28oc32kh4sh2ph1dh2, FORWARD, GEMM_COL2IM, GEMM_COL2IM",
            "tr1mb8ic64ih28oc32kh4sh2ph1, BACKWARD_DATA, IM2COL_GEMM, IM2COL_GEMM",
            "tr1mb8ic64ih28oc32kh4sh2ph1, BACKWARD_WEIGHT, IM2COL_GEMM, IM2COL_GEMM",
            "tr1mb8ic64ih28oc32kh1, FORWARD, POINTWISE_GEMM, POINTWISE_GEMM",
            "tr1g64mb8ic64ih28oc64kh3sh2ph1oph1, FORWARD, DIRECT_DEPTHWISE, DIRECT_DEPTHWISE",
            "dg1msk1mb8ic128ih28oc128kh3ph1, FORWARD, DEFORMABLE_IM2COL_GEMM, DEFORMABLE_IM2COL_GEMM",
            "dg1msk1mb8ic128ih28oc128kh3ph1, BACKWARD_OFFSET_MASK, DEFORMABLE_IM2COL_GEMM, DEFORMABLE_IM2COL_GEMM",
            "dg1msk1mb8ic128ih28oc128kh3ph1, BACKWARD_BIAS, CHANNEL_SUM, CHANNEL_SUM",
            "mb2ic32id16ih56iw56oc32kd3kh3kw3pd1ph1pw1, FORWARD, IM2COL_GEMM, IMPLICIT_GEMM",
    })
    void choosesTheAlgorithmThatFitsTheProblem(String line, Pass pass, CpuAlgorithm plain, CpuAlgorithm withVector) {
        assertEquals(FloatGemm.VECTOR ? withVector : plain, CpuAlgorithms.choose(ConvSpec.parse(line), pass));
    }
}
