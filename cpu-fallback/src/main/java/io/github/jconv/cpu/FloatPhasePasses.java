package io.github.jconv.cpu;

import io.github.jconv.ConvArgs;

import static io.github.jconv.cpu.FloatPasses.allFinite;
import static io.github.jconv.cpu.FloatPasses.columnTile;
import static io.github.jconv.cpu.FloatPasses.floats;

/**
 * The phase family's FP32 pass ({@link PhaseFamily}): backward data of a dense strided convolution (the
 * forward pass of a dense strided transposed one) as one unit-stride gather per output phase
 * ({@link Phases}); a non-finite weight takes the scatter of {@link FloatConvPasses#scatter}.
 */
final class FloatPhasePasses {
    private FloatPhasePasses() {
    }

    /** Runs the view's backward data pass {@code v} (the only pass the selector plans onto phases). */
    static void run(ViewPass v, Geometry g, ConvArgs a, WorkerPool pool) {
        if (v.kind != ViewPass.Kind.BACKWARD_DATA) throw new IllegalStateException("the phase route computes backward data only, not " + v.kind);
        float[] dy = floats(a, v.data), w = floats(a, v.operand), dx = floats(a, v.result);
        float[] b = v.bias == null ? null : floats(a, v.bias);
        // The phase gathers read dy through zero padding and would multiply a NaN or infinite weight by those zeros.
        if (allFinite(w)) {
            backwardData(g, dy, w, b, dx, pool);
        } else {
            FloatConvPasses.scatter(g, false, dy, w, b, dx, pool);
        }
    }

    /** Backward data by output phase ({@link Phases}): tasks (sample, group, phase, tile), each writing its own dx positions. */
    static void backwardData(Geometry g, float[] dy, float[] w, float[] bias, float[] dx, WorkerPool pool) {
        Phases.Phase[] phases = Phases.of(g);
        int total = 1;
        for (Phases.Phase ph : phases) if (Phases.hasTaps(ph)) total += g.c * g.kg * ph.geo.kv;
        float[] ws = pool.shared().floats(Scratch.SHARED_WEIGHTS, total);
        for (Phases.Phase ph : phases) {
            if (!Phases.hasTaps(ph)) continue;
            int sv = ph.geo.kv;
            for (int m = 0; m < sv; m++) {
                int t = Phases.parentTap(ph, g, m);
                for (int grp = 0; grp < g.g; grp++) {
                    for (int c = 0; c < g.cg; c++) {
                        for (int kk = 0; kk < g.kg; kk++) {
                            ws[ph.weightOffset + ((grp * g.cg + c) * g.kg + kk) * sv + m] = w[((grp * g.kg + kk) * g.cg + c) * g.kv + t];
                        }
                    }
                }
            }
        }
        int[] tileOf = new int[phases.length];
        int perSample = 0;
        for (int q = 0; q < phases.length; q++) {
            tileOf[q] = columnTile(phases[q].geo.rows, phases[q].geo.os, phases[q].geo.ow);
            perSample += (phases[q].geo.os + tileOf[q] - 1) / tileOf[q];
        }
        int[] taskPhase = new int[perSample], taskStart = new int[perSample];
        for (int q = 0, at = 0; q < phases.length; q++) {
            for (int p0 = 0; p0 < phases[q].geo.os; p0 += tileOf[q], at++) {
                taskPhase[at] = q;
                taskStart[at] = p0;
            }
        }
        int per = perSample;
        pool.forEach(g.batch * g.g * per, (i, s) -> {
            int j = i % per, rest = i / per, grp = rest % g.g, n = rest / g.g;
            Phases.Phase ph = phases[taskPhase[j]];
            Geometry sg = ph.geo;
            int p0 = taskStart[j], p1 = Math.min(sg.os, p0 + tileOf[taskPhase[j]]), len = p1 - p0;
            float[] out = s.floats(Scratch.PHASE_OUT, g.cg * len);
            if (Phases.hasTaps(ph) && !FloatGemm.VECTOR && FloatColumns.sameShape(sg)) {
                FloatGemm.gemmGathered(g.cg, len, sg.rows, ws, ph.weightOffset + grp * g.cg * sg.rows, sg.rows,
                        sg, dy, (n * g.k + grp * g.kg) * g.os, p0, out, 0, len, s);
            } else if (Phases.hasTaps(ph)) {
                float[] col = s.floats(Scratch.COLUMNS, sg.rows * len);
                FloatColumns.im2col(sg, dy, (n * g.k + grp * g.kg) * g.os, 0, sg.rows, p0, p1, col, 0);
                FloatGemm.gemm(g.cg, len, sg.rows, ws, ph.weightOffset + grp * g.cg * sg.rows, sg.rows, 1,
                        col, 0, len, 1, out, 0, len, false, s);
            } else {
                java.util.Arrays.fill(out, 0, g.cg * len, 0);
            }
            // Place the tile row by row: one output row of the phase is every s-th element of a dx row.
            for (int u = 0; u < len; ) {
                int p = p0 + u;
                int x0 = p % sg.ow, run = Math.min(sg.ow - x0, len - u);
                int at = ph.target(g, p), sx = ph.step[2];
                for (int c = 0; c < g.cg; c++) {
                    float bv = bias == null ? 0 : bias[grp * g.cg + c];
                    int base = (n * g.c + grp * g.cg + c) * g.is + at, src = c * len + u;
                    for (int e = 0; e < run; e++) dx[base + e * sx] = out[src + e] + bv;
                }
                u += run;
            }
        });
    }
}
