package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;

/**
 * Development oracle: the forward definitions as plain FP64 loops (convolution as a gather,
 * transposed convolution as its scatter definition, deformable with its own bilinear sampling), and
 * every gradient derived from the forward alone: by linearity (the gradient of L = <y, dy> with
 * respect to a tensor the output is linear in is L at each basis vector) and, for offsets, by central
 * differences. No backward formula is written twice.
 */
final class NaiveOracle {
    private NaiveOracle() {
    }

    /** y for the spec; {@code b}, {@code offset}, {@code mask} may be null when absent. */
    static double[] forward(ConvSpec s, double[] x, double[] w, double[] b, double[] offset, double[] mask) {
        double[] y = switch (s.type()) {
            case CONVOLUTION -> conv(s, x, w);
            case TRANSPOSED -> transposed(s, x, w);
            case DEFORMABLE -> deformable(s, x, w, offset, mask);
        };
        if (b != null) {
            long sp = s.outputSpatial();
            for (int i = 0; i < y.length; i++) y[i] += b[(int) ((i / sp) % s.outChannels())];
        }
        return y;
    }

    private static double[] conv(ConvSpec s, double[] x, double[] w) {
        int r = s.rank();
        int cg = s.inChannels() / s.groups();
        int kg = s.outChannels() / s.groups();
        int osp = (int) s.outputSpatial();
        int isp = (int) s.inputSpatial();
        int taps = (int) s.kernelVolume();
        double[] y = new double[(int) s.outputShape().elementCount()];
        for (int n = 0; n < s.batch(); n++) {
            for (int k = 0; k < s.outChannels(); k++) {
                int g = k / kg;
                for (int o = 0; o < osp; o++) {
                    int[] op = unflatten(o, s.output());
                    double acc = 0;
                    for (int c = 0; c < cg; c++) {
                        for (int t = 0; t < taps; t++) {
                            int[] tp = unflatten(t, s.kernel());
                            int[] ip = new int[r];
                            boolean inside = true;
                            for (int a = 0; a < r; a++) {
                                ip[a] = op[a] * s.stride(a) - s.paddingLo(a) + tp[a] * s.dilation(a);
                                inside &= ip[a] >= 0 && ip[a] < s.input(a);
                            }
                            if (!inside) continue;
                            acc += x[(n * s.inChannels() + g * cg + c) * isp + flatten(ip, s.input())]
                                    * w[(k * cg + c) * taps + t];
                        }
                    }
                    y[(n * s.outChannels() + k) * osp + o] = acc;
                }
            }
        }
        return y;
    }

    private static double[] transposed(ConvSpec s, double[] x, double[] w) {
        int r = s.rank();
        int cg = s.inChannels() / s.groups();
        int kg = s.outChannels() / s.groups();
        int osp = (int) s.outputSpatial();
        int isp = (int) s.inputSpatial();
        int taps = (int) s.kernelVolume();
        double[] y = new double[(int) s.outputShape().elementCount()];
        for (int n = 0; n < s.batch(); n++) {
            for (int ci = 0; ci < s.inChannels(); ci++) {
                int g = ci / cg;
                for (int i = 0; i < isp; i++) {
                    int[] ip = unflatten(i, s.input());
                    double xv = x[(n * s.inChannels() + ci) * isp + i];
                    for (int k = 0; k < kg; k++) {
                        for (int t = 0; t < taps; t++) {
                            int[] tp = unflatten(t, s.kernel());
                            int[] op = new int[r];
                            boolean inside = true;
                            for (int a = 0; a < r; a++) {
                                op[a] = ip[a] * s.stride(a) - s.paddingLo(a) + tp[a] * s.dilation(a);
                                inside &= op[a] >= 0 && op[a] < s.output(a);
                            }
                            if (!inside) continue;
                            y[(n * s.outChannels() + g * kg + k) * osp + flatten(op, s.output())] += xv * w[(ci * kg + k) * taps + t];
                        }
                    }
                }
            }
        }
        return y;
    }

