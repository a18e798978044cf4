package io.github.jconv.cpu;

/**
 * The backward data pass of a dense strided convolution (and so the forward pass of a transposed
 * one), split by output phase: the input positions i with (i + p) mod s = ρ on every axis receive
 * only the taps t = ρ + s·m, from dy[(i + p − ρ)/s − m]. Each phase is an ordinary unit-stride
 * convolution of dy with a sub-kernel flipped along m, so it runs as im2col + GEMM and every
 * output element is written by exactly one phase.
 */
final class Phases {
    /** One phase: its convolution (dy → the phase's positions), and where those positions lie in dx. */
    static final class Phase {
        final Geometry geo;
        /** Per axis (d, h, w): tap of sub-kernel index 0 is rho + s·(taps − 1); first dx index, step s. */
        final int[] rho, taps, first, step;
        /** Offset of this phase's sub-weights in the packed array. */
        final int weightOffset;

        Phase(Geometry geo, int[] rho, int[] taps, int[] first, int[] step, int weightOffset) {
            this.geo = geo;
            this.rho = rho;
            this.taps = taps;
            this.first = first;
            this.step = step;
            this.weightOffset = weightOffset;
        }

        /** dx spatial index of the phase's output position p. */
        int target(Geometry parent, int p) {
            int z = p / (geo.oh * geo.ow), rem = p - z * geo.oh * geo.ow, y = rem / geo.ow, x = rem - y * geo.ow;
            return ((first[0] + z * step[0]) * parent.ih + first[1] + y * step[1]) * parent.iw + first[2] + x * step[2];
        }
    }

    private Phases() {
    }

    /** Every phase with at least one output position; phases without taps have kv = 0 and get bias only. */
    static Phase[] of(Geometry g) {
        int[] s = {g.sd, g.sh, g.sw}, k = {g.kd, g.kh, g.kw}, p = {g.pd, g.ph, g.pw};
        int[] in = {g.id, g.ih, g.iw}, out = {g.od, g.oh, g.ow};
        java.util.List<Phase> list = new java.util.ArrayList<>();
        int weightOffset = 0;
        for (int rd = 0; rd < s[0]; rd++) {
            for (int rh = 0; rh < s[1]; rh++) {
                for (int rw = 0; rw < s[2]; rw++) {
                    int[] rho = {rd, rh, rw};
                    int[] taps = new int[3], first = new int[3], q = new int[3], pad = new int[3];
                    boolean empty = false;
                    for (int a = 0; a < 3; a++) {
                        taps[a] = rho[a] >= k[a] ? 0 : (k[a] - rho[a] + s[a] - 1) / s[a];
                        int qa = Math.floorDiv(p[a] - rho[a] + s[a] - 1, s[a]);
                        int qb = Math.floorDiv(in[a] - 1 + p[a] - rho[a], s[a]);
                        q[a] = qb - qa + 1;
                        if (q[a] <= 0) empty = true;
                        first[a] = qa * s[a] + rho[a] - p[a];
                        pad[a] = taps[a] - 1 - qa;
                    }
                    if (empty) continue;
                    int[] ker = {Math.max(1, taps[0]), Math.max(1, taps[1]), Math.max(1, taps[2])};
                    Geometry sub = new Geometry(g.batch, g.k, g.c, g.g, out, q, ker, pad);
                    boolean none = taps[0] == 0 || taps[1] == 0 || taps[2] == 0;
                    list.add(new Phase(sub, rho, none ? new int[3] : taps, first, s, weightOffset));
                    if (!none) weightOffset += g.c * g.kg * sub.kv;
                }
            }
        }
        return list.toArray(new Phase[0]);
    }

    /** Sub-kernel tap m' on one axis maps to parent tap rho + s·(taps − 1 − m'). */
    static int parentTap(Phase ph, Geometry g, int subTap) {
        int khw = ph.geo.kh * ph.geo.kw;
        int mz = subTap / khw, my = (subTap / ph.geo.kw) % ph.geo.kh, mx = subTap % ph.geo.kw;
        int tz = ph.rho[0] + ph.step[0] * (ph.taps[0] - 1 - mz);
        int ty = ph.rho[1] + ph.step[1] * (ph.taps[1] - 1 - my);
        int tx = ph.rho[2] + ph.step[2] * (ph.taps[2] - 1 - mx);
        return (tz * g.kh + ty) * g.kw + tx;
    }

    static boolean hasTaps(Phase ph) {
        return ph.taps[0] > 0;
    }
}
