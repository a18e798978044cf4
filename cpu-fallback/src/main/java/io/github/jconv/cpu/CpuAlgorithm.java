package io.github.jconv.cpu;

/** The ways the CPU backend computes a pass; {@link CpuAlgorithms#choose} picks one per spec and pass. */
public enum CpuAlgorithm {
    /** One channel per group: loops over the kernel taps, no column matrix. */
    DIRECT_DEPTHWISE("direct-depthwise"),
    /** 1×1, unit stride, unpadded: the input is the column matrix, one GEMM. */
    POINTWISE_GEMM("pointwise-gemm"),
    /** im2col/vol2col into a bounded column tile, then GEMM (backward data: GEMM, then col2im). */
    IM2COL_GEMM("im2col+gemm"),
    /**
     * Unit stride with the Vector API ({@link ImplicitGemm#applies}): the GEMM reads the input rows in place, staged
     * once per task with their padding, at one shift per column-matrix row; no column matrix. Forward, the
     * flipped-kernel gather of backward data, and the weight gradient.
     */
    IMPLICIT_GEMM("implicit-gemm"),
    /** A strided, dense scatter pass split by output phase into unit-stride gathers (im2col + GEMM each). */
    PHASE_GEMM("phase-split im2col+gemm"),
    /** Scatter passes otherwise (dilated and strided): GEMM into columns, then col2im adds them onto the image. */
    GEMM_COL2IM("gemm+col2im"),
    /** Deformable: bilinear sampling into columns (and back), then GEMM. */
    DEFORMABLE_IM2COL_GEMM("deformable-im2col+gemm"),
    /** Bias gradient: a sum over batch and space per channel. */
    CHANNEL_SUM("channel-sum");

    private final String label;

    CpuAlgorithm(String label) {
        this.label = label;
    }

    /** The name reported by {@code lastAlgorithm()}. */
    public String label() {
        return label;
    }
}