    private static double[] deformable(ConvSpec s, double[] x, double[] w, double[] offset, double[] mask) {
        int h = s.input(0), wd = s.input(1), oh = s.output(0), ow = s.output(1), kh = s.kernel(0), kw = s.kernel(1);
        int cg = s.inChannels() / s.groups();
        int kg = s.outChannels() / s.groups();
        int perOffsetGroup = s.inChannels() / s.offsetGroups();
        int taps = kh * kw;
        double[] y = new double[(int) s.outputShape().elementCount()];
        for (int n = 0; n < s.batch(); n++) {
            for (int k = 0; k < s.outChannels(); k++) {
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = 0;
                        for (int c = 0; c < cg; c++) {
                            int ci = (k / kg) * cg + c;
                            int go = ci / perOffsetGroup;
                            for (int ky = 0; ky < kh; ky++) {
                                for (int kx = 0; kx < kw; kx++) {
                                    int t = ky * kw + kx;
                                    int offCh = go * 2 * taps + 2 * t;
                                    double dy = offset[((n * 2 * s.offsetGroups() * taps + offCh) * oh + oy) * ow + ox];
                                    double dx = offset[((n * 2 * s.offsetGroups() * taps + offCh + 1) * oh + oy) * ow + ox];
                                    double py = oy * s.stride(0) - s.paddingLo(0) + ky * s.dilation(0) + dy;
                                    double px = ox * s.stride(1) - s.paddingLo(1) + kx * s.dilation(1) + dx;
                                    double v = sample(x, (n * s.inChannels() + ci) * h * wd, h, wd, py, px);
                                    if (mask != null) v *= mask[((n * s.offsetGroups() * taps + go * taps + t) * oh + oy) * ow + ox];
                                    acc += v * w[(k * cg + c) * taps + t];
                                }
                            }
                        }
                        y[((n * s.outChannels() + k) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        return y;
    }

    /** Bilinear value: each of the four neighbours weighted by its area, zero when outside. */
    private static double sample(double[] x, int base, int h, int w, double py, double px) {
        if (py <= -1 || py >= h || px <= -1 || px >= w) return 0;
        double sum = 0;
        int y0 = (int) Math.floor(py), x0 = (int) Math.floor(px);
        for (int yy = y0; yy <= y0 + 1; yy++) {
            for (int xx = x0; xx <= x0 + 1; xx++) {
                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                double weight = (1 - Math.abs(py - yy)) * (1 - Math.abs(px - xx));
                sum += weight * x[base + yy * w + xx];
            }
        }
        return sum;
    }

    /** Which tensor a gradient is taken with respect to. */
    enum Wrt { X, W, MASK }

    /** d<y, dy>/d(tensor) for a tensor y is linear in: <y(e_j), dy> per element j, bias left out. */
    static double[] linearGradient(ConvSpec s, Wrt wrt, double[] x, double[] w, double[] offset, double[] mask, double[] dy) {
        double[] base = switch (wrt) {
            case X -> x;
            case W -> w;
            case MASK -> mask;
        };
        double[] grad = new double[base.length];
        double[] e = new double[base.length];
        for (int j = 0; j < base.length; j++) {
            e[j] = 1;
            double[] y = forward(s, wrt == Wrt.X ? e : x, wrt == Wrt.W ? e : w, null, offset, wrt == Wrt.MASK ? e : mask);
            grad[j] = dot(y, dy);
            e[j] = 0;
        }
        return grad;
    }

    /** d<y, dy>/d offset by central differences; exact up to rounding while no sample crosses a cell edge. */
    static double[] offsetGradient(ConvSpec s, double[] x, double[] w, double[] offset, double[] mask, double[] dy, double h) {
        double[] grad = new double[offset.length];
        double[] o = offset.clone();
        for (int j = 0; j < o.length; j++) {
            o[j] = offset[j] + h;
            double up = dot(forward(s, x, w, null, o, mask), dy);
            o[j] = offset[j] - h;
            double down = dot(forward(s, x, w, null, o, mask), dy);
            o[j] = offset[j];
            grad[j] = (up - down) / (2 * h);
        }
        return grad;
    }

    static double[] biasGradient(ConvSpec s, double[] dy) {
        double[] db = new double[s.outChannels()];
        long sp = s.outputSpatial();
        for (int i = 0; i < dy.length; i++) db[(int) ((i / sp) % s.outChannels())] += dy[i];
        return db;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static int[] unflatten(int i, int[] dims) {
        int[] p = new int[dims.length];
        for (int a = dims.length - 1; a >= 0; a--) {
            p[a] = i % dims[a];
            i /= dims[a];
        }
        return p;
    }

    private static int flatten(int[] p, int[] dims) {
        int i = 0;
        for (int a = 0; a < dims.length; a++) i = i * dims[a] + p[a];
        return i;
    }

    static boolean isDeformable(ConvSpec s) {
        return s.type() == ConvType.DEFORMABLE;
    }
}
