package io.github.jconv.cpu;

/**
 * The deformable data and offset/mask gradients of one image and offset group with channels last: the column gradient
 * of a tile laid out [position][tap][channel] (one GEMM, dYᵀ times the weights permuted once per call), the input and
 * its gradient transposed to [pixel][channel]. Every scatter of a sample is then a run of contiguous multiply-adds over
 * the channels (which C2 vectorises) instead of four scattered read-modify-writes per channel, and every corner sum of
 * the offset gradient reads contiguous memory. Each output element gets the same operations in the same order as the
 * channels-first kernels ({@link FloatColumns#scatter}, {@link FloatColumns#coordinateGrads}), so the same bits.
 * The FP64 twin is generated.
 */
final class FloatChannelsLast {
    private FloatChannelsLast() {
    }

    /** dst[i · ch + c] = src[base + c · plane + i] for c &lt; ch, i &lt; plane. */
    static void toChannelsLast(float[] src, int base, int ch, int plane, float[] dst) {
        for (int c = 0; c < ch; c++) {
            int from = base + c * plane;
            for (int i = 0; i < plane; i++) dst[i * ch + c] = src[from + i];
        }
    }

    /** dst[base + c · plane + i] = src[i · ch + c]: the inverse of {@link #toChannelsLast}. */
    static void fromChannelsLast(float[] src, int ch, int plane, float[] dst, int base) {
        for (int c = 0; c < ch; c++) {
            int to = base + c * plane;
            for (int i = 0; i < plane; i++) dst[to + i] = src[i * ch + c];
        }
    }

    /**
     * The weights as the channels-last GEMM's B, per offset group og (lying within one group): wp[(og · kg + k) · kv · perOg
     * + tap · perOg + c] = w[(grp · kg + k) · rows + (c0 − grp · cg + c) · kv + tap].
     */
    static void permuteWeights(Geometry g, float[] w, float[] wp) {
        int perOg = g.c / g.offsetGroups, cols = perOg * g.kv;
        for (int og = 0; og < g.offsetGroups; og++) {
            int c0 = og * perOg, grp = c0 / g.cg, ca = c0 - grp * g.cg;
            for (int k = 0; k < g.kg; k++) {
                int src = (grp * g.kg + k) * g.rows + ca * g.kv, dst = (og * g.kg + k) * cols;
                for (int c = 0; c < perOg; c++) {
                    for (int t = 0; t < g.kv; t++) wp[dst + t * perOg + c] = w[src + c * g.kv + t];
                }
            }
        }
    }

    /**
     * Adds the column gradients of positions [0, len) onto dxT (channels last, ch channels): for each tap, position and
     * corner inside the image, dxT[idx · ch + c] += wt · col[j · cols + tap · ch + c]. The order of the additions into any
     * one element (tap, then position, then corner) is {@link FloatColumns#scatter}'s.
     */
    static void scatter(Geometry g, float[] col, int cols, int ch, int len, int[] idx, float[] wt, float[] dxT) {
        if (FloatGemm.VECTOR) {
            FloatVectorGemm.scatterChannelsLast(g, col, cols, ch, len, idx, wt, dxT);
            return;
        }
        for (int t = 0; t < g.kv; t++) {
            int q = t * len * 4;
            for (int j = 0; j < len; j++, q += 4) {
                int src = j * cols + t * ch;
                for (int corner = 0; corner < 4; corner++) {
                    int i = idx[q + corner];
                    if (i >= 0) axpy(wt[q + corner], col, src, dxT, i * ch, ch);
                }
            }
        }
    }

    private static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int c = 0; c < n; c++) y[yOff + c] += a * x[xOff + c];
    }

    /**
     * The corner sums of {@link FloatColumns#coordinateGrads} from channels-last operands: for each plan entry
     * e = tap · len + j, S_ab = Σ_c G · x(corner ab) in FP64, channels ascending (its order, so its bits), into
     * pd[2n…6n); then the offset and mask gradients.
     */
    static void coordinateGrads(Geometry g, float[] xT, int ch, float[] col, int cols, int len,
                                float[] off, int offBase, float[] mask, int maskBase,
                                float[] dOff, float[] dMask, int p0, int p1, Scratch s) {
        int n = g.kv * len;
        double[] pd = s.doubles(Scratch.STAGED, 6 * n);
        int[] pi = s.ints(Scratch.SAMPLE_INDEX, 2 * n);
        FloatColumns.coordinatePlan(g, off, offBase, p0, p1, pd, pi);
        int down = g.iw * ch;
        for (int e = 0; e < n; e++) {
            int t = e / len, j = e - t * len, gOff = j * cols + t * ch;
            int k = pi[n + e];
            if (j + 1 < len && (k & pi[n + e + 1] & 15) == 15) {
                // two neighbouring positions of a tap with every corner inside: eight independent sums
                int a = pi[e] * ch, b = pi[e + 1] * ch, hOff = gOff + cols;
                double s00 = 0, s01 = 0, s10 = 0, s11 = 0, t00 = 0, t01 = 0, t10 = 0, t11 = 0;
                for (int c = 0; c < ch; c++) {
                    double cg = col[gOff + c], ch2 = col[hOff + c];
                    s00 += cg * xT[a + c];
                    t00 += ch2 * xT[b + c];
                    s01 += cg * xT[a + ch + c];
                    t01 += ch2 * xT[b + ch + c];
                    s10 += cg * xT[a + down + c];
                    t10 += ch2 * xT[b + down + c];
                    s11 += cg * xT[a + down + ch + c];
                    t11 += ch2 * xT[b + down + ch + c];
                }
                pd[2 * n + e] = s00;
                pd[3 * n + e] = s01;
                pd[4 * n + e] = s10;
                pd[5 * n + e] = s11;
                pd[2 * n + e + 1] = t00;
                pd[3 * n + e + 1] = t01;
                pd[4 * n + e + 1] = t10;
                pd[5 * n + e + 1] = t11;
                e++;
                continue;
            }
            double s00 = 0, s01 = 0, s10 = 0, s11 = 0;
            if ((k & 15) == 15) {
                int a = pi[e] * ch;
                for (int c = 0; c < ch; c++) {
                    double cg = col[gOff + c];
                    s00 += cg * xT[a + c];
                    s01 += cg * xT[a + ch + c];
                    s10 += cg * xT[a + down + c];
                    s11 += cg * xT[a + down + ch + c];
                }
            } else if ((k & FloatColumns.NEAR) != 0) {
                // a corner outside the image reads 0 (its index is not formed); the product is still formed
                int a = pi[e] * ch;
                boolean in00 = (k & 1) != 0, in01 = (k & 2) != 0, in10 = (k & 4) != 0, in11 = (k & 8) != 0;
                for (int c = 0; c < ch; c++) {
                    double cg = col[gOff + c];
                    s00 += cg * (in00 ? xT[a + c] : 0);
                    s01 += cg * (in01 ? xT[a + ch + c] : 0);
                    s10 += cg * (in10 ? xT[a + down + c] : 0);
                    s11 += cg * (in11 ? xT[a + down + ch + c] : 0);
                }
            } else {
                double sl = pd[e];
                for (int c = 0; c < ch; c++) s00 += col[gOff + c] * sl;
            }
            pd[2 * n + e] = s00;
            pd[3 * n + e] = s01;
            pd[4 * n + e] = s10;
            pd[5 * n + e] = s11;
        }
        FloatColumns.coordinateFinish(g, mask, maskBase, offBase, p0, p1, pd, pi, dOff, dMask);
    }
}
