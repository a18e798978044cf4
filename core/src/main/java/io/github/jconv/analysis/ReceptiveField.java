package io.github.jconv.analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * Receptive field, jump and start of every layer of a stack (the arithmetic of the convolution
 * notes): with effective kernel k' = d·(k−1)+1, a convolution or pooling layer gives
 * j_out = j_in·s, r_out = r_in + (k'−1)·j_in, start_out = start_in + ((k'−1)/2 − p)·j_in.
 * A transposed layer divides the jump: j_out = j_in / s, and one output sees ⌈k'/s⌉ inputs, so
 * r_out = r_in + (⌈k'/s⌉ − 1)·j_in, start_out = start_in + (p − (k'−1)/2)·j_out.
 * All values are in input pixels, along one axis.
 */
public final class ReceptiveField {
    private ReceptiveField() {
    }

    /** A layer of the stack, along one axis. */
    public record Layer(String name, Kind kind, int kernel, int stride, int padding, int dilation) {
        public Layer {
            if (kernel <= 0) throw new IllegalArgumentException("kernel = " + kernel + ": must be positive; e.g. kernel = 3");
            if (stride <= 0) throw new IllegalArgumentException("stride = " + stride + ": must be positive; e.g. stride = 1");
            if (dilation <= 0) throw new IllegalArgumentException("dilation = " + dilation + ": must be positive; e.g. dilation = 1");
            if (padding < 0) throw new IllegalArgumentException("padding = " + padding + ": must be non-negative; e.g. padding = 0");
            if (kind == null) throw new IllegalArgumentException("kind = null: CONV, POOL or TRANSPOSED");
        }

        public static Layer conv(int k, int s, int p, int d) {
            return new Layer("conv" + k, Kind.CONV, k, s, p, d);
        }

        public int effectiveKernel() {
            return dilation * (kernel - 1) + 1;
        }
    }

    public enum Kind { CONV, POOL, TRANSPOSED }

    /** The state after a layer. */
    public record Row(Layer layer, double receptiveField, double jump, double start) {
    }

    public static List<Row> compute(List<Layer> stack) {
        if (stack == null) throw new IllegalArgumentException("stack = null: give at least one layer");
        List<Row> rows = new ArrayList<>();
        double r = 1, j = 1, start = 0.5;
        for (Layer l : stack) {
            int ke = l.effectiveKernel();
            if (l.kind() == Kind.TRANSPOSED) {
                double jOut = j / l.stride();
                r = r + (Math.ceil((double) ke / l.stride()) - 1) * j;
                start = start + (l.padding() - (ke - 1) / 2.0) * jOut;
                j = jOut;
            } else {
                r = r + (ke - 1) * j;
                start = start + ((ke - 1) / 2.0 - l.padding()) * j;
                j = j * l.stride();
            }
            rows.add(new Row(l, r, j, start));
        }
        return rows;
    }
}
