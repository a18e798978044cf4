package io.github.jconv.opencl;

/**
 * IEEE 754 binary16 (half) conversions for FP16 buffers on the host. A double converts straight to half
 * (not through float, which could round twice), rounding to nearest with ties to even like vstore_half;
 * half to float or double is exact.
 */
final class Halfs {
    private Halfs() {
    }

    /** The half nearest {@code d} (ties to even); beyond 65504 + 16 it is infinite, NaN stays NaN (quiet). */
    static short toHalf(double d) {
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

    /** The value of half bits {@code h}, exact. */
    static double fromHalf(short h) {
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
}
