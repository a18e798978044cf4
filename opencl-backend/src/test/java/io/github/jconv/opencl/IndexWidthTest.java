package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.Shape;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static io.github.jconv.opencl.IndexWidth.INT;
import static io.github.jconv.opencl.IndexWidth.LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The index width of a pass is a pure function of its buffers' element counts: int up to 2^31 - 1 = 2147483647
 * elements in every buffer, long from 2^31 = 2147483648 in any one. No device needed.
 */
class IndexWidthTest {
    private static final long MAX_INT = 2147483647L; // 2^31 - 1
    private static final long TWO_31 = 2147483648L; // 2^31

    /** Every buffer role of a deformable pass (the largest set) decides alone: 2^31 - 1 keeps int, 2^31 needs long. */
    @Test
    void eachBufferRoleDecidesAloneAtTheInt32Boundary() {
        ConvSpec small = ConvSpec.deformable().channels(2, 2).input(4, 4).kernel(3).mask(true).build();
        Map<String, Long> base = IndexWidth.buffers(small, 0);
        assertEquals(java.util.List.of("input", "weight", "output", "bias", "offset", "mask", "column"), java.util.List.copyOf(base.keySet()));
        assertEquals(INT, IndexWidth.of(base));
        for (String role : base.keySet()) {
            Map<String, Long> m = new LinkedHashMap<>(base);
            m.put(role, MAX_INT);
            assertEquals(INT, IndexWidth.of(m), role + " = 2^31 - 1");
            m.put(role, TWO_31);
            assertEquals(LONG, IndexWidth.of(m), role + " = 2^31");
            m.put(role, -1L);
            assertEquals(LONG, IndexWidth.of(m), role + " overflowed (-1)");
        }
    }

    /** Input [1, 2^31 - 1, 1] (2^31 - 1 is prime: one axis holds it); 1x1 kernel, 1 output channel: every other buffer small. */
    @Test
    void anInputOf2To31Elements() {
        ConvSpec atMax = ConvSpec.convolution().channels(Integer.MAX_VALUE, 1).input(1).kernel(1).build();
        assertEquals(MAX_INT, IndexWidth.buffers(atMax, 0).get("input"));
        // weight [1, 2^31 - 1, 1] is 2^31 - 1 too: still int
        assertEquals(INT, IndexWidth.of(atMax, 0));
        // input [2, 1, 2^30] = 2^31; stride 2^30 leaves output [2, 1, 1]
        ConvSpec over = ConvSpec.convolution().batch(2).channels(1, 1).input(1 << 30).kernel(1).stride(1 << 30).build();
        assertEquals(TWO_31, IndexWidth.buffers(over, 0).get("input"));
        assertEquals(2L, IndexWidth.buffers(over, 0).get("output"));
        assertEquals(LONG, IndexWidth.of(over, 0));
    }

    /** Weight [K, C, 1] = 32768 * 65536 = 2^31 with input [1, 65536, 1] and output [1, 32768, 1]. */
    @Test
    void aWeightOf2To31Elements() {
        ConvSpec s = ConvSpec.convolution().channels(65536, 32768).input(1).kernel(1).build();
        Map<String, Long> b = IndexWidth.buffers(s, 0);
        assertEquals(TWO_31, b.get("weight"));
        assertEquals(65536L, b.get("input"));
        assertEquals(LONG, IndexWidth.of(s, 0));
        ConvSpec under = ConvSpec.convolution().channels(65536, 32767).input(1).kernel(1).build();
        assertEquals(TWO_31 - 65536, IndexWidth.buffers(under, 0).get("weight"));
        assertEquals(INT, IndexWidth.of(under, 0));
    }

    /**
     * A transposed 1D convolution of input width 2, kernel 1, stride s has output width (2 - 1) * s + 1 = s + 1:
     * s = 2^31 - 2 gives an output of 2^31 - 1 (int), s = 2^30 - 1 with 2 output channels 2 * 2^30 = 2^31 (long).
     */
    @Test
    void anOutputOf2To31Elements() {
        ConvSpec atMax = ConvSpec.transposed().channels(1, 1).input(2).kernel(1).stride(Integer.MAX_VALUE - 1).build();
        assertEquals(MAX_INT, IndexWidth.buffers(atMax, 0).get("output"));
        assertEquals(INT, IndexWidth.of(atMax, 0));
        ConvSpec over = ConvSpec.transposed().channels(1, 2).input(2).kernel(1).stride((1 << 30) - 1).build();
        assertEquals(TWO_31, IndexWidth.buffers(over, 0).get("output"));
        assertEquals(2L, IndexWidth.buffers(over, 0).get("input"));
        assertEquals(LONG, IndexWidth.of(over, 0));
    }

    /**
     * Deformable, one channel, one offset group, 1x1 kernel, input 1 x W: offset [1, 2, 1, W] has 2W elements, mask and
     * input W. W = 2^30 - 1: offset 2^31 - 2 (int); W = 2^30: offset 2^31 (long) while input, output and mask are 2^30.
     */
    @Test
    void anOffsetOf2To31Elements() {
        ConvSpec under = ConvSpec.deformable().channels(1, 1).input(1, (1 << 30) - 1).kernel(1).mask(true).build();
        assertEquals(TWO_31 - 2, IndexWidth.buffers(under, 0).get("offset"));
        assertEquals(INT, IndexWidth.of(under, 0));
        ConvSpec over = ConvSpec.deformable().channels(1, 1).input(1, 1 << 30).kernel(1).mask(true).build();
        Map<String, Long> b = IndexWidth.buffers(over, 0);
        assertEquals(TWO_31, b.get("offset"));
        assertEquals(1L << 30, b.get("mask"));
        assertEquals(1L << 30, b.get("input"));
        assertEquals(LONG, IndexWidth.of(over, 0));
    }

    /** The column scratch counts like a tensor: 2^31 - 1 elements keep int, 2^31 need long, whatever the spec. */
    @Test
    void theColumnScratchCounts() {
        ConvSpec small = ConvSpec.convolution().channels(2, 2).input(5, 5).kernel(3).build();
        assertEquals(INT, IndexWidth.of(small, MAX_INT));
        assertEquals(LONG, IndexWidth.of(small, TWO_31));
    }

    /**
     * An empty batch still makes the kernels form one item's sizes (conv.cl's in_sp = D*H*W before its loop): extents
     * count each dimension as at least 1, so input [0, 1, 2^15, 2^16] counts 2^31 (long) although it holds nothing.
     */
    @Test
    void emptyDimensionsCountAsOne() {
        assertEquals(TWO_31, IndexWidth.extent(Shape.of(0, 1, 1 << 15, 1 << 16)));
        assertEquals(6L, IndexWidth.extent(Shape.of(0, 2, 3)));
        // an empty shape whose non-zero dimensions overflow a long: -1, which chooses long
        assertEquals(-1L, IndexWidth.extent(Shape.of(0, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE)));
    }

    @Test
    void theDefineNamesTheOpenClType() {
        assertEquals("-DIDX=int", INT.define());
        assertEquals("-DIDX=long", LONG.define());
    }
}
