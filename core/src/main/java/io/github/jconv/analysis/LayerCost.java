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
        long dense = (long) spec.inChannels() * spec.outChannels() * spec.kernelVolume();
        return new LayerCost(spec, w, spec.bias() ? spec.outChannels() : 0, spec.forwardFlops(), dense);
    }

    public long parameters() {
        return weights + biases;
    }

    /** Weights of this layer divided by those of the same layer with groups = 1 (1/G). */
    public double groupSaving() {
        return (double) weights / denseWeights;
    }

    /** Forward plus grad input and grad weight: three times the forward count. */
    public long trainingFlops() {
        return 3 * forwardFlops;
    }
}
