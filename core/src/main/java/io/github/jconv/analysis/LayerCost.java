package io.github.jconv.analysis;

import io.github.jconv.ConvSpec;

/**
 * Parameters and FLOPs of one layer (multiply and add count as two). Groups cut both by 1/G:
 * a grouped layer has C_out·(C_in/G)·k… weights instead of C_out·C_in·k….
 */
public record LayerCost(ConvSpec spec, long weights, long biases, long forwardFlops, long denseWeights) {

    public static LayerCost of(ConvSpec spec) {
        if (spec == null) throw new IllegalArgumentException("spec = null: pass a layer's spec");
        long w = spec.weightShape().elementCount();
        long dense;
        try {
            dense = Math.multiplyExact((long) spec.inChannels() * spec.outChannels(), spec.kernelVolume());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("spec = " + spec + ": the same layer with groups = 1 would have in_channels·out_channels·kernel = "
                    + spec.inChannels() + "·" + spec.outChannels() + "·" + spec.kernelVolume()
                    + " weights, more than a long holds (max " + Long.MAX_VALUE + "); the grouped layer has "
                    + w + ", use LayerCost on a layer whose dense count fits, e.g. fewer channels or a smaller kernel");
        }
        return new LayerCost(spec, w, spec.bias() ? spec.outChannels() : 0, spec.forwardFlops(), dense);
    }

    public long parameters() {
        return weights + biases;
    }

    /** Weights of this layer divided by those of the same layer with groups = 1 (1/G). */
    public double groupSaving() {
        return (double) weights / denseWeights;
    }

    /** Forward plus grad input and grad weight: three times the forward count (a ConvSpec keeps it within long). */
    public long trainingFlops() {
        return 3 * forwardFlops;
    }
}
