package io.github.jconv.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-tile micro-kernels of {@link FloatVectorGemm}: an MR × NR tile of C kept in vector registers
 * across a KC block, over a packed A panel and a packed B panel (or B read in place, rows ldb apart), and
 * {@link #flush} to add or store the tile into C. Each shape is written out by hand (one local per
 * accumulator) because C2 keeps vectors in registers only when it sees every one of them; the in-place
 * variants are separate methods so that the packed ones keep their compiled shape. Loaded only when the JVM
 * has {@code jdk.incubator.vector}.
 */
final class FloatVectorKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();

    private FloatVectorKernels() {
    }

    /**
     * C[0..mr)[0..nr) (+)= the 6 x 2 vector register tile over kc steps of a packed A panel and a packed B
     * panel. The tile leaves through {@code tile} and {@link #flush}: adding it into C here made the
     * method too large for C2 to inline every vector operation (NodeCountInliningCutoff), and a vector
     * left as an object costs an allocation per call (measured 2.5x slower).
     */
    static void kernel6x2(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc,
                       int mr, int nr, boolean load, float[] tile) {
        final int nrw = 2 * VL;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z;
        FloatVector c50 = z, c51 = z;
        for (int k = 0; k < kc; k++) {
            int aq = ao + 6 * k, bq = bo + nrw * k;
            FloatVector b0 = FloatVector.fromArray(S, bp, bq);
            FloatVector b1 = FloatVector.fromArray(S, bp, bq + VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[aq + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[aq + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, VL);
        c10.intoArray(tile, 1 * nrw); c11.intoArray(tile, 1 * nrw + VL);
        c20.intoArray(tile, 2 * nrw); c21.intoArray(tile, 2 * nrw + VL);
        c30.intoArray(tile, 3 * nrw); c31.intoArray(tile, 3 * nrw + VL);
        c40.intoArray(tile, 4 * nrw); c41.intoArray(tile, 4 * nrw + VL);
        c50.intoArray(tile, 5 * nrw); c51.intoArray(tile, 5 * nrw + VL);
        flush(tile, nrw, c, co, ldc, mr, nr, load);
    }

    /**
     * {@link #kernel6x2} with B read in place: its rows ldb apart (a separate method, so that the packed
     * kernel keeps its constant panel stride: measured 3 % faster than one kernel taking the stride).
     * C[0..mr)[0..nr) (+)= the 6 x 2 vector register tile over kc steps of a packed A panel and B. The tile leaves through {@code tile} and {@link #flush}: adding it into C here made the
     * method too large for C2 to inline every vector operation (NodeCountInliningCutoff), and a vector
     * left as an object costs an allocation per call (measured 2.5x slower).
     */
    static void kernel6x2Rows(int kc, float[] ap, int ao, float[] bp, int bo, int ldb, float[] c, int co, int ldc,
                       int mr, int nr, boolean load, float[] tile) {
        final int nrw = 2 * VL;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z;
        FloatVector c10 = z, c11 = z;
        FloatVector c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z;
        FloatVector c50 = z, c51 = z;
        for (int k = 0; k < kc; k++) {
            int aq = ao + 6 * k, bq = bo + ldb * k;
            FloatVector b0 = FloatVector.fromArray(S, bp, bq);
            FloatVector b1 = FloatVector.fromArray(S, bp, bq + VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[aq + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[aq + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, VL);
        c10.intoArray(tile, 1 * nrw); c11.intoArray(tile, 1 * nrw + VL);
        c20.intoArray(tile, 2 * nrw); c21.intoArray(tile, 2 * nrw + VL);
        c30.intoArray(tile, 3 * nrw); c31.intoArray(tile, 3 * nrw + VL);
        c40.intoArray(tile, 4 * nrw); c41.intoArray(tile, 4 * nrw + VL);
        c50.intoArray(tile, 5 * nrw); c51.intoArray(tile, 5 * nrw + VL);
        flush(tile, nrw, c, co, ldc, mr, nr, load);
    }

    /**
     * C[0..mr)[0..nr) (+)= the 8 x 3 vector register tile over kc steps of a packed A panel and a packed B
     * panel. The tile leaves through {@code tile} and {@link #flush}: adding it into C here made the
     * method too large for C2 to inline every vector operation (NodeCountInliningCutoff), and a vector
     * left as an object costs an allocation per call (measured 2.5x slower).
     */
    static void kernel8x3(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc,
                       int mr, int nr, boolean load, float[] tile) {
        final int nrw = 3 * VL;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z;
        FloatVector c10 = z, c11 = z, c12 = z;
        FloatVector c20 = z, c21 = z, c22 = z;
        FloatVector c30 = z, c31 = z, c32 = z;
        FloatVector c40 = z, c41 = z, c42 = z;
        FloatVector c50 = z, c51 = z, c52 = z;
        FloatVector c60 = z, c61 = z, c62 = z;
        FloatVector c70 = z, c71 = z, c72 = z;
        for (int k = 0; k < kc; k++) {
            int aq = ao + 8 * k, bq = bo + nrw * k;
            FloatVector b0 = FloatVector.fromArray(S, bp, bq);
            FloatVector b1 = FloatVector.fromArray(S, bp, bq + VL);
            FloatVector b2 = FloatVector.fromArray(S, bp, bq + 2 * VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01); c02 = a0.fma(b2, c02);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11); c12 = a1.fma(b2, c12);
            FloatVector a2 = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21); c22 = a2.fma(b2, c22);
            FloatVector a3 = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31); c32 = a3.fma(b2, c32);
            FloatVector a4 = FloatVector.broadcast(S, ap[aq + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41); c42 = a4.fma(b2, c42);
            FloatVector a5 = FloatVector.broadcast(S, ap[aq + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51); c52 = a5.fma(b2, c52);
            FloatVector a6 = FloatVector.broadcast(S, ap[aq + 6]);
            c60 = a6.fma(b0, c60); c61 = a6.fma(b1, c61); c62 = a6.fma(b2, c62);
            FloatVector a7 = FloatVector.broadcast(S, ap[aq + 7]);
            c70 = a7.fma(b0, c70); c71 = a7.fma(b1, c71); c72 = a7.fma(b2, c72);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, VL); c02.intoArray(tile, 2 * VL);
        c10.intoArray(tile, 1 * nrw); c11.intoArray(tile, 1 * nrw + VL); c12.intoArray(tile, 1 * nrw + 2 * VL);
        c20.intoArray(tile, 2 * nrw); c21.intoArray(tile, 2 * nrw + VL); c22.intoArray(tile, 2 * nrw + 2 * VL);
        c30.intoArray(tile, 3 * nrw); c31.intoArray(tile, 3 * nrw + VL); c32.intoArray(tile, 3 * nrw + 2 * VL);
        c40.intoArray(tile, 4 * nrw); c41.intoArray(tile, 4 * nrw + VL); c42.intoArray(tile, 4 * nrw + 2 * VL);
        c50.intoArray(tile, 5 * nrw); c51.intoArray(tile, 5 * nrw + VL); c52.intoArray(tile, 5 * nrw + 2 * VL);
        c60.intoArray(tile, 6 * nrw); c61.intoArray(tile, 6 * nrw + VL); c62.intoArray(tile, 6 * nrw + 2 * VL);
        c70.intoArray(tile, 7 * nrw); c71.intoArray(tile, 7 * nrw + VL); c72.intoArray(tile, 7 * nrw + 2 * VL);
        flush(tile, nrw, c, co, ldc, mr, nr, load);
    }

    /**
     * {@link #kernel8x3} with B read in place: its rows ldb apart (a separate method, so that the packed
     * kernel keeps its constant panel stride: measured 3 % faster than one kernel taking the stride).
     * C[0..mr)[0..nr) (+)= the 8 x 3 vector register tile over kc steps of a packed A panel and B. The tile leaves through {@code tile} and {@link #flush}: adding it into C here made the
     * method too large for C2 to inline every vector operation (NodeCountInliningCutoff), and a vector
     * left as an object costs an allocation per call (measured 2.5x slower).
     */
    static void kernel8x3Rows(int kc, float[] ap, int ao, float[] bp, int bo, int ldb, float[] c, int co, int ldc,
                       int mr, int nr, boolean load, float[] tile) {
        final int nrw = 3 * VL;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z;
        FloatVector c10 = z, c11 = z, c12 = z;
        FloatVector c20 = z, c21 = z, c22 = z;
        FloatVector c30 = z, c31 = z, c32 = z;
        FloatVector c40 = z, c41 = z, c42 = z;
        FloatVector c50 = z, c51 = z, c52 = z;
        FloatVector c60 = z, c61 = z, c62 = z;
        FloatVector c70 = z, c71 = z, c72 = z;
        for (int k = 0; k < kc; k++) {
            int aq = ao + 8 * k, bq = bo + ldb * k;
            FloatVector b0 = FloatVector.fromArray(S, bp, bq);
            FloatVector b1 = FloatVector.fromArray(S, bp, bq + VL);
            FloatVector b2 = FloatVector.fromArray(S, bp, bq + 2 * VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[aq]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01); c02 = a0.fma(b2, c02);
            FloatVector a1 = FloatVector.broadcast(S, ap[aq + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11); c12 = a1.fma(b2, c12);
            FloatVector a2 = FloatVector.broadcast(S, ap[aq + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21); c22 = a2.fma(b2, c22);
            FloatVector a3 = FloatVector.broadcast(S, ap[aq + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31); c32 = a3.fma(b2, c32);
            FloatVector a4 = FloatVector.broadcast(S, ap[aq + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41); c42 = a4.fma(b2, c42);
            FloatVector a5 = FloatVector.broadcast(S, ap[aq + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51); c52 = a5.fma(b2, c52);
            FloatVector a6 = FloatVector.broadcast(S, ap[aq + 6]);
            c60 = a6.fma(b0, c60); c61 = a6.fma(b1, c61); c62 = a6.fma(b2, c62);
            FloatVector a7 = FloatVector.broadcast(S, ap[aq + 7]);
            c70 = a7.fma(b0, c70); c71 = a7.fma(b1, c71); c72 = a7.fma(b2, c72);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, VL); c02.intoArray(tile, 2 * VL);
        c10.intoArray(tile, 1 * nrw); c11.intoArray(tile, 1 * nrw + VL); c12.intoArray(tile, 1 * nrw + 2 * VL);
        c20.intoArray(tile, 2 * nrw); c21.intoArray(tile, 2 * nrw + VL); c22.intoArray(tile, 2 * nrw + 2 * VL);
        c30.intoArray(tile, 3 * nrw); c31.intoArray(tile, 3 * nrw + VL); c32.intoArray(tile, 3 * nrw + 2 * VL);
        c40.intoArray(tile, 4 * nrw); c41.intoArray(tile, 4 * nrw + VL); c42.intoArray(tile, 4 * nrw + 2 * VL);
        c50.intoArray(tile, 5 * nrw); c51.intoArray(tile, 5 * nrw + VL); c52.intoArray(tile, 5 * nrw + 2 * VL);
        c60.intoArray(tile, 6 * nrw); c61.intoArray(tile, 6 * nrw + VL); c62.intoArray(tile, 6 * nrw + 2 * VL);
        c70.intoArray(tile, 7 * nrw); c71.intoArray(tile, 7 * nrw + VL); c72.intoArray(tile, 7 * nrw + 2 * VL);
        flush(tile, nrw, c, co, ldc, mr, nr, load);
    }

    /** Adds (load) or stores the mr x nr corner of a register tile (rows nrw apart in {@code tile}) into C. */
    static void flush(float[] tile, int nrw, float[] c, int co, int ldc, int mr, int nr, boolean load) {
        if (nr == nrw) {
            for (int r = 0; r < mr; r++) {
                int o = co + r * ldc, t = r * nrw;
                for (int j = 0; j < nrw; j += VL) {
                    FloatVector v = FloatVector.fromArray(S, tile, t + j);
                    if (load) v = v.add(FloatVector.fromArray(S, c, o + j));
                    v.intoArray(c, o + j);
                }
            }
            return;
        }
        for (int r = 0; r < mr; r++) {
            int o = co + r * ldc, t = r * nrw;
            if (load) {
                for (int j = 0; j < nr; j++) c[o + j] += tile[t + j];
            } else {
                System.arraycopy(tile, t, c, o, nr);
            }
        }
    }
}
