package io.github.jconv.opencl.tune;

/**
 * The problem classes the tuner keeps a winner for, from a GEMM's sizes (C is M x N, summed over K):
 * NARROW when one side of C is under 64 (few channels per group, small batches of small images), DEEP when
 * K exceeds four times both sides (weight gradients: the sum runs over batch and positions), WIDE otherwise.
 */
public enum GemmClass {
    WIDE(256, 4096, 576, 128, 1024, 288),
    NARROW(32, 8192, 288, 32, 2048, 144),
    DEEP(64, 576, 16384, 64, 288, 4096);

    private final int[] gpu;
    private final int[] cpu;

    GemmClass(int gm, int gn, int gk, int cm, int cn, int ck) {
        this.gpu = new int[] {gm, gn, gk};
        this.cpu = new int[] {cm, cn, ck};
    }

    /** The class of an M x N x K GEMM. */
    public static GemmClass of(long m, long n, long k) {
        if (Math.min(m, n) < 64) return NARROW;
        if (k > 4 * m && k > 4 * n) return DEEP;
        return WIDE;
    }

    /** The lower-case name used in the database and on the command line. */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** A shape {M, N, K} of this class to time when the user names no problems: larger on GPUs than on CPUs. */
    public int[] representative(boolean gpu) {
        int[] s = gpu ? this.gpu : cpu;
        if (of(s[0], s[1], s[2]) != this) throw new AssertionError(this + " representative " + java.util.Arrays.toString(s));
        return s.clone();
    }
}
