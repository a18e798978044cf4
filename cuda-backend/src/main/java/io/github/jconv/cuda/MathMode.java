package io.github.jconv.cuda;

import java.util.Locale;

/** How FP32 convolutions may round. FP16 and BF16 always use tensor cores with FP32 accumulation. */
public enum MathMode {
    /** FP32 exact: FMA kernels only, no TF32 (the default). */
    FP32,
    /** TF32 tensor cores for FP32 data (10-bit mantissa products, FP32 accumulation): opt-in. */
    TF32;

    static MathMode parse(String s) {
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("jconv.cuda.math = " + s + ": must be fp32 or tf32; e.g. fp32");
        }
    }
}
