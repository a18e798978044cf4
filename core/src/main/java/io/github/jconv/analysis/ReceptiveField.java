package io.github.jconv.analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * Receptive field, jump and start of every layer of a stack (the arithmetic of the convolution
 * notes): with effective kernel k' = d·(k−1)+1, a convolution or pooling layer gives
 * j_out = j_in·s, r_out = r_in + (k'−1)·j_in, start_out = start_in + ((k'−1)/2 − p)·j_in.
 * A transposed layer divides the jump: j_out = j_in / s, and one output sees ⌈k'/s⌉ inputs, so
 * r_out = r_in + (⌈k'/s⌉ − 1)·j_in on average; but behind a transposed layer the outputs are not
 * alike: output o receives input i through tap t when i·s + t·d − p = o, so which inputs an output
 * sees depends on o mod s. {@link #compute} therefore takes the receptive field and the start from
 * the exact input span of each output ({@link #span}): RF is the largest span over one period of
 * outputs, start the centre of output 0's span; the jump stays the average spacing ∏s_conv / ∏s_tconv.
 * All values are in input pixels, along one axis (input pixel i spans [i, i+1)); borders are ignored.
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
            long ke = (long) dilation * (kernel - 1) + 1;
            if (ke > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("dilation·(kernel−1)+1 = " + ke + " for kernel " + kernel + ", dilation " + dilation
                        + ": over 2^31−1; e.g. kernel = 3, dilation = 2");
            }
            return (int) ke;
        }
    }

    public enum Kind { CONV, POOL, TRANSPOSED }

    /** The state after a layer. */
    public record Row(Layer layer, double receptiveField, double jump, double start) {
    }

    /** Largest receptive field or jump, in input pixels, that {@link #compute} reports exactly. */
    public static final double LIMIT = 1L << 53;

    /** Outputs whose spans are examined for the largest receptive field (one period, capped). */
    private static final int PERIOD_CAP = 4096;
    /** Most layer steps {@link #compute} takes before it refuses the stack (a fraction of a second). */
    private static final long MAX_WORK = 50_000_000L;

    public static List<Row> compute(List<Layer> stack) {
        if (stack == null) throw new IllegalArgumentException("stack = null: give at least one layer");
        List<Row> rows = new ArrayList<>();
        double j = 1;
        long period = 1;
        long work = 0;
        for (int n = 0; n < stack.size(); n++) {
            Layer l = stack.get(n);
            if (l == null) throw new IllegalArgumentException("stack layer " + n + " = null: give a layer, e.g. Layer.conv(3, 1, 0, 1)");
            j = l.kind() == Kind.TRANSPOSED ? j / l.stride() : j * l.stride();
            if (l.kind() == Kind.TRANSPOSED) period = Math.min(PERIOD_CAP, period * l.stride());
            if (!(j <= LIMIT)) throw tooLarge(n, l);
            // each span walks the n+1 layers, a transposed one scanning up to min(k, s) taps
            for (Layer x : stack.subList(0, n + 1)) {
                work += period * (x.kind() == Kind.TRANSPOSED ? Math.min(x.kernel(), x.stride()) : 1);
            }
            if (work > MAX_WORK) {
                throw new IllegalArgumentException("stack: " + stack.size() + " layers with transposed strides up to " + period
                        + " are too many to trace exactly (about " + work + " steps by layer " + (n + 1) + "); use fewer layers or smaller"
                        + " transposed kernels and strides, e.g. tconv4s2p1x3");
            }
            List<Layer> prefix = stack.subList(0, n + 1);
            double r = 0, start = Double.NaN;
            try {
                // the spans repeat, shifted, with the product of the transposed strides: the largest is among the first period
                for (long o = 0; o < period; o++) {
                    long[] sp = span(prefix, o);
                    if (sp == null) continue; // this output receives nothing (a dilation sharing a factor with the stride)
                    r = Math.max(r, sp[1] - sp[0] + 1);
                    if (Double.isNaN(start)) start = (sp[0] + sp[1] + 1) / 2.0 - o * j;
                }
            } catch (ArithmeticException e) {
                throw tooLarge(n, l);
            }
            if (!(r <= LIMIT)) throw tooLarge(n, l);
            rows.add(new Row(l, r, j, start));
        }
        return rows;
    }

    private static IllegalArgumentException tooLarge(int n, Layer l) {
        return new IllegalArgumentException("stack: after layer " + (n + 1) + " (" + l.name() + ") the receptive field or the jump"
                + " is over 2^53 input pixels; use fewer or smaller layers, e.g. conv3x6");
    }

    /**
     * The first and last input pixel that output {@code index} of the stack's last layer depends on,
     * borders ignored (so either may be negative): walked back layer by layer from the output's own
     * index. A convolution or pooling output o reads inputs o·s − p … o·s − p + k' − 1; a transposed
     * output o receives input i through tap t when i·s + t·d − p = o. Null when the output receives
     * no input at all (a transposed layer whose dilation shares a factor with its stride leaves gaps).
     */
    public static long[] span(List<Layer> stack, long index) {
        if (stack == null || stack.isEmpty()) throw new IllegalArgumentException("stack = " + stack + ": give at least one layer");
        long a = index, b = index;
        for (int n = stack.size() - 1; n >= 0; n--) {
            Layer l = stack.get(n);
            long s = l.stride(), p = l.padding(), d = l.dilation(), k = l.kernel();
            if (l.kind() != Kind.TRANSPOSED) {
                a = Math.subtractExact(Math.multiplyExact(a, s), p);
                b = Math.addExact(Math.subtractExact(Math.multiplyExact(b, s), p), d * (k - 1));
                continue;
            }
            // inputs of tap t: ceil((a + p − t·d)/s) … floor((b + p − t·d)/s); both ends fall as t grows,
            // so the first input comes from the last tap that reaches [a, b] and the last from the first one
            long lo = Long.MAX_VALUE, hi = Long.MIN_VALUE;
            long scan = Math.min(k, s); // whether tap t reaches [a, b] repeats with period s (at most) in t
            for (long t = 0; t < scan; t++) {
                long h = Math.floorDiv(b + p - t * d, s);
                if (-Math.floorDiv(-(a + p - t * d), s) <= h) {
                    hi = h;
                    break;
                }
            }
            for (long t = k - 1; t >= k - scan; t--) {
                long c = -Math.floorDiv(-(a + p - t * d), s);
                if (c <= Math.floorDiv(b + p - t * d, s)) {
                    lo = c;
                    break;
                }
            }
            if (hi == Long.MIN_VALUE) return null;
            a = lo;
            b = hi;
        }
        return new long[] {a, b};
    }
}
