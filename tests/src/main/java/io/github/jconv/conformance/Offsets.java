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
    ZERO
}
