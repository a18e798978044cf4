package io.github.jconv.conformance;

/** How a backend multiplies and accumulates; picks the row of the {@link Tolerance} table. */
public enum MathMode {
    /** Products and sums in the storage type (FP32 or FP64), no reduced-precision inputs. */
    EXACT,
    /** FP32 storage, inputs rounded to TF32 (10-bit mantissa) for the products, FP32 accumulation. */
    TF32,
    /** FP16 storage, FP32 accumulation. */
    FP16,
    /** BF16 storage, FP32 accumulation. */
    BF16
}
