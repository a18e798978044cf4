package io.github.jconv.cuda;

/**
 * FP32 ↔ IEEE FP16 and FP32 ↔ BF16 bit conversions for uploads and downloads of 16-bit storage
 * buffers, rounding to nearest even (Java 17 has no Float.floatToFloat16).
 */
final class HalfFloats {
    private HalfFloats() {
    }

    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40); // NaN stays a quiet NaN
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    static short toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) return (short) (sign | 0x7e00); // NaN
        if (abs >= 0x477ff000) return (short) (sign | 0x7c00); // rounds to >= 65520: infinity
        if (abs >= 0x38800000) { // normal half
            int e = (abs >>> 23) - 127 + 15;
            int m = abs & 0x7fffff;
            int h = (e << 10) | (m >>> 13);
            int rest = m & 0x1fff;
            if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) h++;
            return (short) (sign | h);
        }
        if (abs < 0x33000000) return (short) sign; // below half the smallest subnormal: zero
        // subnormal half: value = m * 2^-24
        int e = abs >>> 23;
        int m = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - e; // bits to drop so that the result counts units of 2^-24 (14..24)
        int h = m >>> shift;
        int rest = m & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (h & 1) == 1)) h++;
        return (short) (sign | h);
    }

    static float fromHalf(short s) {
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
}
