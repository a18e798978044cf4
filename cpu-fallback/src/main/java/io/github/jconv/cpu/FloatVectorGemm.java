package io.github.jconv.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The FP32 GEMM of {@link FloatGemm} on the Vector API, in the BLIS manner: B is packed KC × NC at a
 * time into NR-wide column panels, A MC × KC at a time into MR-high row panels, and an MR × NR tile of C
 * is kept in registers across each KC block. Loaded only when the JVM has {@code jdk.incubator.vector}
 * ({@link VectorSupport}); same contract as FloatGemm.
 *
 * <p>The register tile is chosen once, from the preferred species: 6 rows × 2 vectors (12 accumulators,
 * 2 B vectors and 1 broadcast: 15 of AVX2's 16 registers) where the machine has 16 vector registers,
 * 8 rows × 3 vectors (24 + 3 + 1 of 32) where it has 32 (AVX-512, AArch64).
 * {@code -Djconv.cpu.gemmTile=6x2|8x3} overrides the choice. The blocking comes from the cache sizes
 * ({@link CacheSizes}): a B micro-panel (KC × NR) fills half of L1, the packed A block (MC × KC) half of
 * L2, the packed B block (KC × NC) a quarter of L3, within fixed bounds so that scratch stays bounded.
 *
 * <p>Each call is single-threaded and its summation order depends only on the sizes and the blocking,
 * never on the thread count: every element of C is its KC blocks' register sums added in K order.
 */
final class FloatVectorGemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /** Rows and vectors of the register tile in use. */
    static final int MR, NV;
    /** Columns of the register tile: NV vectors. */
    static final int NR;
    /** Depth of a packed block. */
    static final int KC;
    /** Rows of a packed A block (a multiple of MR). */
    static final int MC;
    /** Columns of a packed B block (a multiple of NR). */
    static final int NC;

    static {
        String forced = System.getProperty("jconv.cpu.gemmTile", "");
        boolean wide;
        if (forced.equals("6x2")) wide = false;
        else if (forced.equals("8x3")) wide = true;
        else wide = S.vectorBitSize() >= 512 || System.getProperty("os.arch", "").equals("aarch64");
        MR = wide ? 8 : 6;
        NV = wide ? 3 : 2;
        NR = NV * VL;
        KC = CacheSizes.kc(NR, Float.BYTES, CacheSizes.L1);
        MC = CacheSizes.mc(MR, KC, Float.BYTES, CacheSizes.L2);
        NC = CacheSizes.nc(NR, KC, Float.BYTES, CacheSizes.L3);
    }

    private FloatVectorGemm() {
    }

    static void gemm(int m, int n, int kk,
                     float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int bRs, int bCs,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        gemm(MR, NV, KC, MC, NC, m, n, kk, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, s);
    }

    /** The GEMM with an explicit tile (6×2 or 8×3) and blocking: tests run both tiles on any machine. */
    static void gemm(int mr, int nv, int kcMax, int mcMax, int ncMax, int m, int n, int kk,
                     float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int bRs, int bCs,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        run(mr, nv, kcMax, mcMax, ncMax, m, n, kk, a, aOff, aRs, aCs, b, bOff, bRs, bCs, !ALWAYS_PACK_B, null, 0, c, cOff, ldc, accumulate, s);
    }

    /** {@link #gemm} with B always packed, never read in place (for the tests: both ways give the same bits). */
    static void gemmPackedB(int mr, int nv, int kcMax, int mcMax, int ncMax, int m, int n, int kk,
                            float[] a, int aOff, int aRs, int aCs,
                            float[] b, int bOff, int bRs, int bCs,
                            float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        run(mr, nv, kcMax, mcMax, ncMax, m, n, kk, a, aOff, aRs, aCs, b, bOff, bRs, bCs, false, null, 0, c, cOff, ldc, accumulate, s);
    }

    /** Floats that {@link #prepackA} writes for an m × kk A: m rounded up to whole MR-row panels, times kk. */
    static int packedASize(int m, int kk) {
        return (m + MR - 1) / MR * MR * kk;
    }

    /**
     * A packed once for several GEMMs with the machine's tile and blocking: K block by K block, M block by M block,
     * the panels {@link #gemm} would pack (block (pc, ic) at dstOff + pc · mPad + ic · kc, mPad = m rounded up to
     * MR). The forward pass packs its weights so once per call instead of once per column tile.
     */
    static void prepackA(int m, int kk, float[] a, int aOff, int aRs, int aCs, float[] dst, int dstOff) {
        int kBlocks = (kk + KC - 1) / KC, kcb = (kk + kBlocks - 1) / kBlocks;
        int mPad = (m + MR - 1) / MR * MR, mcb = Math.min(MC, mPad);
        for (int pc = 0; pc < kk; pc += kcb) {
            int kc = Math.min(kcb, kk - pc);
            for (int ic = 0; ic < m; ic += mcb) {
                packA(MR, Math.min(mcb, m - ic), kc, a, aOff + ic * aRs + pc * aCs, aRs, aCs, dst, dstOff + pc * mPad + ic * kc);
            }
        }
    }

    /** {@link #gemm} (machine tile and blocking) with A already packed by {@link #prepackA} at {@code apOff}. */
    static void gemmPrepackedA(int m, int n, int kk, float[] ap, int apOff,
                               float[] b, int bOff, int bRs, int bCs,
                               float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        run(MR, NV, KC, MC, NC, m, n, kk, null, 0, 0, 0, b, bOff, bRs, bCs, !ALWAYS_PACK_B, ap, apOff, c, cOff, ldc, accumulate, s);
    }

    /**
     * The blocked loops; {@code inPlace}: B may be read where it is ({@link #directStride}); {@code apre} not null:
     * A comes packed (layout of {@link #prepackA}) and {@code a} is not read.
     */
    private static void run(int mr, int nv, int kcMax, int mcMax, int ncMax, int m, int n, int kk,
                            float[] a, int aOff, int aRs, int aCs,
                            float[] b, int bOff, int bRs, int bCs, boolean inPlace, float[] apre, int apreOff,
                            float[] c, int cOff, int ldc, boolean accumulate, Scratch s) {
        if (m == 0 || n == 0) return;
        if (kk == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0);
            return;
        }
        int nr = nv * VL;
        // K is cut into equal blocks (not KC, KC, ..., remainder) so that no block is needlessly short.
        int kBlocks = (kk + kcMax - 1) / kcMax;
        int kcb = (kk + kBlocks - 1) / kBlocks;
        int mcb = Math.min(mcMax, (m + mr - 1) / mr * mr);
        int ncb = Math.min(ncMax, (n + nr - 1) / nr * nr);
        int mPad = (m + mr - 1) / mr * mr;
        float[] ap = apre != null ? apre : s.floats(Scratch.GEMM_A, mcb * kcb);
        // B is read in place (rows bRs apart) where its rows are contiguous and their stride cannot map a
        // micro-panel's rows onto a few cache sets; else packed. Either way the kernel reads it row by row, ldb
        // apart, in the same order, so the sums are the same bits.
        boolean direct = inPlace && bCs == 1 && directStride(bRs, nr);
        float[] bp = s.floats(Scratch.GEMM_B, kcb * (direct ? nr : ncb));
        float[] tile = s.floats(Scratch.GEMM_TILE, mr * nr);
        for (int jc = 0; jc < n; jc += ncb) {
            int nc = Math.min(ncb, n - jc);
            for (int pc = 0; pc < kk; pc += kcb) {
                int kc = Math.min(kcb, kk - pc);
                boolean load = accumulate || pc > 0;
                // In place, only a last, narrower panel is packed (reading a full row past n could leave the array).
                if (!direct) packB(nr, kc, nc, b, bOff + pc * bRs + jc * bCs, bRs, bCs, bp);
                int nFull = direct ? nc - nc % nr : nc;
                if (direct && nFull < nc) packB(nr, kc, nc - nFull, b, bOff + pc * bRs + jc + nFull, bRs, 1, bp);
                for (int ic = 0; ic < m; ic += mcb) {
                    int mc = Math.min(mcb, m - ic);
                    int ao = 0;
                    if (apre == null) {
                        packA(mr, mc, kc, a, aOff + ic * aRs + pc * aCs, aRs, aCs, ap);
                    } else {
                        ao = apreOff + pc * mPad + ic * kc;
                    }
                    for (int jr = 0; jr < nc; jr += nr) {
                        int nw = Math.min(nr, nc - jr);
                        int co = cOff + ic * ldc + jc + jr;
                        float[] bb;
                        int bo, ldb;
                        if (!direct) {
                            bb = bp; bo = jr * kc; ldb = nr;
                        } else if (jr < nFull) {
                            bb = b; bo = bOff + pc * bRs + jc + jr; ldb = bRs;
                        } else {
                            bb = bp; bo = 0; ldb = nr;
                        }
                        for (int ir = 0; ir < mc; ir += mr) {
                            int mh = Math.min(mr, mc - ir);
                            if (ldb != nr) {
                                if (mr == 8) {
                                    FloatVectorKernels.kernel8x3Rows(kc, ap, ao + ir * kc, bb, bo, ldb, c, co + ir * ldc, ldc, mh, nw, load, tile);
                                } else {
                                    FloatVectorKernels.kernel6x2Rows(kc, ap, ao + ir * kc, bb, bo, ldb, c, co + ir * ldc, ldc, mh, nw, load, tile);
                                }
                            } else if (mr == 8) {
                                FloatVectorKernels.kernel8x3(kc, ap, ao + ir * kc, bb, bo, c, co + ir * ldc, ldc, mh, nw, load, tile);
                            } else {
                                FloatVectorKernels.kernel6x2(kc, ap, ao + ir * kc, bb, bo, c, co + ir * ldc, ldc, mh, nw, load, tile);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Whether B rows {@code rs} floats apart can be read in place: the rows of a KC-deep micro-panel must fall
     * into many cache sets. A stride of an even number of 64-byte lines (e.g. 448 floats) walks only a fraction
     * of the sets of a 64-set L1 and evicts the panel's own rows; an odd number of lines, or a stride that is
     * not a whole number of lines, spreads them. {@code -Djconv.cpu.packB=true} packs always.
     */
    static boolean directStride(int rs, int nr) {
        if (rs < nr) return false;
        int perLine = 64 / Float.BYTES;
        return rs % perLine != 0 || (rs / perLine) % 2 == 1;
    }

    static final boolean ALWAYS_PACK_B = Boolean.getBoolean("jconv.cpu.packB");

    /** ap[(i / mr) * kc * mr + k * mr + i % mr] = A[i][k] for i < m, zero rows past m. */
    static void packA(int mr, int m, int kc, float[] a, int off, int rs, int cs, float[] ap) {
        packA(mr, m, kc, a, off, rs, cs, ap, 0);
    }

    /** {@link #packA} into ap from apOff on. */
    static void packA(int mr, int m, int kc, float[] a, int off, int rs, int cs, float[] ap, int apOff) {
        for (int ib = 0; ib < m; ib += mr) {
            int base = apOff + ib * kc;
            int h = Math.min(mr, m - ib);
            if (rs == 1 && cs != 1) {
                // A is stored transposed (k-major): each k gives h contiguous values.
                for (int k = 0; k < kc; k++) {
                    int src = off + k * cs + ib, dst = base + k * mr;
                    for (int r = 0; r < h; r++) ap[dst + r] = a[src + r];
                    for (int r = h; r < mr; r++) ap[dst + r] = 0;
                }
                continue;
            }
            for (int r = 0; r < h; r++) {
                int src = off + (ib + r) * rs, dst = base + r;
                if (cs == 1) {
                    for (int k = 0; k < kc; k++) ap[dst + k * mr] = a[src + k];
                } else {
                    for (int k = 0; k < kc; k++) ap[dst + k * mr] = a[src + k * cs];
                }
            }
            for (int r = h; r < mr; r++) {
                for (int k = 0; k < kc; k++) ap[base + k * mr + r] = 0;
            }
        }
    }

    /** bp[(j / nr) * kc * nr + k * nr + j % nr] = B[k][j] for j < n, zero columns past n. */
    static void packB(int nr, int kc, int n, float[] b, int off, int rs, int cs, float[] bp) {
        for (int jb = 0; jb < n; jb += nr) {
            int base = jb * kc;
            int w = Math.min(nr, n - jb);
            if (rs == 1 && cs != 1) {
                // B is stored transposed (k contiguous): read each column along k, write it down the panel.
                for (int j = 0; j < w; j++) {
                    int src = off + (jb + j) * cs, dst = base + j;
                    for (int k = 0; k < kc; k++) bp[dst + k * nr] = b[src + k];
                }
                if (w < nr) {
                    for (int k = 0; k < kc; k++) java.util.Arrays.fill(bp, base + k * nr + w, base + (k + 1) * nr, 0);
                }
                continue;
            }
            for (int k = 0; k < kc; k++) {
                int dst = base + k * nr, src = off + k * rs + jb * cs;
                if (cs == 1) {
                    System.arraycopy(b, src, bp, dst, w);
                } else {
                    for (int j = 0; j < w; j++) bp[dst + j] = b[src + j * cs];
                }
                if (w < nr) java.util.Arrays.fill(bp, dst + w, dst + nr, 0);
            }
        }
    }

    // ---- the deformable convolution's bilinear gather (not a GEMM: the other Vector API kernel of the module) ----

    /**
     * {@link FloatColumns#gather} on the Vector API, same result bit for bit: each column value is
     * w0·x0 + w1·x1 + w2·x2 + w3·x3, products rounded, added left to right, no fused multiply-add. The plan
     * (idx, wt: 4 entries per tap and position, corners interleaved) is laid out corner by corner first, with
     * a corner outside the image (index −1) pointing at a zero appended to a copy of the channel, so that VL
     * positions take 4 gathers and no branch; the weight of such a corner still multiplies that zero.
     */
    static void bilinearGather(Geometry g, float[] x, int xBase, int c0, int c1, int len, int[] idx, float[] wt,
                               float[] col, int colOff, Scratch s) {
        int n = g.kv * len, is = g.is;
        int[] si = s.ints(Scratch.PLAN_INDEX, 4 * n);
        float[] sw = s.floats(Scratch.GEMM_A, 4 * n);
        float[] xp = s.floats(Scratch.GEMM_B, is + 1);
        for (int e = 0; e < n; e++) {
            for (int q = 0; q < 4; q++) {
                int i = idx[4 * e + q];
                si[q * n + e] = i < 0 ? is : i;
                sw[q * n + e] = wt[4 * e + q];
            }
        }
        int nv = len - len % VL;
        for (int c = c0; c < c1; c++) {
            System.arraycopy(x, xBase + c * is, xp, 0, is);
            xp[is] = 0;
            for (int t = 0; t < g.kv; t++) {
                int dst = colOff + ((c - c0) * g.kv + t) * len, e0 = t * len;
                for (int j = 0; j < nv; j += VL) {
                    int e = e0 + j;
                    FloatVector v = FloatVector.fromArray(S, sw, e).mul(FloatVector.fromArray(S, xp, 0, si, e));
                    v = v.add(FloatVector.fromArray(S, sw, n + e).mul(FloatVector.fromArray(S, xp, 0, si, n + e)));
                    v = v.add(FloatVector.fromArray(S, sw, 2 * n + e).mul(FloatVector.fromArray(S, xp, 0, si, 2 * n + e)));
                    v = v.add(FloatVector.fromArray(S, sw, 3 * n + e).mul(FloatVector.fromArray(S, xp, 0, si, 3 * n + e)));
                    v.intoArray(col, dst + j);
                }
                for (int j = nv; j < len; j++) {
                    int e = e0 + j;
                    col[dst + j] = sw[e] * xp[si[e]] + sw[n + e] * xp[si[n + e]]
                            + sw[2 * n + e] * xp[si[2 * n + e]] + sw[3 * n + e] * xp[si[3 * n + e]];
                }
            }
        }
    }

    /**
     * {@link FloatChannelsLast#scatter} on vectors: per tap, position and corner inside the image, dxT[idx · ch + c] +=
     * wt · col[…], VL channels at a time, a multiply then an add per lane (no fused multiply-add), so the same bits.
     */
    static void scatterChannelsLast(Geometry g, float[] col, int cols, int ch, int len, int[] idx, float[] wt, float[] dxT) {
        int full = ch - ch % VL;
        for (int t = 0; t < g.kv; t++) {
            int q = t * len * 4;
            for (int j = 0; j < len; j++, q += 4) {
                int src = j * cols + t * ch;
                for (int corner = 0; corner < 4; corner++) {
                    int i = idx[q + corner];
                    if (i < 0) continue;
                    float a = wt[q + corner];
                    FloatVector av = FloatVector.broadcast(S, a);
                    int dst = i * ch, c = 0;
                    for (; c < full; c += VL) {
                        FloatVector.fromArray(S, col, src + c).mul(av).add(FloatVector.fromArray(S, dxT, dst + c)).intoArray(dxT, dst + c);
                    }
                    for (; c < ch; c++) dxT[dst + c] += a * col[src + c];
                }
            }
        }
    }

    /** {@link FloatChannelsLast#gather} on vectors over the channels: the same products and additions, so the same bits. */
    static void gatherChannelsLast(Geometry g, float[] xT, int ch, int len, int[] idx, float[] wt, float[] col, int colOff, int ld) {
        int zero = g.is * ch, full = ch - ch % VL;
        for (int t = 0; t < g.kv; t++) {
            int q = t * len * 4;
            for (int j = 0; j < len; j++, q += 4) {
                int dst = colOff + j * ld + t * ch;
                int a0 = FloatChannelsLast.corner(idx[q], zero, ch), a1 = FloatChannelsLast.corner(idx[q + 1], zero, ch);
                int a2 = FloatChannelsLast.corner(idx[q + 2], zero, ch), a3 = FloatChannelsLast.corner(idx[q + 3], zero, ch);
                float w0 = wt[q], w1 = wt[q + 1], w2 = wt[q + 2], w3 = wt[q + 3];
                FloatVector v0 = FloatVector.broadcast(S, w0), v1 = FloatVector.broadcast(S, w1);
                FloatVector v2 = FloatVector.broadcast(S, w2), v3 = FloatVector.broadcast(S, w3);
                int c = 0;
                for (; c < full; c += VL) {
                    FloatVector v = v0.mul(FloatVector.fromArray(S, xT, a0 + c));
                    v = v.add(v1.mul(FloatVector.fromArray(S, xT, a1 + c)));
                    v = v.add(v2.mul(FloatVector.fromArray(S, xT, a2 + c)));
                    v = v.add(v3.mul(FloatVector.fromArray(S, xT, a3 + c)));
                    v.intoArray(col, dst + c);
                }
                for (; c < ch; c++) col[dst + c] = w0 * xT[a0 + c] + w1 * xT[a1 + c] + w2 * xT[a2 + c] + w3 * xT[a3 + c];
            }
        }
    }
}
