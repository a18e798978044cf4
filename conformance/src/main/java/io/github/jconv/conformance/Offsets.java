package io.github.jconv.conformance;

/** How a deformable problem's offsets (and mask) are drawn. */
public enum Offsets {
    /**
     * N(0, 2²) per element (PROBLEMS.md's D1), with the fractional part kept at least 0.01 away from
     * an integer so that an FP32 sampling position never lands in another bilinear cell than FP64's.
     */
    NORMAL,
    /** Half of the offsets as NORMAL, half far beyond the border (more than the input size away). */
    FAR,
    /** All zero; the mask (v2) is 1: the case that must equal plain convolution. */
    ZERO,
    /**
     * Integers in [−3, 3], each moved by nothing or by a tiny amount (±2⁻²⁴ to ±10⁻³, a quarter each
     * way): sampling points on and next to cell borders and the image border (−1, 0, H−1, H), where
     * an FP32 position computed as base + offset would lose the fraction or change cell.
     */
    NEAR_INTEGER
}
