package io.github.jconv.cpu;

/** Test access to the deformable passes' private gather (development timing). */
final class FloatDeformablePassesAccess {
    private FloatDeformablePassesAccess() {
    }

    static void gather(Geometry g, float[] x, int xBase, int c0, int c1, int len, int[] idx, float[] wt, float[] col, int colOff, Scratch s) {
        if (FloatGemm.VECTOR) FloatVectorGemm.bilinearGather(g, x, xBase, c0, c1, len, idx, wt, col, colOff, s);
        else FloatColumns.gather(g, x, xBase, c0, c1, len, idx, wt, col, colOff);
    }
}
