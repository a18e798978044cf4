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
    private static void toChannelsLast(float[] src, int base, int ch, int plane, float[] dst) {
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
     * The weights with each offset group's columns tap-major (offset groups lying within groups): row k of group grp,
     * columns of offset group og (local index l = og − grp · cg / perOg) at l · kv · perOg + tap · perOg + c, so
     * wp[(grp · kg + k) · rows + l · kv · perOg + tap · perOg + c] = w[(grp · kg + k) · rows + (l · perOg + c) · kv + tap].
     * The channels-last column tiles use the same column order.
     */
    static void permuteWeights(Geometry g, float[] w, float[] wp) {
        int perOg = g.c / g.offsetGroups, cols = perOg * g.kv;
        for (int row = 0; row < g.k; row++) {
            int base = row * g.rows;
            for (int l = 0; l < g.cg / perOg; l++) {
                int src = base + l * cols, dst = base + l * cols;
                for (int c = 0; c < perOg; c++) {
                    for (int t = 0; t < g.kv; t++) wp[dst + t * perOg + c] = w[src + c * g.kv + t];
                }
            }
        }
    }

    /**
     * One offset group's channels-last input with a zero pixel after the last: xT[i · ch + c] = x[base + c · plane + i],
     * xT[plane · ch + c] = 0 (where a corner outside the image reads). Returns the array (scratch).
     */
    static float[] paddedInput(float[] x, int base, int ch, int plane, Scratch s) {
        float[] xT = s.floats(Scratch.CHANNELS_LAST_X, (plane + 1) * ch);
        toChannelsLast(x, base, ch, plane, xT);
        java.util.Arrays.fill(xT, plane * ch, (plane + 1) * ch, 0);
        return xT;
    }

    /** Where a corner's channels start in {@link #paddedInput}: its pixel's row, or the zero pixel for a corner outside (index −1). */
    static int corner(int index, int zero, int ch) {
        return index < 0 ? zero : index * ch;
    }

    /**
     * The deformable column tile of one offset group with channels last: col[colOff + j · ld + tap · ch + c] =
     * w0·x0 + w1·x1 + w2·x2 + w3·x3 over the four corners of the plan ({@link FloatColumns#sample}), a corner outside
     * the image reading the zero pixel of {@link #paddedInput}: {@link FloatColumns#gather}'s products and additions,
     * in its order, so each value has its bits.
     */
    static void gather(Geometry g, float[] xT, int ch, int len, int[] idx, float[] wt, float[] col, int colOff, int ld) {
        if (FloatGemm.VECTOR) {
            FloatVectorGemm.gatherChannelsLast(g, xT, ch, len, idx, wt, col, colOff, ld);
            return;
        }
        int zero = g.is * ch;
        for (int t = 0; t < g.kv; t++) {
            int q = t * len * 4;
            for (int j = 0; j < len; j++, q += 4) {
                int dst = colOff + j * ld + t * ch;
                int a0 = corner(idx[q], zero, ch), a1 = corner(idx[q + 1], zero, ch);
                int a2 = corner(idx[q + 2], zero, ch), a3 = corner(idx[q + 3], zero, ch);
                float w0 = wt[q], w1 = wt[q + 1], w2 = wt[q + 2], w3 = wt[q + 3];
                for (int c = 0; c < ch; c++) col[dst + c] = w0 * xT[a0 + c] + w1 * xT[a1 + c] + w2 * xT[a2 + c] + w3 * xT[a3 + c];
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
