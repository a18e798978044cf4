package io.github.jconv;

/** The operation families. Grouped, depthwise and dilated are options of each. */
public enum ConvType {
    /** y = x ⋆ w (+ b). */
    CONVOLUTION,
    /** The adjoint of convolution (often called deconvolution), with output_padding. */
    TRANSPOSED,
    /** Deformable convolution: v1 (offsets) or v2 (offsets and a modulation mask). 2D only. */
    DEFORMABLE
}
