package io.github.jconv;

/** Element types. FP16 and BF16 are storage types: arithmetic accumulates in FP32. */
public enum DType {
    FP32(4), FP64(8), FP16(2), BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
