package io.github.jconv.tools;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.analysis.ReceptiveField;
import io.github.jconv.layer.ConvLayer;
import io.github.jconv.layer.TransposedConvLayer;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The effective receptive field of a linear stack: the gradient of the centre output pixel with
 * respect to the input, from one forward and one backward pass on an engine. Average pooling is
 * run as a depthwise convolution with weights 1/k², so every layer goes through the backend.
 */
final class Erf {
    /** What one measurement found; {@code map[row][col]} is |dx| summed over channels and batch. */
    record Result(double[][] map, int theoreticalRf, int theoreticalTop, int theoreticalLeft, double centreRow, double centreCol,
                  int supportTop, int supportLeft, int supportBottom, int supportRight,
                  int effectiveSide, double massFraction, long nonZero, String backend) {
        int supportHeight() {
            return supportBottom - supportTop + 1;
        }

        int supportWidth() {
            return supportRight - supportLeft + 1;
        }

        double ratio() {
            return (double) effectiveSide / theoreticalRf;
        }
    }

    enum Weights { RANDOM, CONSTANT }

    private Erf() {
    }

    static Result measure(ConvEngine engine, List<ReceptiveField.Layer> stack, int channels, int size,
                          Weights weights, long seed, double massFraction) {
        if (channels < 1) throw new IllegalArgumentException("channels = " + channels + ": must be positive; e.g. channels = 8");
        if (!(massFraction > 0 && massFraction <= 1)) {
            throw new IllegalArgumentException("mass = " + massFraction + ": must be in (0, 1]; e.g. mass = 0.95");
        }
        List<ConvLayer> layers = new ArrayList<>();
        List<DeviceBuffer> activations = new ArrayList<>();
        try {
            int[] hw = {size, size};
            long layerSeed = seed;
            for (ReceptiveField.Layer l : stack) {
                ConvLayer layer = build(engine, l, channels, hw, weights, layerSeed++);
                layers.add(layer);
                hw = layer.spec().output();
            }
            SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
            float[] x = new float[channels * size * size];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
            DeviceBuffer cur = engine.upload(x, Shape.of(1, channels, size, size));
            activations.add(cur);
            for (ConvLayer layer : layers) {
                cur = layer.forward(cur);
                activations.add(cur);
            }
            int oh = hw[0], ow = hw[1];
            float[] dy = new float[channels * oh * ow];
            for (int c = 0; c < channels; c++) dy[(c * oh + oh / 2) * ow + ow / 2] = 1f;
            DeviceBuffer grad = engine.upload(dy, Shape.of(1, channels, oh, ow));
            activations.add(grad);
            for (int i = layers.size() - 1; i >= 0; i--) {
                grad = layers.get(i).backward(grad);
                activations.add(grad);
            }
            float[] dx = engine.downloadFloats(grad);
            double[][] map = new double[size][size];
            for (int c = 0; c < channels; c++) {
                for (int y = 0; y < size; y++) for (int xx = 0; xx < size; xx++) map[y][xx] += Math.abs(dx[(c * size + y) * size + xx]);
            }
            // the exact input span of the output whose gradient was taken (behind a transposed layer the
            // outputs' centres are not evenly spaced, so start + o·jump would miss it by up to a pixel)
            long[] rowsSpan = ReceptiveField.span(stack, oh / 2), colsSpan = ReceptiveField.span(stack, ow / 2);
            if (rowsSpan == null || colsSpan == null) {
                throw new IllegalStateException("the centre output receives no input from this stack (a transposed layer's dilation"
                        + " shares a factor with its stride); use a dilation coprime to the stride");
            }
            int rf = (int) (rowsSpan[1] - rowsSpan[0] + 1);
            return analyse(map, rf, (int) rowsSpan[0], (int) colsSpan[0], (rowsSpan[0] + rowsSpan[1]) / 2.0,
                    (colsSpan[0] + colsSpan[1]) / 2.0, massFraction, engine.backendName());
        } finally {
            for (DeviceBuffer b : activations) b.close();
            for (ConvLayer l : layers) l.close();
        }
    }

    private static ConvLayer build(ConvEngine engine, ReceptiveField.Layer l, int channels, int[] hw, Weights weights, long seed) {
        ConvSpec.Builder b = (l.kind() == ReceptiveField.Kind.TRANSPOSED ? ConvSpec.transposed() : ConvSpec.convolution())
                .batch(1).channels(channels, channels).input(hw).kernel(l.kernel()).stride(l.stride())
                .padding(l.padding()).dilation(l.dilation()).bias(false);
        if (l.kind() == ReceptiveField.Kind.POOL) b.groups(channels);
        ConvSpec spec;
        try {
            spec = b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("layer " + l.name() + " does not fit its input " + hw[0] + "x" + hw[1]
                    + " (" + e.getMessage() + "); give a larger --size", e);
        }
        ConvLayer layer = l.kind() == ReceptiveField.Kind.TRANSPOSED
                ? new TransposedConvLayer(engine, spec, DType.FP32, seed)
                : new ConvLayer(engine, spec, DType.FP32, seed);
        if (l.kind() == ReceptiveField.Kind.POOL || weights == Weights.CONSTANT) {
            int n = (int) spec.weightShape().elementCount();
            long fanIn = n / spec.weightShape().dim(0);
            float[] w = new float[n];
            Arrays.fill(w, 1f / fanIn);
            layer.setWeight(w);
        }
        return layer;
    }

    /** Support box, and the side of the smallest square about the RF centre that holds {@code fraction} of the mass. */
    static Result analyse(double[][] map, int theoreticalRf, int theoreticalTop, int theoreticalLeft, double cy, double cx,
                          double fraction, String backend) {
        int h = map.length, w = map[0].length;
        double max = 0, total = 0;
        for (double[] row : map) for (double v : row) {
            max = Math.max(max, v);
            total += v;
        }
        if (!(total > 0)) throw new IllegalStateException("the input gradient is zero everywhere: the stack passes no signal (weights all zero?)");
        int top = h, left = w, bottom = -1, right = -1;
        long nonZero = 0;
        double eps = max * 1e-6;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (map[y][x] > eps) {
                    nonZero++;
                    top = Math.min(top, y);
                    bottom = Math.max(bottom, y);
                    left = Math.min(left, x);
                    right = Math.max(right, x);
                }
            }
        }
        int side = 1;
        for (; side < Math.max(h, w); side++) {
            if (mass(map, cy, cx, side) >= fraction * total * (1 - 1e-12)) break;
        }
        return new Result(map, theoreticalRf, theoreticalTop, theoreticalLeft, cy, cx, top, left, bottom, right, side, fraction,
                nonZero, backend);
    }

    /** First row (or column) of a square of {@code side} cells centred at {@code c}. */
    static int lo(double c, int side) {
        return (int) Math.floor(c - (side - 1) / 2.0 + 0.5);
    }

    private static double mass(double[][] map, double cy, double cx, int side) {
        int y0 = lo(cy, side), x0 = lo(cx, side);
        double m = 0;
        for (int y = Math.max(0, y0); y < Math.min(map.length, y0 + side); y++) {
            for (int x = Math.max(0, x0); x < Math.min(map[0].length, x0 + side); x++) m += map[y][x];
        }
        return m;
    }
}
