package io.github.jconv.spi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FP16 and BF16 conversions against IEEE 754 bit patterns and round-to-nearest-even. */
class HalfFloatsTest {
    @ParameterizedTest(name = "{0} -> fp16 {1}")
    @CsvSource({"1.0,0x3C00", "-2.0,0xC000", "0.5,0x3800", "65504.0,0x7BFF", "65519.0,0x7BFF", "65520.0,0x7C00",
            "0.0,0x0000", "-0.0,0x8000", "6.103515625E-5,0x0400", "5.960464477539063E-8,0x0001",
            "2.9802322387695312E-8,0x0000", "4.470348358154297E-8,0x0001", "0.1,0x2E66", "1.00048828125,0x3C00",
            "1.00146484375,0x3C02", "1e10,0x7C00"})
    void floatsRoundToTheNearestEvenHalf(float f, String hex) {
        assertEquals(Integer.decode(hex).shortValue(), HalfFloats.toHalf(f));
    }

    @Test
    void everyHalfSurvivesARoundTripThroughFloat() {
        for (int h = 0; h < 0x10000; h++) {
            short s = (short) h;
            float f = HalfFloats.fromHalf(s);
            if (Float.isNaN(f)) {
                assertTrue((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0);
                assertTrue(Float.isNaN(HalfFloats.fromHalf(HalfFloats.toHalf(f))));
                continue;
            }
            // the value a half encodes, by its definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024
            int e = (h >>> 10) & 0x1f, m = h & 0x3ff;
            double v = e == 0 ? Math.scalb(m / 1024.0, -14) : e == 31 ? Double.POSITIVE_INFINITY : Math.scalb(1 + m / 1024.0, e - 15);
            if ((h & 0x8000) != 0) v = -v;
            assertEquals(v, f, 0.0, "half 0x" + Integer.toHexString(h));
            assertEquals(s, HalfFloats.toHalf(f), "half 0x" + Integer.toHexString(h));
        }
    }

    @ParameterizedTest(name = "{0} -> bf16 {1}")
    @CsvSource({"1.0,0x3F80", "-2.0,0xC000", "1.00390625,0x3F80", "1.01171875,0x3F82", "1.0078125,0x3F81",
            "3.4028235E38,0x7F80", "0.0,0x0000"})
    void floatsRoundToTheNearestEvenBfloat16(float f, String hex) {
        assertEquals(Integer.decode(hex).shortValue(), HalfFloats.toBf16(f));
    }

    @Test
    void bfloat16KeepsNanAndReadsBackTheTopSixteenBits() {
        assertTrue(Float.isNaN(HalfFloats.fromBf16(HalfFloats.toBf16(Float.NaN))));
        assertEquals(1.0078125f, HalfFloats.fromBf16((short) 0x3F81));
        assertEquals(-2f, HalfFloats.fromBf16((short) 0xC000));
    }
}
