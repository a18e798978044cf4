package io.github.jconv;

import io.github.jconv.analysis.LayerCost;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A batch of 0 is a valid problem, as in PyTorch: empty input and output, the same weights. */
class BatchZeroTest {

    @Test
    void theProblemLineAcceptsMbZero() {
        ConvSpec s = ConvSpec.parse("mb0ic3ih8oc4kh3");
        assertEquals(0, s.batch());
        // 8 − 3 + 1 = 6
        assertEquals(Shape.of(0, 3, 8, 8), s.inputShape());
        assertEquals(Shape.of(0, 4, 6, 6), s.outputShape());
        assertEquals(0, s.inputShape().elementCount());
        assertEquals(0, s.outputShape().elementCount());
        assertEquals(Shape.of(4, 3, 3, 3), s.weightShape());
        assertEquals(0, s.forwardFlops());
        assertEquals(4 * 3 * 9 + 4, s.parameterCount());
        assertEquals("g1mb0ic3ih8iw8oc4kh3kw3", s.toString());
        assertEquals(s, ConvSpec.parse(s.toString()));
        LayerCost c = LayerCost.of(s);
        assertEquals(0, c.forwardFlops());
        assertEquals(0, c.trainingFlops());
        assertEquals(108, c.weights());
    }

    @Test
    void everyOperationAcceptsBatchZero() {
        // transposed: 2·(5 − 1) − 2 + 3 + 1 = 10
        ConvSpec t = ConvSpec.transposed().batch(0).channels(4, 6).groups(2).input(5).kernel(3).stride(2).padding(1)
                .outputPadding(1).build();
        assertEquals(Shape.of(0, 6, 10), t.outputShape());
        assertEquals(Shape.of(4, 3, 3), t.weightShape());
        assertEquals(0, t.forwardFlops());
        // deformable: 8 − 3 + 1 = 6 outputs per axis, offsets 2·1·9 = 18 channels, mask 9
        ConvSpec d = ConvSpec.parse("dg1msk1mb0ic4ih8oc4kh3");
        assertEquals(Shape.of(0, 18, 6, 6), d.offsetShape());
        assertEquals(Shape.of(0, 9, 6, 6), d.maskShape());
        assertEquals(ConvSpec.parse("mb5ic3id4ih5iw6oc2kd3kh3kw3").toBuilder().batch(0).build(),
                ConvSpec.parse("mb0ic3id4ih5iw6oc2kd3kh3kw3"));
        assertEquals(0, ConvSpec.parse("mb8ic3ih8oc4kh3").withInput(Shape.of(0, 3, 9, 9)).batch());
    }

    @Test
    void batchZeroHidesNoOversizedSample() {
        // one sample of 2^31−1 channels of (2^31−1)² positions overflows a long: refused even with no samples
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.parse("mb0ic2147483647ih2147483647iw2147483647oc1kh1"));
        assertTrue(e.getMessage().contains("input shape [0, 2147483647, 2147483647, 2147483647]"), e::getMessage);
        assertTrue(e.getMessage().contains("even for one sample"), e::getMessage);
        // one sample's FLOPs: 6·2^16·2^20·2^16 fits, 2^30 channels out does not (6·2^30·2^20·2^16 > 2^63)
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.parse("mb0ic65536ih1024oc1073741824kh1"));
        assertTrue(f.getMessage().contains("forward FLOPs"), f::getMessage);
    }

    @Test
    void shapesMayBeEmptyButNotNegative() {
        assertEquals(0, Shape.of(0, 3).elementCount());
        // a zero dimension empties the tensor whatever the others are
        assertEquals(0, Shape.of(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, 0).elementCount());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -1));
        assertTrue(e.getMessage().contains("dimension 1 is -1"), e::getMessage);
        assertTrue(e.getMessage().contains("non-negative"), e::getMessage);
        assertThrows(IllegalArgumentException.class, () -> ConvSpec.convolution().batch(-1).channels(1, 1).input(3).kernel(1).build());
    }
}
