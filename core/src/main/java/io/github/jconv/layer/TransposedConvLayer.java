package io.github.jconv.layer;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;

/** A transposed convolution layer (upsampling), with output_padding from its spec. */
public final class TransposedConvLayer extends ConvLayer {
    public TransposedConvLayer(ConvEngine engine, ConvSpec spec) {
        this(engine, spec, DType.FP32, 42);
    }

    public TransposedConvLayer(ConvEngine engine, ConvSpec spec, DType dtype, long seed) {
        super(engine, spec, ConvType.TRANSPOSED, dtype, seed);
    }
}
