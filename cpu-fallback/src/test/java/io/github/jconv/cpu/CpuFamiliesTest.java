package io.github.jconv.cpu;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.Support;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The session plus op families: every planned algorithm has exactly one family, and each family states its own support rule. */
class CpuFamiliesTest {
    private static final List<CpuFamily> ALL = List.of(new GemmConvFamily(), new DepthwiseFamily(), new PhaseFamily(),
            new DeformableFamily(), new ChannelSumFamily());

    @ParameterizedTest
    @EnumSource(CpuAlgorithm.class)
    void everyAlgorithmIsRunByExactlyOneFamily(CpuAlgorithm alg) {
        assertEquals(1, ALL.stream().filter(f -> f.runs(alg)).count(), alg.name());
        assertTrue(CpuBackend.family(alg).runs(alg));
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource({
            "mb8ic64ih56oc64kh3ph1, FORWARD, GemmConvFamily",
            "mb8ic256ih14oc256kh1, BACKWARD_DATA, GemmConvFamily",
            "mb8ic64ih56oc64kh3sh2ph1dh2, BACKWARD_DATA, GemmConvFamily",
            "g256mb8ic256ih28oc256kh3ph1, BACKWARD_WEIGHT, DepthwiseFamily",
            "tr1mb8ic64ih28oc32kh4sh2ph1, FORWARD, PhaseFamily",
            "mb8ic64ih56oc64kh3sh2ph1, BACKWARD_DATA, PhaseFamily",
            "dg1msk1mb8ic128ih28oc128kh3ph1, BACKWARD_OFFSET_MASK, DeformableFamily",
            "dg1msk1mb8ic128ih28oc128kh3ph1, BACKWARD_BIAS, ChannelSumFamily",
            "mb8ic64ih56oc64kh3ph1, BACKWARD_BIAS, ChannelSumFamily",
    })
    void thePlanPicksTheFamily(String line, Pass pass, String family) {
        assertEquals(family, CpuBackend.family(CpuAlgorithms.choose(ConvSpec.parse(line), pass)).getClass().getSimpleName());
    }

    @ParameterizedTest
    @CsvSource({"mb8ic64ih56oc64kh3ph1", "g256mb8ic256ih28oc256kh3ph1", "mb8ic256ih14oc256kh1", "tr1mb8ic64ih28oc32kh4sh2ph1"})
    void theOffsetGradientIsDeclinedByEveryStandardFamily(String line) {
        try (ConvBackend b = new CpuBackendProvider(1).open(0)) {
            Support s = b.supports(ConvSpec.parse(line), Pass.BACKWARD_OFFSET_MASK, DType.FP32);
            assertFalse(s.supported());
            assertTrue(s.reason().contains("deformable convolution only"), s.reason());
        }
    }

    /** A transposed pass runs on the convolution view: forward is the view's backward data reading x into y, and so on. */
    @Test
    void aTransposedPassMapsOntoTheViewsAdjointPass() {
        ConvSpec tr = ConvSpec.parse("tr1mb2ic4ih5oc6kh3");
        ViewPass fwd = ViewPass.of(tr, Pass.FORWARD);
        assertEquals(ViewPass.Kind.BACKWARD_DATA, fwd.kind);
        assertEquals(List.of(io.github.jconv.Role.X, io.github.jconv.Role.W, io.github.jconv.Role.B, io.github.jconv.Role.Y),
                List.of(fwd.data, fwd.operand, fwd.bias, fwd.result));
        ViewPass bd = ViewPass.of(tr, Pass.BACKWARD_DATA);
        assertEquals(ViewPass.Kind.FORWARD, bd.kind);
        assertNull(bd.bias);
        ViewPass bw = ViewPass.of(tr, Pass.BACKWARD_WEIGHT);
        assertEquals(List.of(io.github.jconv.Role.DY, io.github.jconv.Role.X, io.github.jconv.Role.DW), List.of(bw.data, bw.operand, bw.result));
        ViewPass conv = ViewPass.of(ConvSpec.parse("mb2ic4ih5oc6kh3"), Pass.BACKWARD_WEIGHT);
        assertEquals(List.of(io.github.jconv.Role.X, io.github.jconv.Role.DY, io.github.jconv.Role.DW), List.of(conv.data, conv.operand, conv.result));
        assertInstanceOf(UnsupportedOperationException.class, org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> ViewPass.of(tr, Pass.BACKWARD_OFFSET_MASK)));
    }
}
