package io.github.jconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code paddingSame()} is PyTorch's padding='same': total dilation·(kernel−1) per axis, ⌊total/2⌋ on the
 * low side, the rest on the high side; stride 1 only; plain convolution only.
 */
class PaddingSameTest {

    @ParameterizedTest(name = "input {0}, kernel {1}, dilation {2}: padding ({3}, {4})")
    @CsvSource({
        "7, 3, 1, 1, 1",    // total 2
        "7, 4, 1, 1, 2",    // total 3: the extra one goes to the high side
        "9, 3, 2, 2, 2",    // total 4
        "9, 2, 3, 1, 2",    // total 3
        "5, 1, 1, 0, 0",    // total 0
        "1, 6, 1, 2, 3",    // total 5: a kernel larger than the input is fine once padded
    })
    void perSidePaddingFollowsPyTorch(int i, int k, int d, int lo, int hi) {
        ConvSpec s = ConvSpec.convolution().channels(2, 2).input(i).kernel(k).dilation(d).paddingSame().build();
        assertEquals(lo, s.paddingLo(0));
        assertEquals(hi, s.paddingHi(0));
        assertEquals(i, s.output(0));
    }

    @Test
    void everyAxisKeepsItsSizeIn3D() {
        ConvSpec s = ConvSpec.convolution().channels(4, 8).groups(2).input(5, 6, 7).kernel(2, 3, 4).dilation(1, 2, 1)
                .paddingSame().build();
        // totals 1, 4, 3
        assertArrayEquals(new int[] {0, 2, 1}, s.paddingLo());
        assertArrayEquals(new int[] {1, 2, 2}, s.paddingHi());
        assertArrayEquals(new int[] {5, 6, 7}, s.output());
        // the spec keeps the per-side values: its line and a new input keep the size at stride 1
        assertEquals(s, ConvSpec.parse(s.toString()));
        assertArrayEquals(new int[] {9, 10, 11}, s.withInput(Shape.of(1, 4, 9, 10, 11)).output());
    }

    @Test
    void stridedSameIsRefusedAsInPyTorch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.convolution().channels(1, 1).input(8, 8).kernel(3).stride(1, 2).paddingSame().build());
        assertTrue(e.getMessage().contains("padding = same: not supported for strided convolutions (stride = [1, 2])"), e::getMessage);
        assertTrue(e.getMessage().contains("e.g. stride(1)"), e::getMessage);
        assertTrue(e.getMessage().contains("paddingLo(1, 1).paddingHi(1, 1)"), e::getMessage);
    }

    @Test
    void transposedSameIsRefusedWithValuesThatGiveStrideTimesInput() {
        // kernel 4, stride 2: P = 4 − 2 = 2 -> (1, 1), op 0: 2·(7−1) − 2 + 4 = 14 = 2·7
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.transposed().channels(1, 1).input(7).kernel(4).stride(2).paddingSame().build());
        assertTrue(e.getMessage().contains("transposed convolution has no 'same' padding"), e::getMessage);
        assertTrue(e.getMessage().contains("paddingLo(1).paddingHi(1).outputPadding(0)"), e::getMessage);
        // kernel 1, stride 3: P = 0, op = 2: 3·(5−1) + 1 + 2 = 15 = 3·5
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.transposed().channels(1, 1).input(5).kernel(1).stride(3).paddingSame().build());
        assertTrue(f.getMessage().contains("paddingLo(0).paddingHi(0).outputPadding(2)"), f::getMessage);
    }

    @Test
    void deformableSameIsRefusedWithTheExplicitValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.deformable().channels(1, 1).input(8, 8).kernel(4, 3).paddingSame().build());
        assertTrue(e.getMessage().contains("deformable convolution has no 'same' padding"), e::getMessage);
        assertTrue(e.getMessage().contains("paddingLo(1, 1).paddingHi(2, 1)"), e::getMessage);
    }

    @Test
    void theLastPaddingCallWins() {
        ConvSpec explicit = ConvSpec.convolution().channels(1, 1).input(8).kernel(3).paddingSame().padding(2).build();
        assertEquals(2, explicit.paddingLo(0));
        assertEquals(10, explicit.output(0));  // 8 + 2 + 2 − 3 + 1
        ConvSpec same = ConvSpec.convolution().channels(1, 1).input(8).kernel(4).padding(2).paddingSame().build();
        assertEquals(1, same.paddingLo(0));
        assertEquals(2, same.paddingHi(0));
        ConvSpec lowOnly = ConvSpec.convolution().channels(1, 1).input(8).kernel(3).paddingSame().paddingLo(1).build();
        assertEquals(1, lowOnly.paddingLo(0));
        assertEquals(0, lowOnly.paddingHi(0));
    }

    @Test
    void badValuesUnderSameAreStillNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.convolution().channels(1, 1).input(8).kernel(0).paddingSame().build());
        assertTrue(e.getMessage().contains("kernel = 0"), e::getMessage);
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> ConvSpec.convolution().channels(1, 1).input(8).paddingSame().build());
        assertTrue(f.getMessage().contains("kernel = null"), f::getMessage);
    }
}
