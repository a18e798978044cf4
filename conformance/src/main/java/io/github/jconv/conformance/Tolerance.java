package io.github.jconv.conformance;

import io.github.jconv.DType;

/**
 * The one tolerance table of jconv. An element passes when
 * {@code |got − ref| ≤ rel · magnitude}, where magnitude is the sum of the absolute values of the
 * terms summed into that element (from {@link Reference}), so the bound holds for every summation
 * order, and an element with no terms must come out exactly zero.
 *
 * <pre>
 * dtype  math mode   u_in (input rounding)  u_acc (accumulation)  rel
 * FP64   EXACT       0                      2^-53                 u_acc·(8·√K + 32)
 * FP32   EXACT       0                      2^-24                 u_acc·(8·√K + 32)
 * FP32   TF32        2^-11                  2^-24                 2·u_in + u_acc·(8·√K + 32)
 * FP16   FP16        2^-11                  2^-24                 3·u_in + u_acc·(8·√K + 32)
 * BF16   BF16        2^-8                   2^-24                 3·u_in + u_acc·(8·√K + 32)
 * </pre>
 * K is the reduction length ({@link Reference#reductionLength}). Input rounding costs at most
 * 2·u_in per product (both factors rounded) plus u_in for storing a 16-bit result. The √K term
 * assumes zero-mean data (as {@link ProblemData} draws); the constants leave room for blocked,
 * pairwise and Winograd-style summation without admitting a wrong index (which errs by O(1)).
 * Deformable convolution adds {@code u·(|position| + 2)} for the sampling position computed in the
 * storage type ({@link #withSamplingPosition}). FP16 adds an absolute floor for its subnormal range
 * ({@link #absoluteFloor}).
 */
public record Tolerance(DType dtype, MathMode mode, long reductionLength, double rel) {
    private static final double U_FP64 = 0x1p-53;
    private static final double U_FP32 = 0x1p-24;

    public static Tolerance of(DType dtype, MathMode mode, long reductionLength) {
        if (dtype == null) throw new IllegalArgumentException("dtype = null: choose one, e.g. DType.FP32");
        if (mode == null) throw new IllegalArgumentException("mode = null: choose one, e.g. MathMode.EXACT");
        if (reductionLength < 1) {
            throw new IllegalArgumentException("reductionLength = " + reductionLength + ": must be at least 1, e.g. 9");
        }
        double sqrtK = Math.sqrt((double) reductionLength);
        double acc = (dtype == DType.FP64 ? U_FP64 : U_FP32) * (8 * sqrtK + 32);
        double in = switch (mode) {
            case EXACT -> {
                if (dtype != DType.FP32 && dtype != DType.FP64) throw mismatch(dtype, mode, "FP16 or BF16");
                yield 0;
            }
            case TF32 -> {
                if (dtype != DType.FP32) throw mismatch(dtype, mode, "TF32");
                yield 2 * 0x1p-11;
            }
            case FP16 -> {
                if (dtype != DType.FP16) throw mismatch(dtype, mode, "FP16");
                yield 3 * 0x1p-11;
            }
            case BF16 -> {
                if (dtype != DType.BF16) throw mismatch(dtype, mode, "BF16");
                yield 3 * 0x1p-8;
            }
        };
        return new Tolerance(dtype, mode, reductionLength, in + acc);
    }

    /** The mode that goes with a dtype when nothing else is said: EXACT for FP32/FP64, FP16, BF16. */
    public static MathMode defaultMode(DType dtype) {
        return switch (dtype) {
            case FP32, FP64 -> MathMode.EXACT;
            case FP16 -> MathMode.FP16;
            case BF16 -> MathMode.BF16;
        };
    }

    /** Unit roundoff of the type the backend computes sampling positions in. */
    public double unitRoundoff() {
        return switch (dtype) {
            case FP64 -> U_FP64;
            case FP32 -> U_FP32;
            case FP16 -> 0x1p-11;
            case BF16 -> 0x1p-8;
        };
    }

    /** Deformable: a sampling position up to {@code maxAbsPosition} computed in the storage type. */
    public Tolerance withSamplingPosition(double maxAbsPosition) {
        return new Tolerance(dtype, mode, reductionLength, rel + unitRoundoff() * (Math.abs(maxAbsPosition) + 2));
    }

    /** The largest error allowed for an element of this magnitude (exactly zero for an element with no terms). */
    public double bound(double magnitude) {
        return magnitude == 0 ? 0 : rel * magnitude + absoluteFloor();
    }

    /**
     * FP16 only: below 2^-14 half is subnormal and its rounding error is absolute, up to 2^-25 (half its step 2^-24),
     * which no relative bound covers. For operands of magnitude at most 1 ({@link ProblemData} draws [-1, 1)) each
     * of K products costs at most 2 · 2^-25 (x rounded, times |w| <= 1, and w rounded, times |x| <= 1) and storing
     * the result 2^-25 more: (2K + 1) · 2^-25. BF16's subnormals (below 2^-126) and the other types add nothing.
     */
    public double absoluteFloor() {
        return dtype == DType.FP16 ? 0x1p-25 * (2.0 * reductionLength + 1) : 0;
    }

    private static IllegalArgumentException mismatch(DType dtype, MathMode mode, String want) {
        return new IllegalArgumentException("mode = " + mode + ": does not go with dtype " + dtype
                + "; use the mode of the dtype (" + defaultMode(dtype) + ") or a dtype for " + want);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s/%s K=%d rel=%.3g", dtype, mode, reductionLength, rel);
    }
}
