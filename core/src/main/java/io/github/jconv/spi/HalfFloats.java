package io.github.jconv.spi;

/**
 * IEEE 754 binary16 (FP16) and bfloat16 (BF16) bit conversions for host transfers of 16-bit storage
 * buffers (Java 17 has no {@code Float.floatToFloat16}). Rounding is to nearest with ties to even, as
 * {@code vstore_half} and CUDA's {@code __float2half_rn} do; a double converts to FP16 directly (not through
 * float, which could round twice); FP16 and BF16 to float or double are exact. NaN stays a quiet NaN.
 */
public final class HalfFloats {
    private HalfFloats() {
    }

    /** The FP16 nearest {@code d} (ties to even); from 65520 up it is infinite. */
    public static short toHalf(double d) {
        long bits = Double.doubleToRawLongBits(d);
        int sign = (int) (bits >>> 48) & 0x8000;
        if (Double.isNaN(d)) return (short) (sign | 0x7e00);
        double a = Math.abs(d);
        // 65520 is halfway between the largest half, 65504, and 65536 (the next step, infinite); ties go to the even 65536.
        if (a >= 65520) return (short) (sign | 0x7c00);
        int h;
        if (a < 0x1p-14) {
            // subnormal (or zero): a multiple of 2^-24; scaling by 2^24 is exact, rint rounds half to even.
            // A result of 1024 is the smallest normal, whose bits are exactly 1024.
            h = (int) Math.rint(a * 0x1p24);
        } else {
            int e = Math.getExponent(a); // -14..15
            // the significand scaled to [1024, 2048); a carry to 2048 moves into the exponent field by itself
            int m = (int) Math.rint(Math.scalb(a, 10 - e));
            h = ((e + 15) << 10) + (m - 1024);
        }
        return (short) (sign | h);
    }

    /** The FP16 nearest {@code f} (a float widens to double exactly, so this rounds once). */
    public static short toHalf(float f) {
        return toHalf((double) f);
    }

    /** The value of FP16 bits {@code h}, exact. */
    public static double halfToDouble(short h) {
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        double v;
        if (e == 0) {
            v = m * 0x1p-24;
        } else if (e == 31) {
            v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            v = Math.scalb((double) (1024 + m), e - 25);
        }
        return (h & 0x8000) != 0 ? -v : v;
    }

    /** The value of FP16 bits {@code s} as a float, exact (a NaN keeps its sign and payload). */
    public static float fromHalf(short s) {
        int h = s & 0xffff;
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        if (e == 0) {
            float v = m * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }

    /** The BF16 nearest {@code f} (ties to even). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40); // NaN stays a quiet NaN
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /**
     * The BF16 nearest {@code d} (ties to even), rounded once: the step to float rounds to odd (toward zero,
     * then the last bit set when anything was dropped), which keeps a value just above or below a BF16 tie from
     * looking like the tie; float has 16 more significand bits than BF16, so the second rounding is then exact.
     */
    public static short toBf16(double d) {
        float f = (float) d;
        if (!Double.isNaN(d) && !Float.isInfinite(f) && (double) f != d) {
            int bits = Float.floatToRawIntBits(f);
            if (Math.abs((double) f) > Math.abs(d)) bits -= 1; // one step toward zero (bits are sign and magnitude)
            f = Float.intBitsToFloat(bits | 1);
        }
        return toBf16(f);
    }

    /** The value of BF16 bits {@code h}, exact. */
    public static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}
